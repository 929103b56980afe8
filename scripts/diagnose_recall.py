#!/usr/bin/env python3
"""Why a zoo model's recall is low: the k-NN radii behind improved recall, and its class balance.

    python scripts/diagnose_recall.py                      # every bundled model, both data sets
    python scripts/diagnose_recall.py --features cifar10   # the CIFAR-10 models only

Improved recall (Kynkaanniemi et al. 2019) counts the real images that fall inside some fake's ball,
each ball's radius being that fake's distance to its 3rd-nearest fake. So recall falls in two ways
that FID tells apart poorly:

* the fakes miss parts of the data (whole classes, or styles within one): a class histogram far
  from uniform shows the first;
* the fakes cover the data's extent but lie closer together than real images do, on a thinner
  manifold: their balls are small and few real images fall in one. The ratio of the fakes' median
  radius to the reals' at the same count (10k each) shows it: below 1, the fakes are packed tighter.

The last column asks whether the exponential moving average of the generator's weights (what the zoo
publishes) is what narrows the fakes: the same recall for the trained weights without it
(``ganzoo.load(name, ema=False)``; "-" for a generator-only export, which holds the EMA weights alone).

Writes docs/recall_diagnosis.md (a table per data set, with its protocol; a data set not diagnosed in
this call keeps its section) and prints it. Protocol: the data set's in-domain classifier's features,
10k fakes from the bundled EMA generator (seed 0, the chunks of ``ganzoo eval``) against the train split
(Fashion-MNIST 60k; CIFAR-10 50k, its JPEG re-encoding), k = 3, as the registry's precision and recall;
the reals' radii at equal count from a fixed 10k of the train split (permutation seed 0).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ganzoo.data.locate import CIFAR10_CLASSES  # noqa: E402
from ganzoo.metrics.evaluate import chunk_plan, resolve_reference  # noqa: E402
from ganzoo.metrics.extractors import get_extractor  # noqa: E402
from ganzoo.metrics.precision_recall import improved_precision_recall, knn_radii, reference_knn_radii  # noqa: E402
from ganzoo.metrics.progress import track  # noqa: E402
from ganzoo.metrics.protocol import DEFAULT_SAMPLE_CHUNK  # noqa: E402
from ganzoo.metrics.reference import reference_features  # noqa: E402

OUTPUT = ROOT / "docs" / "recall_diagnosis.md"
NUM_FAKES, SEED, K = 10_000, 0, 3
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                         "Ankle boot")
# Per data set: its title, the reference its fakes are measured against, its class names.
DATASETS = {"fashion-mnist": ("Fashion-MNIST", "60k train split", FASHION_MNIST_CLASSES),
            "cifar10": ("CIFAR-10", "50k train images of the JPEG re-encoding", CIFAR10_CLASSES)}
TITLE = "# Why recall is low: k-NN radii and class balance\n\n"
INTRODUCTION = (
    "Written by `python scripts/diagnose_recall.py` (its docstring explains the two columns that matter). A radius "
    "ratio below 1 means the fakes lie closer together than real images do at the same count: their balls are "
    "small, and real images between them are not counted as covered, whatever the FID. The class shares are the "
    "classifier's calls on fakes: an ambiguous fake is still given one class, so a share measures what the "
    "classifier sees, not a label. The last column scores the trained generator without the exponential moving "
    "average of its weights that the zoo publishes, the same way: it shows whether the averaging narrows the fakes.\n")


def bundled_models(features: str) -> list[str]:
    from ganzoo.zoo.registry import registry

    # By the data set its metrics were measured against, not by name: sngan-cifar10-resnet is a CIFAR-10 model too.
    return [name for name, entry in registry().items()
            if any(metric["protocol"].get("reference_dataset") == features for metric in entry.metrics)]


def diagnose(generator, extractor, real: torch.Tensor, real_radii: torch.Tensor,
             real_radii_equal_count: torch.Tensor, n: int = NUM_FAKES, seed: int = SEED,
             description: str = "fakes") -> dict:
    """Precision, recall, the fakes' median k-NN radius (and its ratio to the reals' at equal count) and the
    share of each class the extractor's logits predict, for ``n`` fakes of ``generator`` sampled as
    ``ganzoo eval`` does. ``real``: the reference features, ``real_radii`` their k-NN radii."""
    fakes, predicted = [], []
    with torch.no_grad():
        for size, chunk_seed in track(chunk_plan(n, seed, DEFAULT_SAMPLE_CHUNK), description):
            features, logits = extractor(generator.sample(size, seed=chunk_seed))
            fakes.append(features)
            predicted.append(logits.argmax(dim=1))
    fake = torch.cat(fakes)
    fake_radii = knn_radii(fake, K)
    precision, recall = improved_precision_recall(real, fake, K, real_radii=real_radii, fake_radii=fake_radii)
    return {"precision": precision, "recall": recall, "fake_radius": fake_radii.median().item(),
            "radius_ratio": (fake_radii.median() / real_radii_equal_count.median()).item(),
            "class_shares": torch.bincount(torch.cat(predicted), minlength=extractor.num_classes).double() / n}


def recall_without_ema(name: str, extractor, real: torch.Tensor, real_radii: torch.Tensor,
                       real_radii_equal_count: torch.Tensor) -> float | None:
    """The recall of the model's trained generator without the EMA, or None for a generator-only export."""
    import ganzoo
    from ganzoo.zoo.serialization import WeightsError

    try:
        generator = ganzoo.load(name, ema=False)
    except WeightsError:  # a generator-only export holds the published (EMA) weights alone
        return None
    return diagnose(generator.eval(), extractor, real, real_radii, real_radii_equal_count,
                    description=f"{name}, without the EMA")["recall"]


def table(rows: list[dict], real_radius: float, classes: tuple[str, ...]) -> str:
    lines = ["| model | precision | recall | fakes' median 3-NN radius | ratio to the reals' | rarest class | "
             "commonest class | recall without the EMA |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in sorted(rows, key=lambda row: -row["recall"]):
        shares = row["class_shares"]
        rare, common = int(shares.argmin()), int(shares.argmax())
        without_ema = "-" if row["recall_without_ema"] is None else f"{row['recall_without_ema']:.3f}"
        lines.append(f"| {row['name']} | {row['precision']:.3f} | {row['recall']:.3f} | {row['fake_radius']:.2f} | "
                     f"{row['radius_ratio']:.2f} | {classes[rare]} {shares[rare]:.1%} | "
                     f"{classes[common]} {shares[common]:.1%} | {without_ema} |")
    lines.append(f"| ({NUM_FAKES // 1000}k real train images) | | | {real_radius:.2f} | 1.00 | | | |")
    return "\n".join(lines)


def section(features: str) -> str:
    """The markdown section of one data set: every bundled model's row, and the protocol."""
    import ganzoo

    title, reference, classes = DATASETS[features]
    extractor = get_extractor(features)
    real, _ = reference_features(resolve_reference(None, features), extractor)
    real_radii = reference_knn_radii(real, K)  # cached on disk, as `ganzoo eval` caches them
    subset = torch.randperm(real.shape[0], generator=torch.Generator().manual_seed(SEED))[:NUM_FAKES]
    equal_count_radii = knn_radii(real[subset], K)
    rows = []
    for name in bundled_models(features):
        row = {"name": name, **diagnose(ganzoo.load(name).eval(), extractor, real, real_radii, equal_count_radii,
                                        description=name)}
        rows.append({**row, "recall_without_ema": recall_without_ema(name, extractor, real, real_radii,
                                                                     equal_count_radii)})
    return (f"## {title}\n\nProtocol: the in-domain {title} classifier's features; {NUM_FAKES:,} fakes from each "
            f"bundled EMA generator (seed {SEED}, the chunks of `ganzoo eval`) against the {reference}, k = {K}: "
            f"precision and recall as in the registry. The reals' radius at equal count: a fixed {NUM_FAKES // 1000}k "
            f"of the train split (permutation seed {SEED}). Classes: the same classifier's arg-max on the fakes "
            "(uniform: 10.0% each).\n\n" + table(rows, equal_count_radii.median().item(), classes) + "\n")


def existing_sections() -> dict[str, str]:
    """The sections already in the output file, by data set, so that one data set can be re-diagnosed alone."""
    if not OUTPUT.is_file():
        return {}
    found = {}
    for chunk in OUTPUT.read_text().split("\n## ")[1:]:
        for features, (title, _reference, _classes) in DATASETS.items():
            if chunk.startswith(title + "\n"):
                found[features] = "## " + chunk.rstrip("\n") + "\n"
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--features", choices=list(DATASETS), nargs="+", default=list(DATASETS),
                        help="the data sets whose bundled models to diagnose (default: both)")
    sections = existing_sections()
    for features in parser.parse_args().features:
        sections[features] = section(features)
    text = TITLE + INTRODUCTION + "".join("\n" + sections[features] for features in DATASETS if features in sections)
    OUTPUT.write_text(text)
    print(text)
    print(f"wrote {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
