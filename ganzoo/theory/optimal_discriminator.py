"""Experiment 1 — the optimal discriminator (Goodfellow et al. 2014, Prop. 1 and Thm. 1).

For a fixed generator, the discriminator that maximises the value function
``V(D, G) = E_data[log D(x)] + E_g[log(1 - D(x))]`` is

    D*(x) = p_data(x) / (p_data(x) + p_g(x)),

and at that optimum ``C(G) = max_D V(D, G) = -log 4 + 2 JSD(p_data || p_g)``.

We train the library's ``MLPDiscriminator`` with the library's ``minimax_d_loss`` (which
is exactly ``-V``) on samples of two 1-D densities, then compare

* the learned ``D(x) = sigmoid(logit)`` with ``D*`` on a grid, weighting the error by the
  mixture ``(p_data + p_g)/2`` (where D* is undefined the densities are both ~0 and the
  error there is irrelevant);
* the value reached, ``-minimax_d_loss`` on fresh samples, with ``C(G)`` computed by
  quadrature, and ``V(D*, G)`` by quadrature (which checks the identity itself).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ganzoo.losses import minimax_d_loss
from ganzoo.nn.mlp import MLPDiscriminator
from ganzoo.theory import common as lab  # the 1-D toolkit these experiments share

NAME = "optimal-discriminator"
GRID = np.linspace(-12.0, 12.0, 24001)


@dataclass(frozen=True)
class Pair:
    """One (p_data, p_g) pair the discriminator is trained on."""

    label: str
    data: lab.GaussianMixture1D
    generator: lab.GaussianMixture1D


PAIRS = (
    Pair("p_g = p_data", lab.GaussianMixture1D((-1.5, 1.5), (0.6, 0.6)), lab.GaussianMixture1D((-1.5, 1.5), (0.6, 0.6))),
    Pair("shifted", lab.GaussianMixture1D.gaussian(0.0, 1.0), lab.GaussianMixture1D.gaussian(1.5, 1.0)),
    Pair("bimodal vs wide", lab.GaussianMixture1D((-1.5, 1.5), (0.6, 0.6)), lab.GaussianMixture1D.gaussian(0.0, 1.5)),
)


def optimal_discriminator(p_data: np.ndarray, p_g: np.ndarray) -> np.ndarray:
    """D*(x) = p_data / (p_data + p_g); 1/2 where both densities underflow to 0."""
    total = p_data + p_g
    return np.divide(p_data, total, out=np.full_like(total, 0.5), where=total > 0)


def value_at(d: np.ndarray, p_data: np.ndarray, p_g: np.ndarray, grid: np.ndarray = GRID) -> float:
    """V(D, G) by quadrature for a discriminator given by its values ``d`` on the grid."""
    d = np.clip(d, 1e-300, 1.0 - 1e-16)
    return lab.integrate(p_data * np.log(d), grid) + lab.integrate(p_g * np.log1p(-d), grid)


def virtual_training_criterion(p_data: np.ndarray, p_g: np.ndarray, grid: np.ndarray = GRID) -> float:
    """C(G) = -log 4 + 2 JSD(p_data || p_g)."""
    return -math.log(4.0) + 2.0 * lab.jensen_shannon(p_data, p_g, grid)


def train_discriminator(
    pair: Pair, steps: int, batch_size: int, seed: int, eval_samples: int = 200_000
) -> tuple[MLPDiscriminator, float]:
    """Adam on ``minimax_d_loss``; returns D and its value ``-loss`` on fresh samples."""
    with lab.seeded(seed) as rng:
        discriminator = MLPDiscriminator(in_dim=1, hidden_dim=64, n_layers=2)
        optimizer = torch.optim.Adam(discriminator.parameters(), lr=2e-3)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
        for _ in range(steps):
            real, fake = pair.data.sample(batch_size, rng), pair.generator.sample(batch_size, rng)
            loss = minimax_d_loss(discriminator(real), discriminator(fake))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        with torch.no_grad():
            n = eval_samples
            value = -minimax_d_loss(discriminator(pair.data.sample(n, rng)), discriminator(pair.generator.sample(n, rng)))
    return discriminator, value.item()


@lab.single_threaded_run
def run(plot: str | None = None, quick: bool = False, seed: int = 0) -> lab.ExperimentResult:
    steps, batch_size, eval_samples = (300, 256, 20_000) if quick else (3000, 1024, 200_000)
    grid_tensor = torch.as_tensor(GRID, dtype=torch.float32).unsqueeze(1)
    rows, numbers, curves = [], {}, []
    for index, pair in enumerate(PAIRS):
        p_data, p_g = pair.data.pdf(GRID), pair.generator.pdf(GRID)
        d_star = optimal_discriminator(p_data, p_g)
        discriminator, trained_value = train_discriminator(pair, steps, batch_size, seed + index, eval_samples)
        with torch.no_grad():
            d_learned = torch.sigmoid(discriminator(grid_tensor)).double().numpy()
        mixture = 0.5 * (p_data + p_g)
        mean_abs_error = lab.integrate(mixture * np.abs(d_learned - d_star), GRID)
        jsd = lab.jensen_shannon(p_data, p_g, GRID)
        criterion = virtual_training_criterion(p_data, p_g, GRID)
        value_of_optimum = value_at(d_star, p_data, p_g, GRID)
        rows.append([pair.label, pair.data.describe(), pair.generator.describe(), mean_abs_error,
                     trained_value, value_of_optimum, criterion, jsd])
        key = pair.label.replace(" ", "_").replace("=", "eq")
        numbers.update({
            f"{key}/d_mean_abs_error": mean_abs_error,
            f"{key}/trained_value": trained_value,
            f"{key}/value_of_d_star": value_of_optimum,
            f"{key}/c_of_g": criterion,
            f"{key}/jsd": jsd,
        })
        curves.append((pair, p_data, p_g, d_star, d_learned))
    table = lab.markdown_table(
        ["pair", "p_data", "p_g", "E_m[abs(D - D*)]", "V(D_trained) (samples)", "V(D*) (quadrature)",
         "C(G) = -log4 + 2 JSD", "JSD"],
        rows, digits=5,
    )
    figure_path = _plot(curves, plot) if plot else None
    return lab.ExperimentResult(NAME, table, numbers, figure_path)


def _plot(curves: list, path: str) -> str:
    figure, axes = lab.new_figure(1, len(curves), size=(4.2, 3.2))
    for ax, (pair, p_data, p_g, d_star, d_learned) in zip(axes[0], curves):
        visible = (GRID > -5) & (GRID < 6)
        x = GRID[visible]
        ax.fill_between(x, p_data[visible], alpha=0.25, color="tab:blue", label="p_data")
        ax.fill_between(x, p_g[visible], alpha=0.25, color="tab:orange", label="p_g")
        ax.plot(x, d_star[visible], color="black", lw=2, label="D* = p_data/(p_data+p_g)")
        ax.plot(x, d_learned[visible], color="tab:red", lw=1.5, ls="--", label="trained D")
        ax.set_ylim(0, 1.05)
        ax.set_title(pair.label)
        ax.set_xlabel("x")
    axes[0][0].legend(fontsize=7, loc="upper left")
    figure.suptitle("Optimal discriminator: trained D vs D*(x)")
    return lab.save_figure(figure, path)
