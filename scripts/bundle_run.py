#!/usr/bin/env python3
"""Bundle a finished training run into the zoo: fp16 weights, its metrics log and its training curve.

    python scripts/bundle_run.py runs/sngan_fashion_mnist/version_0 sngan-fashion-mnist
    python scripts/bundle_run.py OUT/sngan-cifar10-resnet sngan-cifar10-resnet \
        --metrics OUT/sngan-cifar10-resnet.metrics.csv     # an fp16 export of scripts/gpu/train_graphed.py

writes
    ganzoo/zoo/weights/NAME.safetensors + NAME.json   (G, EMA G and D, fp16; from the run's last.ckpt
                                                      or --checkpoint; with --continues, the JSON also
                                                      records the earlier runs' generator iterations)
    docs/runs/NAME.metrics.csv                       (the run's CSV log, as written during training)
    docs/runs/NAME.evaluations.csv                   (only if the run has one: its curve's points
                                                      measured afterwards, scripts/evaluate_checkpoints.py)
    model_cards/figures/NAME-curve.png               (in-domain FID and precision / recall against
                                                      generator iterations, from the evaluation callback)
Then add the model to scripts/build_zoo.py's MODELS and run it: it measures the bundled file and
writes the registry entry (sha256 pin) and the card.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WEIGHTS_DIR = ROOT / "ganzoo" / "zoo" / "weights"
RUNS_DIR = ROOT / "docs" / "runs"
FIGURES_DIR = ROOT / "model_cards" / "figures"


def export_weights(run: Path, name: str, earlier_runs: Sequence[int] = (), kind: str = "gan",
                   standing_statistics_batches: int = 0) -> int:
    """Export the run's last checkpoint (or the checkpoint ``run`` names) as the bundled fp16 weights and
    config: the full GAN (G, EMA G and D: fine-tunable) or, with ``kind="generator"``, the EMA generator
    alone. A continued model's config also records the generator iterations of each earlier run, oldest
    first (`generator_iterations_of_earlier_runs`), and their sum (`generator_iterations_before_continuing`):
    the export counts only its own run's, the registry entry states the total and the card each run's span.
    ``standing_statistics_batches`` > 0 recomputes the EMA generator's BatchNorm statistics first
    (``export_run``). Returns the export's own generator iterations."""
    from ganzoo.zoo import export_run

    with tempfile.TemporaryDirectory() as tmp:
        folder = export_run(run, Path(tmp) / name, kind=kind, dtype="float16",
                            standing_statistics_batches=standing_statistics_batches)
        config = json.loads((folder / "config.json").read_text())
        if earlier_runs:
            config["generator_iterations_before_continuing"] = sum(earlier_runs)
            config["generator_iterations_of_earlier_runs"] = list(earlier_runs)
        bundle_weights(folder, name, config)
    return int(config["generator_iterations"])


def bundle_weights(folder: Path, name: str, config: dict) -> None:
    """An export folder's weights and ``config`` as the bundled ganzoo/zoo/weights/NAME.safetensors + NAME.json."""
    shutil.copyfile(folder / "model.safetensors", WEIGHTS_DIR / f"{name}.safetensors")
    (WEIGHTS_DIR / f"{name}.json").write_text(json.dumps(config, indent=2) + "\n")
    size = (WEIGHTS_DIR / f"{name}.safetensors").stat().st_size
    print(f"wrote ganzoo/zoo/weights/{name}.safetensors ({size / 1e6:.2f} MB)")


def bundle_export(folder: Path, metrics_csv: Path, name: str) -> None:
    """Bundle an export folder as it is (already fp16) with its log and curve. Its evaluations are logged at
    the iterations they ran at, not at multiples of a recipe's callback period: read with a period of 1."""
    config = json.loads((folder / "config.json").read_text())
    if config.get("dtype") != "float16":
        raise SystemExit(f"{folder}: bundled weights are fp16, this export is {config.get('dtype')}")
    bundle_weights(folder, name, config)
    shutil.copyfile(metrics_csv, RUNS_DIR / f"{name}.metrics.csv")
    plot_curve(curve_rows(metrics_csv, 1), f"{name}: 10k fakes vs the train split, in-domain features",
               FIGURES_DIR / f"{name}-curve.png")


def checkpoint_to_bundle(run: Path, checkpoint: str | None) -> Path:
    """The file to export: the run folder (its last.ckpt) by default, or a named checkpoint, given as a
    path or as a file name in the run's checkpoints/ folder. Lightning writes last.ckpt again when a run
    is stopped with Ctrl-C, past the last evaluation: naming that evaluation's giter-*.ckpt bundles
    exactly the weights the curve measured."""
    if checkpoint is None:
        return run
    for candidate in (Path(checkpoint), run / "checkpoints" / checkpoint):
        if candidate.is_file():
            return candidate
    raise SystemExit(f"--checkpoint {checkpoint}: no such file, nor {run / 'checkpoints' / checkpoint}")


def rows_up_to(rows: list[dict[str, float]], last_iteration: int) -> list[dict[str, float]]:
    """The curve up to the bundled checkpoint: evaluations after it describe other weights."""
    return [row for row in rows if row["g_iter"] <= last_iteration]


def evaluation_rows(metrics_csv: Path, every: int) -> list[dict[str, float]]:
    """The evaluation callback's numbers, one row per evaluation, with the generator iteration it
    ran at. The CSV repeats the last eval/* values on later logged rows until the next evaluation
    (in float32, where the callback's own row has them in float64): a new evaluation is a row at a
    new multiple of ``every`` whose numbers changed, or that was logged at that very iteration."""
    rows: list[dict[str, float]] = []
    with open(metrics_csv, newline="") as handle:
        for row in csv.DictReader(handle):
            values = {key[len("eval/"):]: float(value) for key, value in row.items()
                      if key.startswith("eval/") and value not in ("", None)}
            if not values or not row.get("g_iter"):
                continue
            logged_at = int(float(row["g_iter"]))
            iteration = logged_at // every * every
            if rows and (rows[-1]["g_iter"] == iteration
                         or (logged_at != iteration and _same_numbers(rows[-1], values))):
                continue
            rows.append({**values, "g_iter": iteration})
    return rows


def curve_rows(metrics_csv: Path, every: int) -> list[dict[str, float]]:
    """The training curve: the evaluations in the run's log, plus those measured afterwards from the
    run's checkpoints (scripts/evaluate_checkpoints.py) at iterations the log lacks. The latter live
    beside the log: ``metrics.csv`` -> ``evaluations.csv``, ``NAME.metrics.csv`` -> ``NAME.evaluations.csv``."""
    rows = {row["g_iter"]: row for row in evaluation_rows(metrics_csv, every)}
    post_hoc = post_hoc_file(metrics_csv)
    if post_hoc.is_file():
        with open(post_hoc, newline="") as handle:
            for row in csv.DictReader(handle):
                iteration = int(row.pop("g_iter"))
                rows.setdefault(iteration, {**{k: float(v) for k, v in row.items() if v}, "g_iter": iteration})
    return [rows[iteration] for iteration in sorted(rows)]


def continued_curve_rows(earlier_runs: Sequence[tuple], rows: list[dict[str, float]],
                         every: int) -> tuple[list[dict[str, float]], list[int]]:
    """The whole curve of a run started from a bundled model (``FineTuneFrom``), which counts its
    iterations from 0 again. ``earlier_runs`` is its lineage, oldest first: each run's log, the
    iterations it trained before the next one started from its export and, optionally, its own
    evaluation period (default ``every``, this run's: the log's rows are read at that period's
    multiples, so a run that evaluated more often must say so). Each run's evaluations up to that
    length are shifted by the runs before it, then this run's by all of them. Returns the rows and the
    iterations where each run took over."""
    curve: list[dict[str, float]] = []
    offset, continued_at = 0, []
    for earlier_csv, earlier_iterations, *period in earlier_runs:
        earlier_every = int(period[0]) if period else every
        earlier = [row for row in curve_rows(earlier_csv, earlier_every) if row["g_iter"] <= earlier_iterations]
        if not earlier:
            raise SystemExit(f"{earlier_csv} has no evaluations up to {earlier_iterations} iterations")
        curve += [{**row, "g_iter": row["g_iter"] + offset} for row in earlier]
        offset += earlier_iterations
        continued_at.append(offset)
    return curve + [{**row, "g_iter": row["g_iter"] + offset} for row in rows], continued_at


def post_hoc_file(metrics_csv: Path) -> Path:
    return Path(metrics_csv).with_name(Path(metrics_csv).name.replace("metrics.csv", "evaluations.csv"))


def _same_numbers(previous: dict[str, float], values: dict[str, float]) -> bool:
    return all(key in previous and math.isclose(previous[key], value, rel_tol=1e-6, abs_tol=1e-9)
               for key, value in values.items())


def evaluation_period(run: Path) -> int:
    """every_n_generator_iterations of the EvaluationCallback in the run's saved config."""
    return evaluation_period_in(run / "config.yaml")


def evaluation_period_in(config_path: Path) -> int:
    """every_n_generator_iterations of the EvaluationCallback in a run's config or a recipe."""
    return int(evaluation_callback_args(config_path)["every_n_generator_iterations"])


def evaluation_callback_args(config_path: Path) -> dict:
    """The init_args of the EvaluationCallback in a run's config or a recipe."""
    import yaml

    config = yaml.safe_load(Path(config_path).read_text())
    for callback in config["trainer"].get("callbacks") or []:
        if callback["class_path"].endswith("EvaluationCallback"):
            return dict(callback.get("init_args") or {})
    raise SystemExit(f"{config_path} has no EvaluationCallback: no training curve to draw")


def plot_curve(rows: list[dict[str, float]], title: str, path: Path, continued_at: Sequence[int] = ()) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, fid_axis = plt.subplots(figsize=(6, 3.4))
    iters = [row["g_iter"] for row in rows]
    fid_axis.plot(iters, [row["fid"] for row in rows], "o-", color="tab:red", label="FID (left)")
    fid_axis.set_xlabel("generator iterations")
    fid_axis.set_ylabel("in-domain FID (lower is better)")
    fid_axis.set_ylim(bottom=0)
    pr_axis = fid_axis.twinx()
    for key, style in (("precision", "s--"), ("recall", "^--")):
        if all(key in row for row in rows):
            pr_axis.plot(iters, [row[key] for row in rows], style, label=f"{key} (right)")
    pr_axis.set_ylim(0, 1)
    pr_axis.set_ylabel("precision / recall")
    for number, iteration in enumerate(continued_at):
        fid_axis.axvline(iteration, color="grey", linestyle=":",
                         label="continued from the fp16 export" if number == 0 else None)
    handles = fid_axis.get_legend_handles_labels()[0] + pr_axis.get_legend_handles_labels()[0]
    fid_axis.legend(handles=handles, loc="upper center", fontsize=8, ncol=3)
    fid_axis.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path.relative_to(ROOT)}")


def plot_stage_grids(run: Path, iterations: list[int], labels: list[str], path: Path) -> None:
    """ProGAN: the run's sample grid at the end of each stage, side by side (each at its own resolution,
    enlarged without smoothing so the pixels of the early stages stay visible)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    fig, axes = plt.subplots(1, len(iterations), figsize=(3 * len(iterations), 3.3))
    for axis, iteration, label in zip(axes, iterations, labels):
        axis.imshow(Image.open(run / "samples" / f"iter_{iteration:07d}.png"), interpolation="nearest")
        axis.set_title(f"{label}\n(G iteration {iteration})", fontsize=9)
        axis.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="the run folder (holds metrics.csv and checkpoints/last.ckpt)")
    parser.add_argument("name", help="zoo name, e.g. sngan-fashion-mnist")
    parser.add_argument("--continues", nargs="+", action="append", metavar="EARLIER_METRICS_CSV ITERATIONS [EVERY]",
                        default=[], help="the run was started from a bundled model (FineTuneFrom) trained for "
                                         "ITERATIONS generator iterations with this log, which evaluated every EVERY "
                                         "iterations (default: as this run): the curve shows the runs end to end. "
                                         "Repeat it, oldest first, for a model continued more than once")
    parser.add_argument("--checkpoint", metavar="FILE", default=None,
                        help="the checkpoint to bundle (default the run's last.ckpt): a path, or a file name in "
                             "the run's checkpoints/ folder, e.g. giter-0018000.ckpt; the curve stops there")
    parser.add_argument("--stage-grids", nargs="+", metavar="ITER=LABEL", default=None,
                        help="ProGAN: the sample grids to show per stage, e.g. 500=4x4 1500=8x8")
    parser.add_argument("--generator-only", action="store_true",
                        help="bundle the EMA generator alone (samples, no fine-tuning): for a model whose full "
                             "GAN would not fit the package's weights budget")
    parser.add_argument("--standing-statistics", type=int, default=0, metavar="BATCHES",
                        help="recompute the EMA generator's BatchNorm statistics from BATCHES batches of 256 of its "
                             "own latents before exporting (docs/runs/vanilla-fashion-mnist-latent-spread.md)")
    parser.add_argument("--metrics", type=Path, metavar="CSV",
                        help="the log of a run given as a ready export folder (model.safetensors + config.json, as "
                             "scripts/gpu/train_graphed.py writes them): bundled as it is, its evaluations read at "
                             "the iterations they were logged at")
    args = parser.parse_args()
    if (args.run / "model.safetensors").is_file():
        if args.metrics is None:
            parser.error(f"{args.run} is an export folder: give its log with --metrics")
        bundle_export(args.run, args.metrics, args.name)
        return
    metrics_csv = args.run / "metrics.csv"
    if not metrics_csv.is_file():
        parser.error(f"{metrics_csv} does not exist")
    every = evaluation_period(args.run)
    rows = curve_rows(metrics_csv, every)
    continued_at: list[int] = []
    earlier_runs: list[int] = []
    if args.continues:
        if any(len(values) not in (2, 3) or not all(n.isdigit() for n in values[1:]) for values in args.continues):
            parser.error("--continues takes EARLIER_METRICS_CSV ITERATIONS [EVERY], the last two whole numbers")
        lineage = [(Path(earlier_csv), *map(int, numbers)) for earlier_csv, *numbers in args.continues]
        rows, continued_at = continued_curve_rows(lineage, rows, every)
        earlier_runs = [iterations for _, iterations, *_ in lineage]
    checkpoint = checkpoint_to_bundle(args.run, args.checkpoint)
    exported_iterations = export_weights(checkpoint, args.name, earlier_runs=earlier_runs,
                                         kind="generator" if args.generator_only else "gan",
                                         standing_statistics_batches=args.standing_statistics)
    rows = rows_up_to(rows, sum(earlier_runs) + exported_iterations)
    shutil.copyfile(metrics_csv, RUNS_DIR / f"{args.name}.metrics.csv")
    if post_hoc_file(metrics_csv).is_file():
        shutil.copyfile(post_hoc_file(metrics_csv), RUNS_DIR / f"{args.name}.evaluations.csv")
    if rows:
        plot_curve(rows, f"{args.name}: 10k fakes vs the train split, in-domain features",
                   FIGURES_DIR / f"{args.name}-curve.png", continued_at)
    else:
        print("no evaluation rows in the log: no training curve")
    if args.stage_grids:
        pairs = [item.split("=", 1) for item in args.stage_grids]
        plot_stage_grids(args.run, [int(i) for i, _ in pairs], [label for _, label in pairs],
                         FIGURES_DIR / f"{args.name}-stages.png")


if __name__ == "__main__":
    main()
