#!/usr/bin/env python3
"""Does a zoo model use less of the data than its latent space could give? Two checks on a bundled generator.

    python scripts/latent_spread.py vanilla-fashion-mnist    # writes docs/runs/vanilla-fashion-mnist-latent-spread.md

* Latent scale: the same generator fed z * s instead of z ~ N(0, I), for s in --scales. If s > 1 raises recall
  while FID holds, the generator maps the latent distribution onto too small a region of the data: its fakes lie
  closer together than real images (the radius ratio of docs/recall_diagnosis.md). This is a diagnosis, not a
  sampling mode: the zoo's numbers are always at s = 1.
* Standing statistics: a generator with BatchNorm samples with running statistics that the EMA averaged from the
  trained generator's batches, not statistics of the EMA generator's own activations. Recomputing them
  (--standing-batches batches of 256 latents, cumulative average, in train mode) shows whether that mismatch costs
  anything.

Protocol: the data set's in-domain classifier, 10k fakes (seed 0, the chunks of ``ganzoo eval``) against the train
split, k = 3: the registry's FID, precision and recall.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ganzoo  # noqa: E402
from ganzoo.zoo import registry  # noqa: E402
from ganzoo.metrics.evaluate import evaluate_generator  # noqa: E402


def scores(generator, features: str) -> dict[str, float]:
    results = evaluate_generator(generator, metrics="fid,pr", features=features, n=10000, seed=0)
    return {result.name: float(result.value) for result in results}


def with_latent_scale(generator, scale: float):
    """The generator with its latents multiplied by ``scale`` (the module itself, its sampler wrapped)."""
    draw = type(generator).sample_latent.__get__(generator)
    generator.sample_latent = lambda n, seed=None, device=None: draw(n, seed=seed, device=device) * scale
    return generator


def with_standing_statistics(generator, batches: int):
    """The generator with every BatchNorm layer's running statistics recomputed from its own activations
    (``Generator.recompute_batchnorm_statistics``, what ``bundle_run.py --standing-statistics`` exports), or None
    when it has no BatchNorm."""
    return generator if generator.recompute_batchnorm_statistics(batches) else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="a zoo entry, e.g. vanilla-fashion-mnist")
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 1.25, 1.5])
    parser.add_argument("--standing-batches", type=int, default=200)
    args = parser.parse_args()
    # The in-domain features the registry measured this model with (its FID's protocol).
    features = registry()[args.name].metrics[0]["protocol"]["reference_dataset"]
    rows = []
    for scale in args.scales:
        rows.append((f"latents scaled by {scale:g}", scores(with_latent_scale(ganzoo.load(args.name).float(), scale),
                                                             features)))
        print(rows[-1], flush=True)
    standing = with_standing_statistics(ganzoo.load(args.name).float(), args.standing_batches)
    if standing is not None:
        rows.append((f"BatchNorm statistics recomputed ({args.standing_batches} batches of 256)",
                     scores(standing, features)))
        print(rows[-1], flush=True)
    table = ["| generator | FID | precision | recall |", "| --- | --- | --- | --- |"]
    table += [f"| {label} | {s['fid']:.2f} | {s['precision']:.3f} | {s['recall']:.3f} |" for label, s in rows]
    text = (f"# {args.name}: latent scale and BatchNorm statistics\n\n"
            f"Written by `python scripts/latent_spread.py {args.name}` (its docstring explains both checks). "
            f"Protocol: the in-domain {features} classifier's features, 10k fakes from the bundled EMA generator "
            "(seed 0, the chunks of `ganzoo eval`) against the train split, k = 3. Scaled latents are a diagnosis, "
            "not how the zoo samples.\n\n" + "\n".join(table) + "\n")
    out = ROOT / "docs" / "runs" / f"{args.name}-latent-spread.md"
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
