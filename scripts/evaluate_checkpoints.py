#!/usr/bin/env python3
"""Measure a run's training curve after the fact, from its periodic checkpoints.

    python scripts/evaluate_checkpoints.py runs/wgan_gp_cifar10_cpu/version_0 [--iterations 2000 4000]

For every ``checkpoints/giter-*.ckpt`` at a multiple of the run's evaluation period (or the
iterations given) it builds the run's own EvaluationCallback from the run's config.yaml and scores
the checkpoint's EMA generator with it: the same protocol, seed and code as the evaluation the run
makes while it trains. The rows go to ``<run>/evaluations.csv`` (g_iter, then one column per number),
which scripts/bundle_run.py merges into the training curve where the run's own log lacks a point.

Why it exists: before the evaluation callback wrote its numbers itself, Lightning dropped the ones
logged just before an epoch ended in a step whose logs it does not write, which with n_critic > 1
happened to about one evaluation in three.
"""
from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))  # bundle_run

CHECKPOINT_NAME = re.compile(r"giter-(\d+)\.ckpt$")


def evaluation_callback_from(config_path: Path):
    """The run's EvaluationCallback, built from the init_args its config.yaml recorded."""
    from bundle_run import evaluation_callback_args

    from ganzoo.callbacks import EvaluationCallback

    return EvaluationCallback(**evaluation_callback_args(config_path))


def checkpoints_at(run: Path, every: int, iterations: list[int] | None) -> dict[int, Path]:
    found = {int(m.group(1)): path for path in (run / "checkpoints").glob("giter-*.ckpt")
             if (m := CHECKPOINT_NAME.search(path.name))}
    wanted = sorted(iterations) if iterations else sorted(i for i in found if i % every == 0)
    missing = [i for i in wanted if i not in found]
    if missing:
        raise SystemExit(f"no checkpoint for generator iteration(s) {missing} in {run / 'checkpoints'}")
    return {i: found[i] for i in wanted}


def read_rows(path: Path) -> list[dict]:
    """The rows an earlier call wrote (kept: a call scores only the iterations it is given)."""
    if not path.is_file():
        return []
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="the run folder (config.yaml, checkpoints/giter-*.ckpt)")
    parser.add_argument("--iterations", type=int, nargs="+", default=None,
                        help="only these generator iterations (default: every multiple of the evaluation period)")
    args = parser.parse_args(argv)
    from rich.progress import track

    from ganzoo.zoo.publish import gan_from_checkpoint

    callback = evaluation_callback_from(args.run / "config.yaml")
    rows = []
    for iteration, path in track(checkpoints_at(args.run, callback.every, args.iterations).items(),
                                 description="scoring checkpoints"):
        gan = gan_from_checkpoint(path)
        values = callback.score(gan)
        rows.append({"g_iter": iteration, **values})
        print(f"{iteration}: " + ", ".join(f"{k} {v:.4g}" for k, v in values.items()), flush=True)
    out = args.run / "evaluations.csv"
    merged = {int(row["g_iter"]): row for row in read_rows(out)} | {row["g_iter"]: row for row in rows}
    with open(out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(merged[iteration] for iteration in sorted(merged))
    print(f"wrote {out} ({len(merged)} evaluations)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
