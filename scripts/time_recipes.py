#!/usr/bin/env python3
"""Project how long each Fashion-MNIST recipe takes to train on this machine.

    python scripts/time_recipes.py                       # every recipes/*_fashion_mnist.yaml but ProGAN
    python scripts/time_recipes.py --recipes recipes/dcgan_fashion_mnist.yaml --short 20 --long 120

Each recipe is run twice through ``ganzoo fit`` (the real CLI, in a subprocess, logger and
sample grids off, checkpoints into a temporary folder): once for ``--short`` and once for
``--long`` generator iterations. The difference of the two wall times divided by the difference
of the lengths is the steady-state cost of a generator iteration, free of start-up (imports,
data loading); the projection is ``start-up + cost x the recipe's max_generator_iterations``.
ProGAN is left out by default: its cost per iteration grows with the resolution, so a short
run at 4x4 says nothing about the whole recipe.

Writes a markdown table to stdout and, with ``--out``, the numbers as JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def recipe_length(recipe: Path) -> int:
    init_args = yaml.safe_load(recipe.read_text())["model"]["init_args"]
    if "max_generator_iterations" not in init_args:
        raise ValueError(f"{recipe} has no model.init_args.max_generator_iterations to project to")
    return int(init_args["max_generator_iterations"])


def timed_fit(recipe: Path, iterations: int, threads: int | None) -> float:
    with tempfile.TemporaryDirectory() as workdir:
        command = [
            sys.executable, "-m", "ganzoo.cli", "fit", "--config", str(recipe),
            "--model.init_args.max_generator_iterations", str(iterations),
            "--model.init_args.sample_every_n_iterations", "0",
            "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
            "--trainer.enable_model_summary", "false", "--trainer.default_root_dir", workdir,
        ]
        env = dict(os.environ, WANDB_MODE="disabled")
        if threads:
            env["OMP_NUM_THREADS"] = str(threads)
        start = time.perf_counter()
        completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{completed.stderr[-3000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = sorted(p for p in (ROOT / "recipes").glob("*_fashion_mnist.yaml") if not p.name.startswith("progan"))
    parser.add_argument("--recipes", nargs="+", type=Path, default=default)
    parser.add_argument("--short", type=int, default=20, help="generator iterations of the short run")
    parser.add_argument("--long", type=int, default=320, help="generator iterations of the long run")
    parser.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS for the runs")
    parser.add_argument("--out", type=Path, default=None, help="also write the numbers here (JSON)")
    args = parser.parse_args()
    if not 0 < args.short < args.long:
        parser.error("need 0 < --short < --long")

    rows = []
    for recipe in args.recipes:
        total = recipe_length(recipe)
        short, long = timed_fit(recipe, args.short, args.threads), timed_fit(recipe, args.long, args.threads)
        per_iteration = (long - short) / (args.long - args.short)
        startup = short - per_iteration * args.short
        rows.append({
            "recipe": str(recipe.relative_to(ROOT)), "generator_iterations": total,
            "seconds_per_iteration": round(per_iteration, 4), "startup_seconds": round(startup, 1),
            "projected_minutes": round((startup + per_iteration * total) / 60, 1),
            "measured": {f"{args.short} iterations s": round(short, 1), f"{args.long} iterations s": round(long, 1)},
        })
        print(f"{recipe.name}: {per_iteration * 1000:.0f} ms / G iteration, projected {rows[-1]['projected_minutes']} min",
              file=sys.stderr)

    import torch

    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
               f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"Machine: {machine}\n")
    print("| recipe | G iterations | s / G iteration | start-up s | projected wall time |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(f"| `{row['recipe']}` | {row['generator_iterations']} | {row['seconds_per_iteration']:.3f} "
              f"| {row['startup_seconds']:.0f} | {row['projected_minutes']} min |")
    if args.out:
        args.out.write_text(json.dumps({"machine": machine, "command": " ".join(sys.argv), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
