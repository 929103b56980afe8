#!/usr/bin/env python3
"""Calibrate the in-domain metrics: what do FID / KID / IS / precision-recall read for REAL images?

    python scripts/calibrate_fid.py --dataset fashion-mnist --device cpu
    python scripts/calibrate_fid.py --dataset cifar10 --device cuda --data-dir DIR   # once its classifier exists
    python scripts/calibrate_fid.py --dataset fashion-mnist --features inception --reference-count 10000 \
        --count 5000 --rows test "noise 0.1" "blur 1.0"       # the zoo's Inception protocol (slow on a CPU)

Scores the real test split, and degraded copies of it, against the train split, with the
shipped in-domain extractor, and writes the numbers with their full protocols into
``benchmarks/fid_calibration.json`` (one key per data set; other keys are kept, and so are the
rows of the same key that this run did not score, so slow rows can be measured one run at a
time; each row records its own command and date). These are
the floor and the scale for every later in-domain number: a generator cannot be expected to
beat "real test vs train", and the noise / blur rows say how big a difference is.

Rows: the clean test split; + Gaussian pixel noise of std sigma in [-1, 1] units (clamped);
Gaussian blur (torchvision ``gaussian_blur``, kernel 5). FID, KID and IS use the whole train
split as reference; precision/recall use a fixed random 10k subset of it (k-NN radii over
50-60k points are needlessly expensive) - both protocols are recorded.

With ``--features inception`` (FID, KID and precision/recall: the offline file has no IS
layer) one reference serves every metric, ``--reference-count`` train images (a fixed random
subset), and ``--count`` test images are scored (a fixed random subset, seed 0): on a CPU the
network costs about 0.15 s per image and thread, so the zoo measures 5k fakes against 10k train
images and its calibration must use the same counts. Results go under the key
``DATASET/inception``.
"""
from __future__ import annotations

import argparse
import datetime
import json
import shlex
import sys
import time
from pathlib import Path

from typing import Optional, Sequence

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ganzoo.metrics.datasets import load_images, to_signed_float  # noqa: E402
from ganzoo.metrics.evaluate import make_suite_with_reference, results_from_suite  # noqa: E402
from ganzoo.metrics.extractors import get_extractor  # noqa: E402
from ganzoo.metrics.protocol import Reference  # noqa: E402

NOISE_SIGMAS = (0.05, 0.1, 0.2, 0.4)
BLUR_SIGMAS = (0.5, 1.0)
PR_REFERENCE_COUNT = 10000


def degraded_sets(test: torch.Tensor, seed: int = 0, rows: Optional[Sequence[str]] = None):
    """(label, images) for the clean test split and its degraded copies; ``rows`` picks some by
    short name ("test", "noise 0.1", "blur 1.0"). Noise is drawn for every sigma in turn, so a
    row's images do not depend on which other rows are picked."""
    from torchvision.transforms.functional import gaussian_blur

    wanted = (lambda name: rows is None or name in rows)
    if wanted("test"):
        yield "test", test
    generator = torch.Generator().manual_seed(seed)
    for sigma in NOISE_SIGMAS:
        noise = torch.randn(test.shape, generator=generator)
        if wanted(f"noise {sigma}"):
            yield f"test + gaussian noise sigma={sigma}", (test + sigma * noise).clamp(-1, 1)
    for sigma in BLUR_SIGMAS:
        if wanted(f"blur {sigma}"):
            yield f"test blurred (gaussian, kernel 5, sigma={sigma})", gaussian_blur(test, kernel_size=5, sigma=sigma)


def calibrate(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    features = args.features or args.dataset
    extractor = get_extractor(features, device=device)
    test = to_signed_float(load_images(args.dataset, "test", args.data_dir).images)
    if args.count is not None and args.count < len(test):  # a fixed random subset, never a prefix
        test = test[torch.randperm(len(test), generator=torch.Generator().manual_seed(0))[:args.count]]
    options = dict(data_dir=args.data_dir, cache_dir=args.cache_dir, batch_size=args.batch_size, device=device, seed=0)
    if features == "inception":  # one reference for FID, KID and P/R; no IS (see the module docstring)
        suites = [make_suite_with_reference(extractor, ["fid", "kid", "pr"],
                                            Reference(args.dataset, "train", args.reference_count), **options)]
    else:  # two suites, two references (see the module docstring); each row's features are extracted once
        suites = [make_suite_with_reference(extractor, ["fid", "kid", "is"],
                                            Reference(args.dataset, "train", args.reference_count), **options),
                  make_suite_with_reference(extractor, ["pr"], Reference(args.dataset, "train", PR_REFERENCE_COUNT),
                                            **options)]
    rows = []
    for label, images in degraded_sets(test, rows=args.rows):
        start = time.time()
        for suite, _ in suites:
            suite.reset_fakes()
        for batch in images.split(args.batch_size):
            features, logits = extractor(batch.to(device))
            for suite, _ in suites:
                suite.update_fake_features(features, logits)
        results = []
        for suite, reference_info in suites:
            results += results_from_suite(suite, dict(seed=0, sampling=label, **reference_info))
        row = {"set": label}
        for result in results:
            row[result.name] = round(result.value, 6)
            if result.std is not None:
                row[f"{result.name}_std"] = round(result.std, 6)
        row["protocols"] = {r.name: r.protocol.to_dict() for r in results}
        row["command"], row["date"] = command_line(), datetime.date.today().isoformat()
        rows.append(row)
        print(f"{label:<48} FID {row['fid']:9.4f}  KID {row['kid']:.5f}  IS {row.get('is', float('nan')):.3f}  "
              f"P {row['precision']:.3f}  R {row['recall']:.3f}  ({time.time() - start:.0f}s)", flush=True)
    card_path = Path(__file__).resolve().parents[1] / "ganzoo" / "metrics" / "weights" / f"{args.dataset}-classifier.json"
    card = json.loads(card_path.read_text()) if card_path.exists() and features != "inception" else {}
    return {
        "extractor": extractor.name,
        "extractor_sha256": extractor.weights_sha256,
        "extractor_test_accuracy": card.get("test_accuracy"),
        "rows": rows,
        "command": command_line(),
        "date": datetime.date.today().isoformat(),
        "torch": torch.__version__,
    }


def command_line() -> str:
    return "python scripts/calibrate_fid.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def merge_entry(old: Optional[dict], new: dict) -> dict:
    """Rows scored now replace the rows of the same name in ``old``; the others are kept.

    Only rows of the same extractor weights are merged: with other weights every old row is a
    different protocol, so ``new`` replaces the entry. ``commands`` lists every run that wrote it.
    """
    if not old or old.get("extractor_sha256") != new["extractor_sha256"]:
        return new
    scored_now = {row["set"]: row for row in new["rows"]}
    kept_order = {row["set"] for row in old["rows"]}
    rows = [scored_now.get(row["set"], row) for row in old["rows"]]
    rows += [row for row in new["rows"] if row["set"] not in kept_order]
    commands = list(dict.fromkeys(old.get("commands", [old["command"]]) + [new["command"]]))
    return dict(new, rows=rows, commands=commands)


def markdown_table(entry: dict) -> str:
    lines = ["| images scored against the train split | FID | KID (x1e3) | IS | precision | recall |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for row in entry["rows"]:
        is_cell = f"{row['is']:.3f}" if "is" in row else "-"
        lines.append(f"| {row['set']} | {row['fid']:.3f} | {1e3 * row['kid']:.3f} | {is_cell} "
                     f"| {row['precision']:.3f} | {row['recall']:.3f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="fashion-mnist", choices=("fashion-mnist", "cifar10"))
    parser.add_argument("--features", default=None, choices=("inception",),
                        help="score with Inception instead of the data set's in-domain classifier")
    parser.add_argument("--reference-count", type=int, default=None,
                        help="train images in the reference (default: the whole split)")
    parser.add_argument("--count", type=int, default=None, help="test images scored (default: all)")
    parser.add_argument("--rows", nargs="+", default=None,
                        help='rows to score, by short name: "test", "noise SIGMA", "blur SIGMA" (default: all)')
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "benchmarks" / "fid_calibration.json"))
    args = parser.parse_args(argv)
    entry = calibrate(args)
    out = Path(args.out)
    everything = json.loads(out.read_text()) if out.exists() else {}
    key = args.dataset if args.features is None else f"{args.dataset}/{args.features}"
    entry = everything[key] = merge_entry(everything.get(key), entry)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(everything, indent=2) + "\n")
    print(f"\nwrote {out}\n\n{markdown_table(entry)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
