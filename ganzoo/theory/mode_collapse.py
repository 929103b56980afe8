"""Experiment 5 — mode collapse on the 8-Gaussian ring and the 25-Gaussian grid
(VEEGAN, Srivastava et al. 2017, Table 1; PacGAN, Lin et al. 2018, Table 1).

Small MLP GANs trained with a plain PyTorch loop on the library's pieces: data from
``ganzoo.data.toy`` (ring: 8 modes on the unit circle, std 0.01; grid: 5 x 5 modes at
{-4,...,4}^2, std 0.05 — the PacGAN configuration), networks from ``ganzoo.nn.mlp``,
losses from ``ganzoo.losses``, penalties from ``ganzoo.regularizers``, and the
VEEGAN/PacGAN scores from ``ganzoo.metrics.modes.mode_metrics`` (2,500 samples; a sample
is high quality within 3 std of its nearest mode; a mode is captured when at least one
high-quality sample is nearest to it).

PacGAN packing: the discriminator sees ``m`` samples concatenated into one input of size
2m, all real or all fake; a minibatch holds ``batch`` such packs (``batch * m`` samples).

The published networks (PacGAN: generator 4 x 400 with batch norm, maxout discriminator
3 x 200, Adam 1e-4, 400 epochs of 100k points, i.e. 400k steps) are scaled down so that the
whole table trains in minutes on a CPU; the numbers are therefore *our* budget's, printed
beside the published rows, not a reproduction of them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ganzoo.data.toy import GRID_STD, RING_STD, grid_means, ring_means, sample_mixture
from ganzoo.losses import get_loss
from ganzoo.metrics.modes import mode_metrics
from ganzoo.nn.mlp import MLPDiscriminator, MLPGenerator
from ganzoo.regularizers import gradient_penalty, r1_penalty
from ganzoo.theory.common import ExperimentResult, markdown_table, new_figure, save_figure, seeded, single_threaded_run

NAME = "mode-collapse"
EVAL_SAMPLES = 2500
LATENT_DIM = 2

# Published rows (modes captured, % high-quality samples), as cited in the issue / papers.
PUBLISHED = {
    "ring": [
        ("GAN (VEEGAN Table 1)", 1.0, 99.3),
        ("Unrolled GAN (VEEGAN Table 1)", 7.6, 35.6),
        ("GAN (PacGAN Table 1)", 6.3, 98.2),
        ("PacGAN2 (PacGAN Table 1)", 7.9, 95.6),
    ],
    "grid": [
        ("GAN (PacGAN Table 1)", 17.3, 94.8),
        ("PacGAN2 (PacGAN Table 1)", 23.8, 91.3),
    ],
}


@dataclass(frozen=True)
class Dataset:
    name: str
    means: Tensor
    std: float


def datasets() -> tuple[Dataset, Dataset]:
    return Dataset("ring", ring_means(), RING_STD), Dataset("grid", grid_means(), GRID_STD)


@dataclass(frozen=True)
class Variant:
    """A GAN variant for the 2-D mixtures."""

    label: str
    loss: str = "nonsaturating"
    pack: int = 1
    r1_gamma: float = 0.0
    gp_weight: float = 0.0


VARIANTS = (
    Variant("GAN"),
    Variant("PacGAN2", pack=2),
    Variant("GAN + R1 (gamma=0.1)", r1_gamma=0.1),
)


@dataclass(frozen=True)
class Budget:
    steps: dict[str, int]     # per data set: the grid needs more steps than the ring
    batch: int
    hidden: int
    layers: int
    lr: float
    seeds: tuple[int, ...]


FULL = Budget(steps={"ring": 3000, "grid": 6000}, batch=100, hidden=64, layers=3, lr=1e-3, seeds=(0, 1, 2))
QUICK = Budget(steps={"ring": 40, "grid": 40}, batch=64, hidden=32, layers=2, lr=1e-3, seeds=(0,))


def pack(x: Tensor, m: int) -> Tensor:
    """PacGAN packing: (N, d) -> (N / m, m * d), concatenating m consecutive samples."""
    if m < 1:
        raise ValueError(f"packing degree must be >= 1, got {m}")
    if x.ndim != 2 or x.shape[0] % m:
        raise ValueError(f"cannot pack a batch of shape {tuple(x.shape)} into groups of {m}; "
                         "the batch size must be a multiple of the packing degree")
    return x.reshape(x.shape[0] // m, m * x.shape[1])


def train_gan(variant: Variant, data: Dataset, seed: int, budget: Budget) -> MLPGenerator:
    """Alternating D/G steps (one each) with Adam; returns the trained generator (eval mode)."""
    loss = get_loss(variant.loss)
    n = budget.batch * variant.pack
    steps = budget.steps[data.name]
    with seeded(seed) as rng:
        generator = MLPGenerator(LATENT_DIM, 2, budget.hidden, budget.layers)
        discriminator = MLPDiscriminator(2 * variant.pack, budget.hidden, budget.layers)
        betas = (0.5, 0.9) if variant.gp_weight else (0.5, 0.999)
        g_optimizer = torch.optim.Adam(generator.parameters(), lr=budget.lr, betas=betas)
        d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=budget.lr, betas=betas)
        # Cosine decay to 0: the ring's modes are 0.01 wide, and a constant step size keeps
        # the samples jittering around them by more than the 3-std high-quality radius.
        schedules = [torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=steps) for o in (g_optimizer, d_optimizer)]
        for _ in range(steps):
            real = pack(sample_mixture(data.means, data.std, n, rng)[0], variant.pack)
            with torch.no_grad():
                fake = pack(generator(torch.randn(n, LATENT_DIM, generator=rng)), variant.pack)
            d_loss = loss.discriminator(discriminator(real), discriminator(fake))
            if variant.r1_gamma:
                d_loss = d_loss + r1_penalty(discriminator, real, variant.r1_gamma)
            if variant.gp_weight:
                d_loss = d_loss + variant.gp_weight * gradient_penalty(discriminator, real, fake)
            d_optimizer.zero_grad(set_to_none=True)
            d_loss.backward()
            d_optimizer.step()

            fake = pack(generator(torch.randn(n, LATENT_DIM, generator=rng)), variant.pack)
            g_loss = loss.generator(None, discriminator(fake))
            g_optimizer.zero_grad(set_to_none=True)
            g_loss.backward()
            g_optimizer.step()
            for schedule in schedules:
                schedule.step()
    return generator.eval()


def score(samples: Tensor, data: Dataset) -> dict:
    return mode_metrics(samples, data.means, data.std)


def _mean_std(values: list[float]) -> tuple[float, float]:
    array = np.asarray(values, dtype=np.float64)
    return float(array.mean()), float(array.std(ddof=1)) if len(array) > 1 else 0.0


def _cell(mean: float, std: float, digits: int = 1) -> str:
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


@single_threaded_run
def run(plot: str | None = None, quick: bool = False) -> ExperimentResult:
    budget = QUICK if quick else FULL
    numbers, sections, samples_for_plot = {}, [], {}
    for data in datasets():
        rows = []
        true_samples = sample_mixture(data.means, data.std, EVAL_SAMPLES, 12345)[0]
        reference = score(true_samples, data)
        rows.append(["true mixture (reference)", f"{reference['modes']} / {len(data.means)}",
                     f"{reference['high_quality']:.1f}", f"{reference['reverse_kl']:.3f}", "sampled"])
        numbers[f"{data.name}/true/modes"] = reference["modes"]
        numbers[f"{data.name}/true/high_quality"] = reference["high_quality"]
        for variant in VARIANTS:
            results = []
            for seed in budget.seeds:
                generator = train_gan(variant, data, seed, budget)
                samples = generator.sample(EVAL_SAMPLES, seed=10_000 + seed).detach()
                results.append(score(samples, data))
                if seed == budget.seeds[0]:
                    samples_for_plot[(data.name, variant.label)] = samples.numpy()
            modes = _mean_std([r["modes"] for r in results])
            quality = _mean_std([r["high_quality"] for r in results])
            kl = _mean_std([r["reverse_kl"] for r in results])
            rows.append([variant.label, _cell(*modes), _cell(*quality), _cell(*kl, digits=3),
                         f"ours, {len(budget.seeds)} seeds"])
            numbers[f"{data.name}/{variant.label}/modes"] = modes[0]
            numbers[f"{data.name}/{variant.label}/high_quality"] = quality[0]
            numbers[f"{data.name}/{variant.label}/reverse_kl"] = kl[0]
        for label, modes, quality in PUBLISHED[data.name]:
            rows.append([label, f"{modes:g}", f"{quality:g}", "-", "published"])
        sections += [
            f"**{data.name}** ({len(data.means)} modes, std {data.std:g}; {EVAL_SAMPLES} samples; "
            "mean ± std over seeds)",
            markdown_table(["model", "modes captured", "% high quality", "reverse KL", "source"], rows),
        ]
    steps = ", ".join(f"{name} {count}" for name, count in budget.steps.items())
    header = (f"Budget: steps ({steps}) of {budget.batch} (packed) samples, G and D MLPs "
              f"{budget.layers} x {budget.hidden}, Adam lr {budget.lr:g}, seeds {list(budget.seeds)}.")
    figure = _plot(samples_for_plot, plot) if plot else None
    return ExperimentResult(NAME, header + "\n\n" + "\n\n".join(sections), numbers, figure)


def _plot(samples: dict, path: str) -> str:
    data_sets = datasets()
    figure, axes = new_figure(len(data_sets), len(VARIANTS), size=(3.0, 3.0))
    for row, data in enumerate(data_sets):
        limit = 1.5 if data.name == "ring" else 5.5
        for col, variant in enumerate(VARIANTS):
            ax = axes[row][col]
            points = samples[(data.name, variant.label)]
            ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.4, color="tab:blue")
            ax.scatter(data.means[:, 0], data.means[:, 1], s=25, marker="x", color="tab:red")
            result = score(torch.as_tensor(points), data)
            ax.set_title(f"{variant.label} on {data.name}\n{result['modes']} modes, "
                         f"{result['high_quality']:.0f}% HQ", fontsize=8)
            ax.set_xlim(-limit, limit)
            ax.set_ylim(-limit, limit)
            ax.set_aspect("equal")
    figure.suptitle("Mode collapse on 2-D mixtures (seed 0; red x: true modes)")
    return save_figure(figure, path)
