#!/usr/bin/env python3
"""Measure the bundled models and (re)write the registry and their model cards from the results.

    python scripts/build_zoo.py            # measure (CPU is fine), write registry.json + model_cards/
    python scripts/build_zoo.py --reuse    # re-render from the last measurements (model_cards/metrics.json)

Every number in ganzoo/zoo/registry.json and model_cards/*.md comes from here: sha256 of the
bundled file, parameter counts, training length read from the run's metrics.csv, and metrics
measured under the protocol printed beside them.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ganzoo.zoo.cards import render_model_card  # noqa: E402
from ganzoo.zoo.registry import BUNDLED_DIR, REGISTRY_PATH  # noqa: E402
from ganzoo.zoo import load  # noqa: E402
from ganzoo.zoo.serialization import read_config, sha256_of  # noqa: E402

METRICS_FILE = ROOT / "model_cards" / "metrics.json"
NUM_FAKES = 10_000

MODELS = {
    "dcgan-fashion-mnist": {
        "variant": "dcgan",
        "features": "fashion-mnist",
        "dataset": "Fashion-MNIST (train split, 60,000 images; Debian package dataset-fashion-mnist)",
        "dataset_id": "fashion_mnist",
        "description": "DCGAN (Radford et al. 2015) trained on Fashion-MNIST at 28x28 on a 2-core CPU with the "
                       "recipe as committed: the zoo's first checkpoint. Bundled with the package as a full GAN "
                       "(generator, EMA generator and discriminator, fp16), so it can be sampled offline and fine-tuned.",
        "recipe": "recipes/dcgan_fashion_mnist.yaml",
        "run": "docs/runs/dcgan_fashion_mnist_cpu_version_0.metrics.csv",
        "training": {
            "recipe overrides": "none (ganzoo fit --config recipes/dcgan_fashion_mnist.yaml; --trainer.max_time "
                                "00:00:45:00 as a safety cap, not reached)",
            "hardware": "2-core AMD EPYC CPU (this project's development machine), about 40 minutes",
            "batch size": 64,
            "optimizer": "Adam 2e-4, betas (0.5, 0.999), non-saturating loss, 1 D step per G step, EMA 0.999",
            "precision": "fp32",
        },
        "paper": [{"source": "Radford et al. 2015", "dataset": "-", "metric": "-", "value": "-",
                   "note": "the paper reports no Fashion-MNIST numbers; compare with the calibration in docs/metrics.md"}],
        "sample_grid": "figures/dcgan-fashion-mnist.png",
    },
    "sngan-cifar10": {
        "variant": "sngan",
        "features": "cifar10",
        "dataset": "CIFAR-10, JPEG q75 re-encoding (train split, 50,000 images)",
        "dataset_id": "cifar10",
        "description": "SN-GAN (Miyato et al. 2018) with the 32x32 ResNet generator and spectrally normalised ResNet "
                       "discriminator, hinge loss, n_dis 5, trained on the JPEG re-encoding of CIFAR-10. A SHORT run "
                       "(a few thousand of the paper's 50k generator iterations): samples show CIFAR-like colours "
                       "and shapes, not the paper's quality. Bundled as the EMA generator only (fp16).",
        "recipe": "recipes/sngan_cifar10.yaml",
        "run": "docs/runs/sngan_cifar10_zoo_version_1.metrics.csv",
        "training": {
            "recipe overrides": "--model.init_args.max_generator_iterations 20000 --trainer.max_time 00:00:08:10 "
                                "(linear LR decay scheduled over 20k iterations, stopped early by the time cap)",
            "hardware": "1x NVIDIA H100, bf16-mixed",
            "batch size": 64,
            "optimizer": "Adam 2e-4, betas (0, 0.9), hinge loss, 5 D steps per G step, EMA 0.999",
        },
        "paper": [
            {"source": "Miyato et al. 2018, Table 3", "dataset": "CIFAR-10 (original pixels)", "metric": "Inception score",
             "value": "8.22 +- 0.05", "note": "Inception features, 50k iterations; NOT comparable with the in-domain numbers"},
            {"source": "Miyato et al. 2018, Table 3", "dataset": "CIFAR-10 (original pixels)", "metric": "FID",
             "value": "21.7 +- 0.21", "note": "Inception features; NOT comparable with the in-domain numbers"},
        ],
        "sample_grid": "figures/sngan-cifar10.png",
    },
}


def generator_iterations(run_csv: Path) -> int:
    with open(ROOT / run_csv) as handle:
        values = [float(row["g_iter"]) for row in csv.DictReader(handle) if row.get("g_iter")]
    return int(max(values))


def measure(name: str, spec: dict, generator) -> list[dict]:
    from ganzoo.metrics import evaluate_generator

    results = evaluate_generator(generator, metrics=("fid", "kid", "is", "pr"), features=spec["features"],
                                 n=NUM_FAKES, seed=0, device="cpu")
    for result in results:
        print(f"{name}: {result}")
    return [result.to_dict() for result in results]


def sample_grid(generator, path: Path) -> None:
    from torchvision.utils import save_image

    save_image(generator.sample(64, seed=0), path, nrow=8, normalize=True, value_range=(-1, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuse", action="store_true", help="reuse model_cards/metrics.json instead of measuring")
    parser.add_argument("--no-metrics", action="store_true", help="write entries without measuring (bootstrap)")
    args = parser.parse_args()
    measured = json.loads(METRICS_FILE.read_text()) if METRICS_FILE.exists() else {}
    registry = {}
    for name, spec in MODELS.items():
        generator = load(name)  # the bundled file, sha256-checked against the registry
        if args.no_metrics:
            measured.setdefault(name, [])
        elif not args.reuse or name not in measured:
            measured[name] = measure(name, spec, generator)
            METRICS_FILE.write_text(json.dumps(measured, indent=2) + "\n")
        config = read_config(BUNDLED_DIR / f"{name}.json")
        # The exported weights' own count (a run may log a few iterations past its last checkpoint).
        iterations = config.get("generator_iterations") or generator_iterations(Path(spec["run"]))
        sample_grid(generator, ROOT / "model_cards" / spec["sample_grid"])
        entry = {
            "variant": spec["variant"], "dataset": spec["dataset"], "description": spec["description"],
            "sha256": sha256_of(BUNDLED_DIR / f"{name}.safetensors"), "bundled": True, "kind": config["kind"],
            "dtype": config["dtype"], "hf_repo_id": None, "revision": None,
            "num_params_generator": sum(p.numel() for p in generator.parameters()),
            "recipe": spec["recipe"],
            "training": {"generator_iterations": iterations, **spec["training"]},
            "metrics": [_registry_metric(m) for m in measured[name]],
            "paper": spec["paper"], "license": "Apache-2.0", "sample_grid": f"model_cards/{spec['sample_grid']}",
        }
        registry[name] = entry
        card = render_model_card({
            "name": name, **{k: entry[k] for k in ("variant", "dataset", "description", "training", "paper", "license")},
            "dataset_id": spec["dataset_id"], "generator": config["generator"],
            "discriminator": config.get("discriminator"), "num_params_generator": entry["num_params_generator"],
            "metrics": entry["metrics"], "sample_grid": spec["sample_grid"],
        })
        (ROOT / "model_cards" / f"{name}.md").write_text(card)
        print(f"wrote model_cards/{name}.md")
    REGISTRY_PATH.write_text(json.dumps(registry, indent=2) + "\n")
    print(f"wrote {REGISTRY_PATH.relative_to(ROOT)}")


def _registry_metric(metric: dict) -> dict:
    protocol = dict(metric["protocol"])
    protocol["features"] = protocol["features"] + " (in-domain classifier, not Inception)"
    out = {"name": metric["name"], "value": metric["value"], "protocol": protocol}
    if "std" in metric:
        out["std"] = metric["std"]
    return out


if __name__ == "__main__":
    main()
