"""``ganzoo eval`` and ``ganzoo bench``: options and runners (``ganzoo/cli.py`` wires them in).

    ganzoo eval NAME_OR_PATH --metrics fid,is,kid,pr --features fashion-mnist --n 10000 [--json]
    ganzoo bench MODEL [MODEL ...] --metrics fid --features cifar10 --n 10000

``bench`` scores every model under ONE protocol and prints, beside each number, what the
registry recorded for that model (marked when its protocol differs) and the paper's number,
which was measured under the paper's own protocol (usually Inception on the original data).
"""
from __future__ import annotations

import argparse
import json
from typing import Any, Callable, Optional

from ganzoo.devices import check_device
from ganzoo.metrics import progress
from ganzoo.metrics.extractors import EXTRACTORS, RESIZE_MODES, get_extractor
from ganzoo.metrics.protocol import DEFAULT_SAMPLE_CHUNK, MetricResult

# torchmetrics is imported only when a command runs, so `ganzoo --help` stays fast.


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metrics", default="fid", help="comma-separated: fid, kid, is, pr (default fid)")
    parser.add_argument("--features", default="fashion-mnist", choices=EXTRACTORS,
                        help="feature extractor: in-domain classifiers or Inception-v3 (default fashion-mnist)")
    parser.add_argument("--n", type=int, default=10000, help="number of generated images (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated images (default 0)")
    parser.add_argument("--reference", default=None,
                        help="real images: DATASET[:SPLIT[:COUNT]], e.g. cifar10:train:50000 "
                             "(default: the in-domain extractor's train split; required with inception)")
    parser.add_argument("--resize", default="none", choices=RESIZE_MODES,
                        help="in-domain extractors: how to bring other sizes to theirs (default none = refuse)")
    parser.add_argument("--batch-size", type=int, default=250, help="images per forward pass (memory only)")
    parser.add_argument("--sample-chunk", type=int, default=DEFAULT_SAMPLE_CHUNK,
                        help=f"fakes per seeded chunk, part of the protocol (default {DEFAULT_SAMPLE_CHUNK})")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ... (default cpu)")
    parser.add_argument("--data-dir", default=None, help="where the reference data set is (see ganzoo.data)")
    parser.add_argument("--cache-dir", default=None, help="reference feature cache (default ~/.cache/ganzoo/reference_stats)")
    parser.add_argument("--feature-weights", default=None, help="your own classifier .safetensors (card .json beside it)")
    parser.add_argument("--inception-weights", default=None,
                        help="local weights-inception-2015-12-05-6726825d.pth (or set GANZOO_INCEPTION_WEIGHTS)")
    parser.add_argument("--kid-subset-size", type=int, default=None, help="KID subset size (default min(1000, n))")
    parser.add_argument("--json", action="store_true", help="print JSON (values with full protocols)")


def add_eval_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="registry name, pretrained folder or Hub repo id")
    _add_common(parser)


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("models", nargs="+", help="registry names, pretrained folders or Hub repo ids")
    _add_common(parser)


def _evaluate(args: argparse.Namespace, load_fn: Callable[[str], Any], model: str) -> list[MetricResult]:
    if args.n < 1:
        raise ValueError(f"--n must be a positive number of images, got {args.n}")
    from ganzoo.metrics.evaluate import evaluate_generator
    from ganzoo.metrics.suite import parse_metrics

    metrics = parse_metrics(args.metrics)  # fail on a typo before loading anything
    check_device(args.device)
    # Every check that needs only the arguments and the feature network runs before the reference
    # data or the generator is touched (those can take minutes).
    extractor = get_extractor(args.features, resize=args.resize, weights_path=args.feature_weights,
                              inception_weights=args.inception_weights, device=args.device or "cpu")
    if "fid" in metrics and args.n <= extractor.num_features:
        raise ValueError(f"FID with {extractor.name} features (d={extractor.num_features}) needs --n above "
                         f"{extractor.num_features} fakes (10000 for numbers worth comparing), got {args.n}")
    if "is" in metrics:
        extractor.require_logits()
    generator = load_fn(model)
    options = {} if args.kid_subset_size is None else {"kid_subset_size": args.kid_subset_size}
    with progress.shown():
        return evaluate_generator(
            generator, metrics=metrics, features=args.features, n=args.n, seed=args.seed, extractor=extractor,
            reference=args.reference, batch_size=args.batch_size, device=args.device or "cpu", resize=args.resize,
            sample_chunk=args.sample_chunk, data_dir=args.data_dir, cache_dir=args.cache_dir,
            feature_weights=args.feature_weights, inception_weights=args.inception_weights, **options,
        )


def run_eval(args: argparse.Namespace, load_fn: Callable[[str], Any]) -> int:
    results = _evaluate(args, load_fn, args.model)
    if args.json:
        print(json.dumps({"model": args.model, "results": [r.to_dict() for r in results]}, indent=2))
        return 0
    print(f"{args.model}")
    print(f"protocol: {results[0].protocol.describe()}")
    for result in results:
        spread = f" +- {result.std:.4g}" if result.std is not None else ""
        print(f"  {result.name:<10} {result.value:.4f}{spread}")
    return 0


def run_bench(args: argparse.Namespace, load_fn: Callable[[str], Any],
              registry_lookup: Optional[Callable[[str], Any]] = None) -> int:
    rows = []
    for model in args.models:
        results = _evaluate(args, load_fn, model)
        entry = _lookup(registry_lookup, model)
        for result in results:
            rows.append(bench_row(model, result, entry))
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(format_bench_table(rows))
    return 0


def _lookup(registry_lookup, model: str):
    if registry_lookup is None:
        return None
    try:
        return registry_lookup(model)
    except (KeyError, ValueError):  # a folder or Hub id that is not in the registry
        return None


def bench_row(model: str, result: MetricResult, entry) -> dict:
    """One table row: our number, the registry's number for this metric (flagging a different
    protocol), and the paper's number for this metric."""
    recorded, same_protocol = None, None
    ours = result.protocol.to_dict()
    candidates = [m for m in getattr(entry, "metrics", None) or [] if str(m.get("name", "")).lower() == result.name]
    # An entry may hold the same metric under several extractors (in-domain and Inception):
    # prefer the one measured exactly like ours, then one with the same extractor.
    candidates.sort(key=lambda m: (not _same_protocol(m.get("protocol", {}), ours),
                                   not str(m.get("protocol", {}).get("features", "")).startswith(str(ours.get("features")))))
    if candidates:
        recorded = candidates[0].get("value")
        same_protocol = _same_protocol(candidates[0].get("protocol", {}), ours)
    aliases = PAPER_METRIC_NAMES.get(result.name, (result.name,))
    paper = [p for p in getattr(entry, "paper", None) or [] if str(p.get("metric", "")).strip().lower() in aliases]
    return {
        "model": model, "metric": result.name, "value": result.value, "std": result.std,
        "protocol": result.protocol.to_dict(), "registry_value": recorded, "registry_same_protocol": same_protocol,
        "paper": [{"value": p.get("value"), "source": p.get("source"), "note": p.get("note", "")} for p in paper],
    }


# How registry "paper" entries may name each metric.
PAPER_METRIC_NAMES = {"fid": ("fid",), "kid": ("kid",), "is": ("is", "inception score"),
                      "precision": ("precision",), "recall": ("recall",)}
PROTOCOL_KEYS = ("features", "features_sha256", "reference_dataset", "reference_split", "reference_count",
                 "reference_variant", "num_fakes", "seed", "resize", "quantize", "sampling")


def _same_protocol(recorded: dict, ours: dict) -> bool:
    def normalised(protocol: dict) -> dict:
        # The registry spells in-domain extractors out ("... (in-domain classifier, not Inception)").
        return {**protocol, "features": str(protocol.get("features", "")).split(" (")[0]}

    recorded, ours = normalised(recorded), normalised(ours)
    return all(recorded.get(key) == ours.get(key) for key in PROTOCOL_KEYS)


def format_bench_table(rows: list[dict]) -> str:
    if not rows:
        return "no results"
    header = f"{'model':<28} {'metric':<10} {'ours':>10} {'registry':>12} {'paper':>10}  paper source"
    lines = [header, "-" * len(header)]
    for row in rows:
        recorded = "-" if row["registry_value"] is None else f"{row['registry_value']:.3f}"
        if row["registry_value"] is not None and not row["registry_same_protocol"]:
            recorded += "*"
        paper = row["paper"][0] if row["paper"] else None
        paper_value = "-" if paper is None else str(paper["value"])
        source = "" if paper is None else f"{paper['source']} {paper['note']}".strip()
        lines.append(f"{row['model']:<28} {row['metric']:<10} {row['value']:>10.3f} {recorded:>12} {paper_value:>10}  {source}")
    protocol = rows[0]["protocol"]
    lines.append("")
    lines.append(f"ours: features={protocol['features']} ref={protocol['reference_dataset']}/"
                 f"{protocol['reference_split']} n={protocol['reference_count']} fakes={protocol['num_fakes']} "
                 f"seed={protocol['seed']}")
    lines.append("registry*: recorded under a different protocol (not comparable). "
                 "paper: the paper's own protocol (usually Inception on the original data set); compare with care.")
    return "\n".join(lines)
