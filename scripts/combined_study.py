"""The combination study of docs/combined.md: spectral norm x prediction step (x progressive growing).

    python scripts/combined_study.py --part toy     --out docs/combined     # 2-D mixtures, ~10 min on 1 core
    python scripts/combined_study.py --part fashion --out docs/combined     # Fashion-MNIST 16x16: 72 runs of
        # 3,000 iterations, ~6 CPU-hours; two processes: --seeds 2, and --first-seed 2 --seeds 1 --shard 0/1
    bash scripts/gpu/combined_study.sh      # the Fashion-MNIST grid on one GPU in one device call (shards)

Every run is ganzoo's own training loop (``ganzoo.gans.GAN`` / ``ProGAN`` through a Lightning
Trainer) with one setting changed at a time; results go to ``OUT/PART.json`` (one record per run,
appended as runs finish, so an interrupted study keeps what it measured and resumes where it
stopped) and the figures to ``docs/figures/combined-PART-*.png``. ``--shard K/N`` runs every N-th
configuration from the K-th into ``OUT/PART.shard-K-of-N.json``, so N processes can share one GPU;
``--report`` (and resuming) reads ``PART.json`` and every shard file together.

A run *fails* when it diverges (a non-finite loss) or collapses:
* 2-D mixtures: fewer than half of the modes captured (VEEGAN / PacGAN definitions: 2,500 samples,
  a mode is captured when a sample within 3 standard deviations is nearest to it); the percentage
  of high-quality samples is reported beside it (it measures precision, which needs a longer budget
  than this study's at the ring's 0.01 width: docs/theory.md, experiment 5);
* Fashion-MNIST: a non-finite loss, or in-domain FID above 100 at the end of the budget (``fashion_failed``).
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import time
import warnings
from pathlib import Path

import lightning as L
import torch

from ganzoo.data import FashionMNISTDataModule, ToyDataModule
from ganzoo.gans import GAN, ProGAN
from ganzoo.metrics.modes import mode_metrics
from ganzoo.utils import atomic_write

warnings.filterwarnings("ignore", ".*does not have many workers.*")
MODE_SAMPLES = 2500


class Curve(L.Callback):
    """Records a score of the generator every ``every`` generator iterations."""

    def __init__(self, every: int, score) -> None:
        self.every, self.score, self.points = every, score, []

    def on_train_batch_end(self, trainer, module, *args) -> None:
        if module.generator_iterations % self.every == 0:
            self.points.append((module.generator_iterations, self.score(module)))


ACCELERATOR = "cpu"  # --accelerator: where every run of this process trains


def trainer(callbacks, precision="32-true") -> L.Trainer:
    return L.Trainer(accelerator=ACCELERATOR, devices=1, max_epochs=-1, logger=False, enable_checkpointing=False,
                     enable_progress_bar=False, enable_model_summary=False, precision=precision,
                     callbacks=callbacks)


def finite_losses(module) -> bool:
    return all(bool(torch.isfinite(value).all()) for value in module.watched_terms.values())


# ---------------------------------------------------------------------- 2-D mixtures
def toy_run(dataset: str, spectral_norm: bool, prediction: bool, lr: float, seed: int, iterations: int) -> dict:
    torch.manual_seed(seed)
    data = ToyDataModule(dataset, n_samples=20_000, batch_size=256, seed=seed)
    model = GAN(generator={"name": "MLPGenerator", "kwargs": {"latent_dim": 2, "out_dim": 2, "hidden_dim": 128}},
                discriminator={"name": "MLPDiscriminator", "kwargs": {"in_dim": 2, "hidden_dim": 128,
                                                                      "spectral_norm": spectral_norm}},
                loss="nonsaturating", g_lr=lr, d_lr=lr, prediction=prediction, ema_decay=None, seed=seed,
                max_generator_iterations=iterations, sample_every_n_iterations=0)

    def score(module) -> dict:
        found = mode_metrics(module.generator.sample(MODE_SAMPLES, seed=12345), data.means, float(data.std))
        return {"modes": found["modes"], "high_quality": round(found["high_quality"], 2)}

    curve = Curve(max(1, iterations // 10), score)
    start = time.perf_counter()
    trainer([curve]).fit(model, datamodule=data)
    final = score(model)
    num_modes = len(data.means)
    diverged = not finite_losses(model)
    failed = diverged or final["modes"] < num_modes / 2
    return {"dataset": dataset, "spectral_norm": spectral_norm, "prediction": prediction, "lr": lr, "seed": seed,
            "iterations": iterations, "num_modes": num_modes, **final, "diverged": diverged, "failed": failed,
            "curve": curve.points, "seconds": round(time.perf_counter() - start, 1)}


def seeds(args) -> range:
    return range(args.first_seed, args.first_seed + args.seeds)


def toy_grid(args) -> list[dict]:
    return [dict(dataset=d, spectral_norm=sn, prediction=p, lr=lr, seed=s, iterations=args.iterations)
            for d, sn, p, lr, s in itertools.product(("ring", "grid"), (False, True), (False, True),
                                                     args.lrs, seeds(args))]


# ---------------------------------------------------------------------- Fashion-MNIST
FAILED_FID = 100.0  # in-domain FID above this at the end of the budget: the run failed
FASHION_RESOLUTION = 16  # grown 4 -> 8 -> 16: the budget of one CPU core (docs/combined.md)


def fashion_failed(fid: float, diverged: bool) -> bool:
    """Diverged, or no image model at all by the end of the budget.

    Recall is reported but is not part of the criterion: the 16 x 16 fakes are compared with the
    28 x 28 real images after bilinear upsampling, which puts them off the real manifold, and
    every run measured so far has recall near 0 (docs/combined.md).
    """
    return diverged or not fid <= FAILED_FID


def fashion_run(growing: bool, spectral_norm: bool, prediction: bool, lr: float, seed: int, iterations: int,
                fakes: int) -> dict:
    from ganzoo.metrics.evaluate import evaluate_generator

    torch.manual_seed(seed)
    batch = 32
    data = FashionMNISTDataModule(batch_size=batch, resolution=FASHION_RESOLUTION, resize_mode="resize", seed=seed,
                                  in_memory=True)
    networks = dict(
        generator={"name": "ProGANGenerator", "kwargs": {"latent_dim": 64, "resolution": FASHION_RESOLUTION,
                                                         "channels": 1, "fmap_base": 128, "fmap_max": 32}},
        discriminator={"name": "ProGANDiscriminator", "kwargs": {"resolution": FASHION_RESOLUTION, "channels": 1,
                                                                 "fmap_base": 128, "fmap_max": 32,
                                                                 "spectral_norm": spectral_norm}},
    )
    # ProGAN's loss and optimizer either way (WGAN-GP lambda 10, drift 0.001, Adam betas (0, 0.99), EMA):
    # without growing, the same networks train at 16x16 from the first step.
    # EMA 0.99 (the paper's 0.999 averages over ~1000 iterations: this whole budget).
    common = dict(g_lr=lr, d_lr=lr, prediction=prediction, seed=seed, max_generator_iterations=iterations,
                  sample_every_n_iterations=0, ema_decay=0.99)
    if growing:
        phase = iterations * batch // 5  # 4x4, fade 8, 8x8, fade 16, 16x16: five phases of equal length
        model = ProGAN(**networks, fade_in_images=phase, stabilize_images=phase, **common)
    else:
        model = GAN(**networks, loss="wasserstein", gp_weight=10.0, drift_weight=0.001, g_betas=(0.0, 0.99),
                    d_betas=(0.0, 0.99), **common)

    def score(module) -> dict:
        results = evaluate_generator(module.sampling_generator, metrics="fid,pr", features="fashion-mnist", n=fakes,
                                     seed=0, resize="bilinear")
        values = {r.name: r.value for r in results}
        return {"fid": round(values["fid"], 3), "recall": round(values["recall"], 4),
                "precision": round(values["precision"], 4)}

    curve = Curve(max(1, iterations // 4), score)
    start = time.perf_counter()
    try:
        trainer([curve], precision="bf16-mixed").fit(model, datamodule=data)
        final = curve.points[-1][1] if curve.points and curve.points[-1][0] == iterations else score(model)
        diverged = not finite_losses(model)
    except (RuntimeError, ValueError) as error:  # a NaN reaching the metrics
        final, diverged = {"fid": math.inf, "recall": 0.0, "precision": 0.0, "error": str(error)[:200]}, True
    return {"growing": growing, "spectral_norm": spectral_norm, "prediction": prediction, "lr": lr, "seed": seed,
            "iterations": iterations, "fakes": fakes, **final, "diverged": diverged,
            "failed": fashion_failed(final["fid"], diverged),
            "curve": curve.points, "seconds": round(time.perf_counter() - start, 1)}


def fashion_grid(args) -> list[dict]:
    return [dict(growing=g, spectral_norm=sn, prediction=p, lr=lr, seed=s, iterations=args.iterations,
                 fakes=args.fakes)
            # Seeds outermost: a study cut short by a time limit still has every cell at the first seeds.
            for s, lr, g, sn, p in itertools.product(seeds(args), args.lrs, (False, True), (False, True),
                                                     (False, True))]


# ---------------------------------------------------------------------- report
def label(run: dict) -> str:
    parts = (["growing"] if run.get("growing") else []) + (["SN"] if run["spectral_norm"] else []) + \
        (["prediction"] if run["prediction"] else [])
    return " + ".join(parts) or "plain"


def mean_std(values) -> str:
    values = [v for v in values if math.isfinite(v)]
    if not values:
        return "-"
    mean = sum(values) / len(values)
    std = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5 if len(values) > 1 else 0.0
    return f"{mean:.1f} ± {std:.1f}" if len(values) > 1 else f"{mean:.1f}"


def report(part: str, runs: list[dict], figures: Path, iterations: int) -> str:
    """Markdown tables (printed; pasted into docs/combined.md) and the figures of one part's runs of one budget."""
    runs = [r for r in runs if r["iterations"] == iterations]
    if not runs:
        raise SystemExit(f"no saved {part} runs of {iterations} iterations")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures.mkdir(parents=True, exist_ok=True)
    labels = sorted({label(r) for r in runs}, key=lambda x: (x.count("+"), x))
    lrs = sorted({r["lr"] for r in runs})
    groups = sorted({r["dataset"] for r in runs}) if part == "toy" else ["fashion-mnist"]
    lines = []
    for group in groups:
        members = [r for r in runs if r.get("dataset", "fashion-mnist") == group]
        score, unit = ("modes", f"modes of {members[0]['num_modes']}") if part == "toy" else ("fid", "FID")
        lines += [f"**{group}** ({unit}, mean ± std over seeds; failed runs / runs)", "",
                  "| combination | " + " | ".join(f"lr {lr:g}" for lr in lrs) + " |",
                  "| --- | " + " | ".join("---" for _ in lrs) + " |"]
        for name in labels:
            cells = []
            for lr in lrs:
                cell = [r for r in members if label(r) == name and r["lr"] == lr]
                extra = (f", {mean_std([r['high_quality'] for r in cell])}% HQ" if part == "toy"
                         else f", precision {mean_std([100 * r['precision'] for r in cell])}%, "
                         f"recall {mean_std([100 * r['recall'] for r in cell])}%")
                cells.append(f"{mean_std([float(r[score]) for r in cell])}{extra} "
                             f"({sum(r['failed'] for r in cell)}/{len(cell)} failed)" if cell else "-")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
        figure, axes = plt.subplots(1, len(lrs), figsize=(4.2 * len(lrs), 3.4), squeeze=False)
        for ax, lr in zip(axes[0], lrs):
            for name in labels:
                cell = [r for r in members if label(r) == name and r["lr"] == lr and r["curve"]]
                if not cell:
                    continue
                steps = [point[0] for point in cell[0]["curve"]]
                values = [[point[1][score] for point in r["curve"]] for r in cell if len(r["curve"]) == len(steps)]
                mean = [sum(v) / len(v) for v in zip(*values)]
                ax.plot(steps, mean, marker="o", ms=3, label=name)
            ax.set_title(f"{group}, lr {lr:g}", fontsize=10)
            ax.set_xlabel("generator iteration")
            ax.set_ylabel(unit)
        axes[0][0].legend(fontsize=7)
        figure.tight_layout()
        name = group if part == "toy" else f"{group}-{iterations}"  # budgets side by side (CPU and GPU studies)
        figure.savefig(figures / f"combined-{part}-{name}.png", dpi=100)
        plt.close(figure)
    return "\n".join(lines)


# ---------------------------------------------------------------------- driver
def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` -> (K, N) with 0 <= K < N."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard takes K/N (e.g. 0/12), got {text!r}") from None
    if not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"--shard {text}: K must be in 0..N-1")
    return index, count


def saved_runs(out: Path, part: str) -> list[dict]:
    """Every run measured so far: PART.json and the shard files beside it."""
    files = [out / f"{part}.json", *sorted(out.glob(f"{part}.shard-*.json"))]
    return [run for file in files if file.exists() for run in json.loads(file.read_text())]


def main() -> None:
    global ACCELERATOR
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("toy", "fashion"), required=True)
    parser.add_argument("--out", default="docs/combined")
    parser.add_argument("--iterations", type=int, default=None)
    parser.add_argument("--seeds", type=int, default=3, help="how many seeds per cell")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds FIRST_SEED.. (a second process adds seeds to a running study)")
    parser.add_argument("--lrs", type=float, nargs="+", default=None)
    parser.add_argument("--fakes", type=int, default=2000, help="Fashion-MNIST: fakes per FID / recall")
    parser.add_argument("--accelerator", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--shard", type=parse_shard, default=None, metavar="K/N",
                        help="run every N-th configuration from the K-th (N processes sharing a machine)")
    parser.add_argument("--combinations", nargs="+", default=None, metavar="LABEL",
                        help="only these cells, named as in the report: plain, prediction, SN, growing + SN, ... "
                             "(more seeds where the cells differ, not where every run fails)")
    parser.add_argument("--report", action="store_true", help="only tables and figures from the saved results")
    parser.add_argument("--figures", default="docs/figures")
    args = parser.parse_args()
    ACCELERATOR = args.accelerator
    toy = args.part == "toy"
    args.iterations = args.iterations or (2000 if toy else 3000)
    args.lrs = args.lrs or ([5e-4, 2e-3, 8e-3] if toy else [1e-3, 4e-3, 1.6e-2])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.report:
        print(report(args.part, saved_runs(out, args.part), Path(args.figures), args.iterations))
        return
    configs = toy_grid(args) if toy else fashion_grid(args)
    if args.combinations:
        cells = {label(config) for config in configs}
        unknown = set(args.combinations) - cells
        if unknown:
            parser.error(f"--combinations: no cell named {sorted(unknown)}; the cells: {sorted(cells)}")
        configs = [config for config in configs if label(config) in args.combinations]
    key = lambda run: json.dumps({k: run[k] for k in sorted(run) if k in configs[0]}, sort_keys=True)  # noqa: E731
    finished = {key(run) for run in saved_runs(out, args.part)}
    index, count = args.shard or (0, 1)
    results_file = out / (f"{args.part}.shard-{index}-of-{count}.json" if args.shard else f"{args.part}.json")
    done = json.loads(results_file.read_text()) if results_file.exists() else []
    for number, config in enumerate(configs, 1):
        if (number - 1) % count != index or key(config) in finished:
            continue
        run = toy_run(**config) if toy else fashion_run(**config)
        done.append(run)
        # Atomic: a time limit that kills the process mid-write leaves the previous file whole.
        atomic_write(results_file, lambda tmp: tmp.write_text(json.dumps(done, indent=1)))
        summary = {k: v for k, v in run.items() if k != "curve"}
        print(f"[{number}/{len(configs)}] {summary}", flush=True)
    print(f"wrote {results_file} ({len(done)} runs)")


if __name__ == "__main__":
    main()
