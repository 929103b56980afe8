"""Does fine-tuning adapt a zoo model to a new domain in a budget a user would wait for?

The case a user reported: the bundled ``dcgan-fashion-mnist`` fine-tuned on a small folder of
circles (24 images, batch 8) with ``recipes/finetune/dcgan_fashion_mnist_to_imagefolder.yaml``.
This script makes that folder (deterministic circles), runs the recipe through ``ganzoo fit``
(optionally with overrides), and measures the pretrained and the fine-tuned generator against
1,000 *held-out* circles drawn from the same process:

* FID with the Fashion-MNIST classifier's features (1,000 fakes vs the 1,000 held-out circles,
  seed 0): a domain-transfer score on a small reference, only comparable within this script;
* the mean pixel distance from each fake to its nearest training circle (RMS over pixels, in
  [-1, 1] units): memorising the 24 images would drive it to 0, so it is read with the FID.

Writes a JSON of the numbers and a figure (training circles / pretrained / fine-tuned samples).

    python scripts/finetune_demo.py --iterations 400 --out docs/finetune
    python scripts/finetune_demo.py --iterations 400 --tag old-recipe -- --model.init_args.ema_decay 0.999
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "finetune" / "dcgan_fashion_mnist_to_imagefolder.yaml"


def make_circles(n: int, seed: int, size: int = 28) -> torch.Tensor:
    """n grey images in [-1, 1]: one anti-aliased white ring each (radius 5-11 px, 2 px thick,
    centre jittered by up to 3 px) on black."""
    rng = torch.Generator().manual_seed(seed)
    radius = 5 + 6 * torch.rand(n, 1, 1, generator=rng)
    centre = (size - 1) / 2 + 3 * (2 * torch.rand(n, 2, 1, 1, generator=rng) - 1)
    ys, xs = torch.meshgrid(torch.arange(size, dtype=torch.float32), torch.arange(size, dtype=torch.float32),
                            indexing="ij")
    distance = torch.sqrt((xs - centre[:, 0]) ** 2 + (ys - centre[:, 1]) ** 2)
    ink = (1.0 - (distance - radius).abs()).clamp(0, 1)  # 1 on the ring, fading over one pixel each side
    return (ink * 2 - 1).unsqueeze(1)


def write_folder(images: torch.Tensor, folder: Path) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for index, image in enumerate(images):
        pixels = ((image[0] + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy()
        Image.fromarray(pixels, mode="L").save(folder / f"circle_{index:03d}.png")


def fine_tune(folder: Path, run_dir: Path, iterations: int, extra: list[str], recipe: Path = RECIPE) -> Path:
    from ganzoo.training_cli import run_lightning_cli

    here = Path.cwd()
    os.chdir(run_dir)  # the recipe logs under ./runs
    try:
        run_lightning_cli(["fit", "--config", str(recipe), "--data.init_args.root", str(folder),
                           "--data.init_args.batch_size", "8",
                           "--model.init_args.max_generator_iterations", str(iterations),
                           "--trainer.enable_progress_bar", "false", *extra])
    finally:
        os.chdir(here)
    return next(run_dir.rglob("last.ckpt"))


def nearest_pixel_distance(fakes: torch.Tensor, train: torch.Tensor) -> float:
    """Mean over fakes of the RMS pixel distance to the nearest training image."""
    distances = torch.cdist(fakes.flatten(1).double(), train.flatten(1).double())
    return float((distances.min(dim=1).values / math.sqrt(fakes[0].numel())).mean())


def score(generator, train: torch.Tensor, held_out: torch.Tensor, n: int) -> dict:
    from ganzoo.metrics import evaluate_generator

    (fid,) = evaluate_generator(generator, metrics="fid", features="fashion-mnist", n=n, seed=0,
                                reference=held_out, use_cache=False)
    fakes = generator.sample(n, seed=0).float().clamp(-1, 1)
    return {"fid_vs_held_out_circles": round(fid.value, 2),
            "nearest_training_circle_rms": round(nearest_pixel_distance(fakes, train), 4)}


def figure(train: torch.Tensor, before: torch.Tensor, after: torch.Tensor, path: Path, iterations: int) -> None:
    from ganzoo.theory.common import new_figure
    from torchvision.utils import make_grid

    fig, axes = new_figure(1, 3, size=(4.0, 3.0))
    for axis, images, title in zip(axes[0], (train, before, after), (
            "the 24 training circles", "dcgan-fashion-mnist (pretrained)",
            f"fine-tuned, {iterations} iterations")):
        grid = make_grid((images[:24].float().clamp(-1, 1) + 1) / 2, nrow=6, padding=1, pad_value=0.5)
        axis.imshow(grid[0].numpy(), cmap="gray", vmin=0, vmax=1)
        axis.set_title(title)
        axis.axis("off")
    fig.savefig(path, dpi=90)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=400)
    parser.add_argument("--n", type=int, default=1000, help="fakes and held-out circles per score")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "finetune")
    parser.add_argument("--recipe", type=Path, default=RECIPE)
    parser.add_argument("--tag", default="recipe", help="name of this configuration in the JSON and the figure")
    parser.add_argument("overrides", nargs="*", help="extra `ganzoo fit` flags (after --)")
    args = parser.parse_args(argv)

    import ganzoo
    from ganzoo.zoo.publish import find_checkpoint, gan_from_checkpoint

    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    train, held_out = make_circles(24, seed=0), make_circles(args.n, seed=1)
    pretrained = ganzoo.load("dcgan-fashion-mnist")
    with tempfile.TemporaryDirectory() as tmp:
        write_folder(train, Path(tmp) / "circles")
        start = time.perf_counter()
        checkpoint = fine_tune(Path(tmp) / "circles", Path(tmp), args.iterations, args.overrides, args.recipe)
        wall = time.perf_counter() - start
        tuned = gan_from_checkpoint(find_checkpoint(checkpoint)).sampling_generator.eval()
    result = {
        "tag": args.tag, "recipe": str(args.recipe.resolve().relative_to(ROOT)) if args.recipe.resolve().is_relative_to(ROOT) else str(args.recipe), "iterations": args.iterations, "overrides": args.overrides,
        "wall_seconds": round(wall, 1), "threads": torch.get_num_threads(),
        "protocol": f"fashion-mnist-classifier FID, {args.n} fakes (seed 0) vs {args.n} held-out circles "
                    f"(make_circles seed 1); pixel distance to the nearest of the 24 training circles (seed 0)",
        "pretrained": score(pretrained, train, held_out, args.n),
        "fine_tuned": score(tuned, train, held_out, args.n),
        "held_out_circles": {"nearest_training_circle_rms": round(nearest_pixel_distance(held_out, train), 4)},
    }
    print(json.dumps(result, indent=1))
    results_path = args.out / "results.json"
    previous = json.loads(results_path.read_text()) if results_path.is_file() else {}
    previous[args.tag] = result
    results_path.write_text(json.dumps(previous, indent=1) + "\n")
    figure(train, pretrained.sample(24, seed=0), tuned.sample(24, seed=0), args.out / f"{args.tag}.png",
           args.iterations)
    return 0


if __name__ == "__main__":
    sys.exit(main())
