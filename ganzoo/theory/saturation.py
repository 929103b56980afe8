"""Experiment 2 — saturation and vanishing gradients with disjoint supports
(Arjovsky & Bottou 2017, "Towards principled methods for training GANs").

Three claims, each measured:

1. **JSD saturates.** For p_data = N(0, 1) and p_g = N(mu, 1), JSD(p_data || p_g) climbs to
   log 2 as the supports separate, and its derivative in mu — which is what the minimax
   generator follows at the optimal discriminator, dC/dmu = 2 dJSD/dmu — goes to 0;
   W1 = |mu| keeps a slope of 1. Instance noise (adding N(0, s^2) to both sides) makes
   the densities N(0, 1 + s^2) and N(mu, 1 + s^2) and restores a usable slope.
   (quadrature, no training)
2. **The minimax generator gradient vanishes as D improves.** With the generator
   G_theta(z) = z + theta fixed at theta = 6, we train D (the library's MLP and
   ``minimax_d_loss``) and, at checkpoints, measure the generator's gradient
   d/dtheta of ``minimax_g_loss`` (log(1 - D(G(z)))) and of ``nonsaturating_g_loss``
   (-log D(G(z))). The first falls to its optimal-D value dC/dtheta = 0.0125 (quadrature),
   the second grows towards its optimal-D value ~6. A WGAN-GP critic
   (``wasserstein_d_loss`` + ``gradient_penalty``) yields a generator gradient near
   dW1/dtheta = 1 (exactly: 1 + W1/(2 lambda) = 1.3 for the soft penalty), and instance
   noise (``InstanceNoise``) keeps the minimax gradient six times larger.
3. **Low-dimensional manifolds.** In 2-D, data on the segment {(t, 0)} and fakes on the
   parallel segment {(t, delta)} with delta = 0.3: the supports are disjoint for every
   delta != 0, so JSD = log 2 however close they are. The trained D's JSD lower bound
   (V + log 4)/2 approaches log 2, the minimax gradient in delta vanishes, while the WGAN-GP
   gradient stays near dW1/ddelta = 1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from scipy.special import expit
from torch import Tensor

from ganzoo.losses import minimax_d_loss, minimax_g_loss, nonsaturating_g_loss, wasserstein_d_loss, wasserstein_g_loss
from ganzoo.nn.mlp import MLPDiscriminator
from ganzoo.regularizers import InstanceNoise, gradient_penalty
from ganzoo.theory import common as lab  # the 1-D toolkit these experiments share

NAME = "saturation"
GRID = np.linspace(-20.0, 30.0, 50001)
LOG2 = math.log(2.0)
SHIFTS = (0.0, 1.0, 2.0, 4.0, 6.0, 8.0)
NOISE_STD = 1.0            # instance noise for the 1-D Gaussians
GENERATOR_SHIFT = 6.0      # theta in G(z) = z + theta
MANIFOLD_GAP = 0.3         # delta between the two parallel segments
MANIFOLD_NOISE_STD = 0.1   # instance noise for the segments
GP_WEIGHT = 10.0           # lambda of WGAN-GP (Gulrajani et al. 2017)


# --------------------------------------------------------------------------- 1. quadrature


def jsd_gaussians(shift: float, variance: float = 1.0) -> float:
    """JSD(N(0, v) || N(shift, v)) by quadrature."""
    std = math.sqrt(variance)
    p = lab.GaussianMixture1D.gaussian(0.0, std).pdf(GRID)
    q = lab.GaussianMixture1D.gaussian(shift, std).pdf(GRID)
    return lab.jensen_shannon(p, q, GRID)


def criterion_slope(shift: float, variance: float = 1.0, h: float = 1e-3) -> float:
    """dC/dmu = 2 dJSD/dmu by central differences: the generator's gradient at the optimal D."""
    return (jsd_gaussians(shift + h, variance) - jsd_gaussians(shift - h, variance)) / h


@dataclass(frozen=True)
class OptimalCriticGradients:
    """What the generator G(z) = z + mu sees when D is exactly D* (quadrature)."""

    d_fake_mean: float        # E_g[D*(x)]
    minimax: float            # |d/dmu E_z[log(1 - D*(z + mu))]|, D* held fixed
    nonsaturating: float      # |d/dmu E_z[-log D*(z + mu)]|, D* held fixed


def optimal_critic_gradients(shift: float, variance: float = 1.0) -> OptimalCriticGradients:
    """Generator gradients against the fixed optimal discriminator, by quadrature.

    With x = z + mu and D* fixed, d/dmu E[l(x)] = E_g[l'(x)]. For the minimax loss
    l = log(1 - D*) = -softplus(logit*) this must equal dC/dmu (D*'s own dependence on mu
    drops out at the optimum, an envelope argument) — the tests check that it does.
    """
    std = math.sqrt(variance)
    data, fake = lab.GaussianMixture1D.gaussian(0.0, std), lab.GaussianMixture1D.gaussian(shift, std)
    logit = data.log_pdf(GRID) - fake.log_pdf(GRID)        # log D*/(1 - D*)
    logit_slope = np.gradient(logit, GRID)
    p_g = fake.pdf(GRID)
    d_star = expit(logit)
    minimax = lab.integrate(p_g * (-d_star * logit_slope), GRID)              # d/dx[-softplus(logit)]
    nonsaturating = lab.integrate(p_g * (-(1.0 - d_star) * logit_slope), GRID)  # d/dx[softplus(-logit)]
    return OptimalCriticGradients(lab.integrate(p_g * d_star, GRID), abs(minimax), abs(nonsaturating))


def divergence_table() -> tuple[str, dict[str, float]]:
    rows, numbers = [], {}
    noisy_variance = 1.0 + NOISE_STD**2
    for mu in SHIFTS:
        jsd, slope = jsd_gaussians(mu), criterion_slope(mu)
        jsd_noise, slope_noise = jsd_gaussians(mu, noisy_variance), criterion_slope(mu, noisy_variance)
        rows.append([mu, jsd, LOG2 - jsd, slope, abs(mu), 1.0, jsd_noise, slope_noise])
        numbers.update({f"jsd/mu={mu:g}": jsd, f"dC_dmu/mu={mu:g}": slope,
                        f"jsd_noise/mu={mu:g}": jsd_noise, f"dC_dmu_noise/mu={mu:g}": slope_noise})
    table = lab.markdown_table(
        ["mu", "JSD", "log2 - JSD", "dC/dmu = 2 dJSD/dmu", "W1", "dW1/dmu",
         f"JSD, noise s={NOISE_STD:g}", f"dC/dmu, noise s={NOISE_STD:g}"],
        rows,
    )
    return table, numbers


# --------------------------------------------------------------------------- 2./3. trained discriminators


@dataclass(frozen=True)
class Setup:
    """Real data, and a generator with one scalar parameter whose gradient we measure."""

    label: str
    in_dim: int
    parameter_value: float
    sample_real: Callable[[int, torch.Generator], Tensor]
    generate: Callable[[Tensor, int, torch.Generator], Tensor]  # (parameter, n, rng) -> fakes
    noise_std: float
    true_jsd: float


def _real_gaussian(n: int, rng: torch.Generator) -> Tensor:
    return torch.randn(n, 1, generator=rng)


def _shifted_gaussian(theta: Tensor, n: int, rng: torch.Generator) -> Tensor:
    return torch.randn(n, 1, generator=rng) + theta


def _segment(n: int, rng: torch.Generator) -> Tensor:
    t = 2.0 * torch.rand(n, generator=rng) - 1.0
    return torch.stack([t, torch.zeros_like(t)], dim=1)


def _offset_segment(delta: Tensor, n: int, rng: torch.Generator) -> Tensor:
    t = 2.0 * torch.rand(n, generator=rng) - 1.0
    return torch.stack([t, delta.expand(n)], dim=1)


def _setups() -> tuple[Setup, Setup]:
    gaussians = Setup("1-D: N(0,1) vs N(6,1)", 1, GENERATOR_SHIFT, _real_gaussian, _shifted_gaussian,
                      NOISE_STD, jsd_gaussians(GENERATOR_SHIFT))
    # Parallel segments: disjoint supports, so JSD is exactly log 2 for any delta != 0.
    segments = Setup(f"2-D: segments at gap {MANIFOLD_GAP:g}", 2, MANIFOLD_GAP, _segment, _offset_segment,
                     MANIFOLD_NOISE_STD, LOG2)
    return gaussians, segments


@dataclass
class Checkpoint:
    step: int
    d_fake_mean: float          # mean sigmoid(D(G(z))) (GAN) — how confidently D rejects fakes
    jsd_lower_bound: float      # (V(D, G) + log 4) / 2 <= JSD (GAN)
    grad_minimax: float
    grad_nonsaturating: float
    grad_minimax_noise: float   # minimax G gradient against a D trained with instance noise
    grad_wgan_gp: float


def _generator_gradient(
    setup: Setup, critic: MLPDiscriminator, g_loss: Callable[[Tensor], Tensor], rng: torch.Generator,
    noise: InstanceNoise | None = None, n: int = 10_000,
) -> float:
    """|d g_loss(D(G_theta(z))) / d theta| at the setup's theta, D frozen."""
    theta = torch.tensor(setup.parameter_value, requires_grad=True)
    fakes = setup.generate(theta, n, rng)
    if noise is not None:
        fakes = noise(fakes, 0)
    (gradient,) = torch.autograd.grad(g_loss(critic(fakes)), theta)
    return abs(gradient.item())


def _train_step(kind: str, critic, optimizer, setup: Setup, rng, batch: int, noise: InstanceNoise | None) -> None:
    real = setup.sample_real(batch, rng)
    fake = setup.generate(torch.tensor(setup.parameter_value), batch, rng)
    if noise is not None:
        real, fake = noise(real, 0), noise(fake, 0)
    if kind == "wgan-gp":
        loss = wasserstein_d_loss(critic(real), critic(fake)) + GP_WEIGHT * gradient_penalty(critic, real, fake)
    else:
        loss = minimax_d_loss(critic(real), critic(fake))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def _train_with_checkpoints(
    kind: str, setup: Setup, checkpoints: tuple[int, ...], seed: int, batch: int, measure: Callable
) -> list:
    """Train one critic (``kind`` in gan / gan-noise / wgan-gp), calling ``measure`` at each checkpoint."""
    noise = InstanceNoise(setup.noise_std, schedule="constant") if kind == "gan-noise" else None
    results = []
    with lab.seeded(seed) as rng:
        critic = MLPDiscriminator(in_dim=setup.in_dim, hidden_dim=64, n_layers=2)
        betas = (0.5, 0.9) if kind == "wgan-gp" else (0.9, 0.999)
        optimizer = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=betas)
        step = 0
        for target in checkpoints:
            while step < target:
                _train_step(kind, critic, optimizer, setup, rng, batch, noise)
                step += 1
            results.append(measure(critic, rng, noise))
    return results


def gradient_table(setup: Setup, checkpoints: tuple[int, ...], seed: int, batch: int, n: int) -> list[Checkpoint]:
    """Train the three critics, measuring the generator's gradients on ``n`` samples at each checkpoint."""

    def measure_gan(critic, rng, noise):
        with torch.no_grad():
            real = setup.sample_real(n, rng)
            fake = setup.generate(torch.tensor(setup.parameter_value), n, rng)
            d_real, d_fake = critic(real), critic(fake)
            value = -minimax_d_loss(d_real, d_fake).item()
            d_fake_mean = torch.sigmoid(d_fake).mean().item()
        return (d_fake_mean, (value + math.log(4.0)) / 2.0,
                _generator_gradient(setup, critic, minimax_g_loss, rng, n=n),
                _generator_gradient(setup, critic, nonsaturating_g_loss, rng, n=n))

    def measure_noise(critic, rng, noise):
        return _generator_gradient(setup, critic, minimax_g_loss, rng, noise, n=n)

    def measure_wgan(critic, rng, noise):
        return _generator_gradient(setup, critic, wasserstein_g_loss, rng, n=n)

    gan = _train_with_checkpoints("gan", setup, checkpoints, seed, batch, measure_gan)
    gan_noise = _train_with_checkpoints("gan-noise", setup, checkpoints, seed, batch, measure_noise)
    wgan = _train_with_checkpoints("wgan-gp", setup, checkpoints, seed, batch, measure_wgan)
    return [Checkpoint(step, *g, gn, w) for step, g, gn, w in zip(checkpoints, gan, gan_noise, wgan)]


# --------------------------------------------------------------------------- run


def optimal_row(setup: Setup) -> list:
    """The same columns at the optimal critic (quadrature; closed form for WGAN-GP).

    WGAN-GP's penalty is soft: a critic of slope s along the transport direction earns
    s * W1 - lambda (s - 1)^2, maximised at s = 1 + W1 / (2 lambda), which is the generator
    gradient it then delivers (1.3 for W1 = 6, lambda = 10)."""
    w1 = setup.parameter_value
    wgan_gp = 1.0 + w1 / (2.0 * GP_WEIGHT)
    if setup.in_dim == 1:
        clean = optimal_critic_gradients(w1)
        noisy = optimal_critic_gradients(w1, 1.0 + setup.noise_std**2)
        return ["optimal D", clean.d_fake_mean, setup.true_jsd, clean.minimax, clean.nonsaturating, noisy.minimax, wgan_gp]
    # Disjoint segments: D* is 1 on the data and 0 on the fakes, with a jump in between, so
    # the minimax gradient is 0 and the non-saturating one is unbounded. With noise only the
    # y coordinate differs: N(0, s^2) vs N(delta, s^2).
    noisy = optimal_critic_gradients(w1, setup.noise_std**2)
    return ["optimal D", 0.0, LOG2, 0.0, "unbounded", noisy.minimax, wgan_gp]


@lab.single_threaded_run
def run(plot: str | None = None, quick: bool = False, seed: int = 0) -> lab.ExperimentResult:
    checkpoints = (0, 25, 200) if quick else (0, 10, 100, 1000, 4000)
    batch = 128 if quick else 512
    n_measure = 4000 if quick else 20_000
    divergences, numbers = divergence_table()
    sections = ["**JSD and W1 between N(0,1) and N(mu,1)** (quadrature; the dC/dmu columns are the gradient "
                "the minimax generator sees at the optimal discriminator)", divergences]
    traces = {}
    for index, setup in enumerate(_setups()):
        trace = gradient_table(setup, checkpoints, seed + 10 * index, batch, n_measure)
        traces[setup.label] = trace
        key = "gaussians" if setup.in_dim == 1 else "segments"
        rows = [[c.step, c.d_fake_mean, c.jsd_lower_bound, c.grad_minimax, c.grad_nonsaturating,
                 c.grad_minimax_noise, c.grad_wgan_gp] for c in trace]
        rows.append(optimal_row(setup))
        sections += [
            f"**{setup.label}**: generator gradients while D trains (true JSD = {setup.true_jsd:.4f}, "
            f"log 2 = {LOG2:.4f}; W1 = {setup.parameter_value:g}; instance noise s = {setup.noise_std:g}; "
            f"WGAN-GP lambda = {GP_WEIGHT:g})",
            lab.markdown_table(["D steps", "mean D(G(z))", "(V + log4)/2", "grad minimax", "grad non-saturating",
                            f"grad minimax, noise s={setup.noise_std:g}", "grad WGAN-GP"], rows),
        ]
        first, last = trace[1], trace[-1]
        numbers.update({
            f"{key}/grad_minimax_early": first.grad_minimax,
            f"{key}/grad_minimax_final": last.grad_minimax,
            f"{key}/grad_nonsaturating_final": last.grad_nonsaturating,
            f"{key}/grad_minimax_noise_final": last.grad_minimax_noise,
            f"{key}/grad_wgan_gp_final": last.grad_wgan_gp,
            f"{key}/grad_wgan_gp_optimal": 1.0 + setup.parameter_value / (2.0 * GP_WEIGHT),
            f"{key}/jsd_lower_bound_final": last.jsd_lower_bound,
            f"{key}/d_fake_mean_final": last.d_fake_mean,
            f"{key}/true_jsd": setup.true_jsd,
        })
    optimal = optimal_critic_gradients(GENERATOR_SHIFT)
    numbers["optimal_d/grad_minimax"] = optimal.minimax
    numbers["optimal_d/grad_nonsaturating"] = optimal.nonsaturating
    numbers["optimal_d/grad_minimax_noise"] = optimal_critic_gradients(GENERATOR_SHIFT, 1.0 + NOISE_STD**2).minimax
    optimal_rows = {setup.label: optimal_row(setup) for setup in _setups()}
    figure = _plot(traces, optimal_rows, plot) if plot else None
    return lab.ExperimentResult(NAME, "\n\n".join(sections), numbers, figure)


def _plot(traces: dict[str, list[Checkpoint]], optimal_rows: dict[str, list], path: str) -> str:
    figure, axes = lab.new_figure(1, 3, size=(4.3, 3.4))
    mus = np.linspace(0, 8, 81)
    ax = axes[0][0]
    ax.plot(mus, [jsd_gaussians(m) for m in mus], label="JSD")
    ax.plot(mus, [jsd_gaussians(m, 1 + NOISE_STD**2) for m in mus], label=f"JSD with noise s={NOISE_STD:g}")
    ax.plot(mus, [criterion_slope(m) for m in mus], ls="--", label="dC/dmu")
    ax.plot(mus, [criterion_slope(m, 1 + NOISE_STD**2) for m in mus], ls="--", label="dC/dmu with noise")
    ax.axhline(LOG2, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("mu (p_g = N(mu, 1))")
    ax.set_title("JSD saturates at log 2")
    ax.legend(fontsize=7)
    for ax, (label, trace) in zip(axes[0][1:], traces.items()):
        steps = [max(c.step, 1) for c in trace]
        columns = (("grad_minimax", "minimax log(1-D)", 3), ("grad_nonsaturating", "non-saturating -log D", 4),
                   ("grad_minimax_noise", "minimax + instance noise", 5), ("grad_wgan_gp", "WGAN-GP critic", 6))
        for (attribute, name, column), color in zip(columns, ("tab:blue", "tab:orange", "tab:green", "tab:red")):
            ax.plot(steps, [max(getattr(c, attribute), 1e-12) for c in trace], marker="o", color=color, label=name)
            optimum = optimal_rows[label][column]
            if isinstance(optimum, float) and optimum > 0:
                ax.axhline(optimum, color=color, ls=":", lw=1)  # the optimal critic's value
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("discriminator steps (0 plotted at 1)")
        ax.set_ylabel("|generator gradient|")
        ax.set_title(f"{label}\n(dotted: against the optimal critic)", fontsize=9)
        ax.legend(fontsize=7)
    return lab.save_figure(figure, path)
