"""Experiment 6 — f-GAN variational divergence estimation (Nowozin, Cseke & Tomioka 2016).

For every f-divergence in ``ganzoo.losses.F_DIVERGENCES``,

    D_f(P || Q) = E_Q[f(p/q)] >= sup_T E_P[T(x)] - E_Q[f*(T(x))],     T = g_f(V(x)),

with equality at T*(x) = f'(p(x)/q(x)). We

1. evaluate the bound at T* by quadrature (Fenchel-Young equality: it must equal D_f,
   which checks each divergence's ``f``, ``conjugate`` pair);
2. train the library's ``MLPDiscriminator`` as V by maximising
   ``fgan_variational_bound`` on samples of P = N(0, 1) and Q = N(1, 1), then evaluate
   the bound the trained V attains, both on fresh samples (what a user would report, with
   sampling noise) and exactly by quadrature (a true lower bound: it may approach D_f but
   never exceed it).

Closed forms for two unit-variance Gaussians at distance d = 1: KL = reverse KL = d^2/2,
Pearson chi^2 = e^{d^2} - 1, squared Hellinger = 2 (1 - e^{-d^2/8}); f-GAN's "js" is
2 JSD and its "gan" divergence 2 JSD - log 4 (quadrature).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ganzoo.losses import F_DIVERGENCES, fgan_d_loss, fgan_variational_bound
from ganzoo.nn.mlp import MLPDiscriminator
from ganzoo.theory import common as lab  # the 1-D toolkit these experiments share

NAME = "f-divergence"
DISTANCE = 1.0
P = lab.GaussianMixture1D.gaussian(0.0, 1.0)
Q = lab.GaussianMixture1D.gaussian(DISTANCE, 1.0)
GRID = np.linspace(-12.0, 13.0, 25001)


def closed_form(name: str) -> float | None:
    """D_f(N(0,1) || N(d,1)) where a closed form exists."""
    d2 = DISTANCE**2
    return {
        "kl": d2 / 2,
        "reverse-kl": d2 / 2,
        "pearson": math.expm1(d2),
        "hellinger": 2 * (1 - math.exp(-d2 / 8)),
    }.get(name)


def quadrature_divergence(name: str) -> float:
    """E_Q[f(p/q)] on the grid (f from the library)."""
    divergence = F_DIVERGENCES[name]
    ratio = torch.as_tensor(np.exp(P.log_pdf(GRID) - Q.log_pdf(GRID)))
    return lab.integrate(Q.pdf(GRID) * divergence.f(ratio).numpy(), GRID)


def bound_at_optimal_critic(name: str) -> float:
    """E_P[T*] - E_Q[f*(T*)] with T* = f'(p/q) (f' by autograd of the library's f)."""
    divergence = F_DIVERGENCES[name]
    ratio = torch.as_tensor(np.exp(P.log_pdf(GRID) - Q.log_pdf(GRID))).requires_grad_(True)
    (t_star,) = torch.autograd.grad(divergence.f(ratio).sum(), ratio)
    conjugate = divergence.conjugate(t_star).numpy()
    return lab.integrate(P.pdf(GRID) * t_star.numpy(), GRID) - lab.integrate(Q.pdf(GRID) * conjugate, GRID)


def bound_of_critic(name: str, critic: MLPDiscriminator) -> float:
    """E_P[g_f(V)] - E_Q[f*(g_f(V))] for a given critic V, by quadrature: the exact value of
    the bound this critic attains (no sampling noise), hence <= D_f for any V."""
    divergence = F_DIVERGENCES[name]
    with torch.no_grad():
        v = critic(torch.as_tensor(GRID, dtype=torch.float32).unsqueeze(1)).double()
        t = divergence.activation(v).numpy()
        conjugate = divergence.conjugate_at_score(v).numpy()
    return lab.integrate(P.pdf(GRID) * t, GRID) - lab.integrate(Q.pdf(GRID) * conjugate, GRID)


def train_estimate(name: str, steps: int, batch: int, seed: int,
                   eval_samples: int) -> tuple[float, float, list[float]]:
    """Maximise the variational bound with an MLP critic; returns (estimate on fresh samples,
    the trained critic's exact bound by quadrature, training curve)."""
    divergence = F_DIVERGENCES[name]
    curve = []
    with lab.seeded(seed) as rng:
        critic = MLPDiscriminator(in_dim=1, hidden_dim=64, n_layers=2)
        optimizer = torch.optim.Adam(critic.parameters(), lr=1e-3)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
        for _ in range(steps):
            loss = fgan_d_loss(critic(P.sample(batch, rng)), critic(Q.sample(batch, rng)), divergence)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            curve.append(-loss.item())
        with torch.no_grad():
            estimate = fgan_variational_bound(
                critic(P.sample(eval_samples, rng)), critic(Q.sample(eval_samples, rng)), divergence
            ).item()
    return estimate, bound_of_critic(name, critic), curve


@lab.single_threaded_run
def run(plot: str | None = None, quick: bool = False, seed: int = 0) -> lab.ExperimentResult:
    steps, batch, eval_samples = (250, 256, 30_000) if quick else (3000, 1024, 400_000)
    jsd = lab.jensen_shannon(P.pdf(GRID), Q.pdf(GRID), GRID)
    rows, numbers, curves = [], {}, {}
    for index, name in enumerate(F_DIVERGENCES):
        exact = closed_form(name)
        quadrature = quadrature_divergence(name)
        at_optimum = bound_at_optimal_critic(name)
        estimate, critic_bound, curve = train_estimate(name, steps, batch, seed + index, eval_samples)
        curves[name] = curve
        reference = exact if exact is not None else quadrature
        relative_error = (critic_bound - reference) / abs(reference)
        if name == "js":
            formula = f"2 JSD = {2 * jsd:.4f}"
        elif name == "gan":
            formula = f"2 JSD - log 4 = {2 * jsd - math.log(4):.4f}"
        else:
            formula = f"{exact:.4f}"
        rows.append([name, formula, quadrature, at_optimum, estimate, critic_bound, relative_error])
        numbers.update({
            f"{name}/true": reference,
            f"{name}/quadrature": quadrature,
            f"{name}/bound_at_optimum": at_optimum,
            f"{name}/estimate": estimate,
            f"{name}/critic_bound": critic_bound,
            f"{name}/relative_error": relative_error,
        })
    header = (f"P = N(0, 1), Q = N({DISTANCE:g}, 1); V = MLP (2 x 64, leaky ReLU), Adam 1e-3, {steps} steps of "
              f"{batch} + {batch} samples; estimate on {eval_samples} fresh samples per side.")
    table = lab.markdown_table(
        ["divergence", "closed form", "E_Q[f(p/q)] (quadrature)", "bound at T* = f'(p/q) (quadrature)",
         "trained V: estimate on samples", "trained V: exact bound (quadrature)", "relative gap of the bound"],
        rows, digits=5,
    )
    figure = _plot(curves, numbers, plot) if plot else None
    return lab.ExperimentResult(NAME, header + "\n\n" + table, numbers, figure)


def _plot(curves: dict[str, list[float]], numbers: dict[str, float], path: str) -> str:
    names = list(curves)
    n_cols = 3
    figure, axes = lab.new_figure(math.ceil(len(names) / n_cols), n_cols, size=(3.6, 2.8))
    for ax, name in zip(axes.flat, names):
        curve = np.asarray(curves[name])
        window = max(len(curve) // 50, 1)
        smooth = np.convolve(curve, np.ones(window) / window, mode="valid")
        ax.plot(curve, color="0.8", lw=0.5)
        ax.plot(np.arange(window - 1, len(curve)), smooth, color="tab:blue", label="variational bound (batch)")
        ax.axhline(numbers[f"{name}/true"], color="black", ls="--", label="true D_f")
        low, high = np.percentile(curve[len(curve) // 10:], [1, 99])
        pad = 0.3 * (high - low) + 0.05
        ax.set_ylim(low - pad, max(high, numbers[f"{name}/true"]) + pad)
        ax.set_title(name)
        ax.set_xlabel("step")
    axes.flat[0].legend(fontsize=7)
    figure.suptitle("f-GAN: variational lower bounds converge to D_f(P || Q)")
    return lab.save_figure(figure, path)
