#!/usr/bin/env python3
"""Give a bundled zoo model's EMA generator standing BatchNorm statistics, in place.

    python scripts/standing_statistics.py --measure dcgan-fashion-mnist sngan-cifar10   # would it help? (a table)
    python scripts/standing_statistics.py vanilla-fashion-mnist            # rewrites its bundled files
    python scripts/build_zoo.py --only vanilla-fashion-mnist               # re-measures and re-pins it

An EMA generator's running statistics are the EMA of the trained generator's, measured with other weights; the
slower the average, the further they lie from what the averaged weights produce
(docs/runs/vanilla-fashion-mnist-latent-spread.md). This recomputes them from the published fp16 weights
themselves (``Generator.recompute_batchnorm_statistics``: 200 batches of 256 latents, seeds 123, 124, ...) and
rewrites only those buffers: every weight, the trained generator and the discriminator stay bit-identical, and
the bundled config records what was done (``batchnorm_statistics``), which the model card states. Training runs
bundled later get the same with ``scripts/bundle_run.py --standing-statistics 200``; this script is for models
whose training checkpoints are gone.

--measure scores each named model both ways under its registry protocol (in-domain classifier, 10k fakes, seed 0,
k = 3, against the train split) and writes the table to docs/runs/standing-statistics.md (results kept per model in
docs/runs/standing-statistics.json, so models can be measured in separate calls).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ganzoo.nn import build_network  # noqa: E402
from ganzoo.zoo.publish import STANDING_BATCH_SIZE, STANDING_FIRST_SEED, standing_statistics_record  # noqa: E402

WEIGHTS_DIR = ROOT / "ganzoo" / "zoo" / "weights"
TABLE = ROOT / "docs" / "runs" / "standing-statistics.md"
RESULTS = TABLE.with_suffix(".json")
EMA_PREFIX = "generator_ema."


def with_standing_statistics(state: dict[str, torch.Tensor], config: dict, batches: int) -> dict[str, torch.Tensor]:
    """The bundled tensors with the EMA generator's BatchNorm buffers recomputed (in float32, stored in the
    bundle's dtype); every other tensor is returned as it was."""
    if config.get("kind") != "gan" or not any(key.startswith(EMA_PREFIX) for key in state):
        raise SystemExit("not a bundled GAN with an EMA generator: nothing to recompute")
    generator = build_network(**config["generator"])
    ema = {key[len(EMA_PREFIX):]: value.float() if value.is_floating_point() else value
           for key, value in state.items() if key.startswith(EMA_PREFIX)}
    generator.load_state_dict(ema, strict=True)
    if not generator.recompute_batchnorm_statistics(batches, STANDING_BATCH_SIZE, STANDING_FIRST_SEED):
        raise SystemExit(f"{config['generator']['name']} has no BatchNorm: nothing to recompute")
    norm_buffers = {f"{name}.{buffer}" for name, module in generator.named_modules()
                    if isinstance(module, torch.nn.modules.batchnorm._BatchNorm)
                    for buffer in ("running_mean", "running_var", "num_batches_tracked")}
    recomputed = generator.state_dict()
    return {key: (recomputed[key[len(EMA_PREFIX):]].to(value.dtype).contiguous()
                  if key.startswith(EMA_PREFIX) and key[len(EMA_PREFIX):] in norm_buffers else value)
            for key, value in state.items()}


def measure(name: str, batches: int) -> dict:
    """The registry's in-domain FID, precision and recall of ``name`` (its bundled EMA generator, as sampled), and
    the same generator's with recomputed statistics, measured now under that protocol."""
    import ganzoo
    from ganzoo.metrics.evaluate import evaluate_generator
    from ganzoo.zoo import registry

    if "batchnorm_statistics" in json.loads((WEIGHTS_DIR / f"{name}.json").read_text()):
        raise SystemExit(f"{name}: its bundle carries standing statistics already; docs/runs/standing-statistics.json "
                         "keeps the comparison made before the rewrite")
    metrics = [m for m in registry()[name].metrics
               if m["protocol"]["features"].endswith("(in-domain classifier, not Inception)")]
    features = metrics[0]["protocol"]["reference_dataset"]
    generator = ganzoo.load(name).float()
    if not generator.recompute_batchnorm_statistics(batches, STANDING_BATCH_SIZE, STANDING_FIRST_SEED):
        raise SystemExit(f"{name}: its generator has no BatchNorm")
    results = evaluate_generator(generator, metrics="fid,pr", features=features, n=10000, seed=0)
    return {"features": features, "batches": batches,
            "registry": {m["name"]: m["value"] for m in metrics if m["name"] in ("fid", "precision", "recall")},
            "standing": {result.name: float(result.value) for result in results}}


def _bundled_config(name: str) -> dict:
    return json.loads((WEIGHTS_DIR / f"{name}.json").read_text())


def write_table(results: dict) -> None:
    rows = ["| model | FID | precision | recall | FID, standing | precision, standing | recall, standing |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, result in results.items():
        before, after = result["registry"], result["standing"]
        rows.append(f"| `{name}` | " + " | ".join(f"{values[key]:.2f}" if key == "fid" else f"{values[key]:.3f}"
                                                 for values in (before, after)
                                                 for key in ("fid", "precision", "recall")) + " |")
    rewritten = [name for name in results if "batchnorm_statistics" in _bundled_config(name)]
    others = [result for name, result in results.items() if name not in rewritten]
    largest = {key: max((abs(r["registry"][key] - r["standing"][key]) for r in others), default=0.0)
               for key in ("fid", "recall")}
    TABLE.write_text(
        "# Standing BatchNorm statistics for the zoo's EMA generators\n\n"
        "Written by `python scripts/standing_statistics.py --measure NAME ...` (its docstring says why). Each row: "
        "the model's registry numbers (its bundled EMA generator, running statistics averaged by the EMA), then "
        "the same weights with every BatchNorm layer's statistics recomputed from 200 batches of 256 of the "
        "generator's own latents. Protocol: the data set's in-domain classifier features, 10k fakes (seed 0, the "
        "chunks of `ganzoo eval`) against the train split (Fashion-MNIST 60k; CIFAR-10 50k of the JPEG q75 "
        "re-encoding, not comparable with papers), k = 3. A model whose bundle already carries standing statistics "
        "has its registry numbers measured with them: its row is the comparison made before the rewrite.\n\n"
        + "\n".join(rows) + "\n\nBundled with standing statistics (scripts/standing_statistics.py NAME): "
        + ", ".join(f"`{name}`" for name in rewritten) + f". The others' FID moved by at most {largest['fid']:.2f} "
        f"and their recall by at most {largest['recall']:.4f}: not worth a new weights file in git.\n")
    print(TABLE.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="+", metavar="name", help="bundled zoo entries, e.g. vanilla-fashion-mnist")
    parser.add_argument("--batches", type=int, default=200, help="batches of 256 latents to average over")
    parser.add_argument("--measure", action="store_true",
                        help="measure both ways and write docs/runs/standing-statistics.md; rewrite nothing")
    args = parser.parse_args()
    if args.measure:
        results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
        for name in args.names:
            results[name] = measure(name, args.batches)
            RESULTS.write_text(json.dumps(results, indent=2) + "\n")
            print(name, results[name], flush=True)
        write_table(results)
        return
    for name in args.names:
        rewrite(name, args.batches)


def rewrite(name: str, batches: int) -> None:
    weights, config_path = WEIGHTS_DIR / f"{name}.safetensors", WEIGHTS_DIR / f"{name}.json"
    if not weights.is_file():
        raise SystemExit(f"{weights.relative_to(ROOT)} does not exist: `ganzoo list` names the bundled models")
    config = json.loads(config_path.read_text())
    if "batchnorm_statistics" in config:
        raise SystemExit(f"{name} has standing statistics already: {config['batchnorm_statistics']}")
    state = with_standing_statistics(load_file(str(weights)), config, batches)
    save_file(state, str(weights), metadata={"format": "pt"})
    config["batchnorm_statistics"] = standing_statistics_record("generator_ema", batches)
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    print(f"rewrote {weights.relative_to(ROOT)} (EMA generator's BatchNorm statistics) and {config_path.name}; "
          f"now run scripts/build_zoo.py --only {name}")


if __name__ == "__main__":
    main()
