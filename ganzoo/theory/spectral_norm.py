"""Experiment 7 — spectral normalisation (Miyato et al. 2018).

1. **Power iteration finds the top singular value.** Starting from a random vector,
   u <- W v / |W v|, v <- W^T u / |W^T u| gives sigma~ = u^T W v, a lower bound on
   sigma_1(W). Since sigma~ = |W v_k| is the square root of a Rayleigh quotient of W^T W,
   whose power iteration converges at (sigma_2^2 / sigma_1^2)^k per vector and squares that
   for the quotient, the relative error shrinks like (sigma_2 / sigma_1)^(4k). We compare it with the SVD
   for a random Gaussian layer and for a matrix with a known spectral gap, and check
   torch's parametrisation (the one ``MLPDiscriminator(spectral_norm=True)`` uses: 15
   iterations at registration, then one per training forward) against the SVD too.
2. **It bounds the Lipschitz constant.** With 1-Lipschitz activations (leaky ReLU),
   Lip(D) <= prod_l sigma_1(W_l). After spectral norm every factor is ~1, so every input
   gradient |grad_x D(x)| and every difference quotient |D(x) - D(y)| / |x - y| must stay
   below ~1. We train a spectrally normalised discriminator (and a plain one for contrast)
   on a 2-D task, then measure gradient norms at many points.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

from ganzoo.data.toy import RING_STD, ring_means, sample_mixture
from ganzoo.losses import minimax_d_loss
from ganzoo.nn.layers import raw_weight_matrix, spectral_norm_estimate, spectrally_normalized_layers
from ganzoo.nn.mlp import MLPDiscriminator
from ganzoo.regularizers import gradient_norm_squared
from ganzoo.theory.common import ExperimentResult, markdown_table, new_figure, save_figure, seeded, single_threaded_run

NAME = "spectral-norm"
ITERATIONS = (1, 2, 5, 10, 20, 50, 100)


def power_iteration(weight: Tensor, iterations: int, generator: torch.Generator) -> list[float]:
    """sigma~ after each of ``iterations`` steps from a random start (Miyato et al. 2018, Alg. 1)."""
    u = torch.randn(weight.shape[0], generator=generator, dtype=weight.dtype)
    u = u / u.norm()
    estimates = []
    for _ in range(iterations):
        v = weight.T @ u
        v = v / v.norm()
        u = weight @ v
        u = u / u.norm()
        estimates.append(float(u @ weight @ v))
    return estimates


def matrix_with_gap(rows: int, cols: int, ratio: float, generator: torch.Generator) -> Tensor:
    """A random matrix with singular values 2, 2 * ratio, then decreasing below that."""
    q1, _ = torch.linalg.qr(torch.randn(rows, rows, generator=generator, dtype=torch.float64))
    q2, _ = torch.linalg.qr(torch.randn(cols, cols, generator=generator, dtype=torch.float64))
    k = min(rows, cols)
    singular = 2.0 * ratio * torch.linspace(1.0, 0.1, k, dtype=torch.float64)
    singular[0] = 2.0
    return q1[:, :k] @ torch.diag(singular) @ q2[:, :k].T


def power_iteration_table(generator: torch.Generator) -> tuple[str, dict[str, float], dict[str, list[float]]]:
    matrices = {
        "Gaussian 64x32": torch.randn(64, 32, generator=generator, dtype=torch.float64) / math.sqrt(32),
        "gap sigma2/sigma1 = 0.5": matrix_with_gap(64, 32, 0.5, generator),
    }
    rows, numbers, curves = [], {}, {}
    for label, weight in matrices.items():
        singular = torch.linalg.svdvals(weight)
        sigma, ratio = singular[0].item(), (singular[1] / singular[0]).item()
        estimates = power_iteration(weight, max(ITERATIONS), generator)
        errors = [(sigma - e) / sigma for e in estimates]
        curves[label] = errors
        rows.append([label, sigma, ratio] + [errors[k - 1] for k in ITERATIONS])
        numbers[f"{label}/sigma"] = sigma
        numbers[f"{label}/ratio"] = ratio
        numbers[f"{label}/max_overshoot"] = max(e - sigma for e in estimates)  # must be <= 0 (+ rounding)
        for k in ITERATIONS:
            numbers[f"{label}/relative_error@{k}"] = errors[k - 1]
    table = markdown_table(["matrix", "sigma_1 (SVD)", "sigma_2/sigma_1"] + [f"rel. error @{k}" for k in ITERATIONS],
                           rows)
    return table, numbers, curves


def _task_batch(n: int, rng: torch.Generator) -> tuple[Tensor, Tensor]:
    """Ring data (scaled to radius 2) vs. a broad Gaussian: a 2-D task with sharp structure."""
    real = 2.0 * sample_mixture(ring_means(), RING_STD * 5, n, rng)[0]
    fake = 1.5 * torch.randn(n, 2, generator=rng)
    return real, fake


LEARNING_RATE = 2e-4  # SN-GAN's (Miyato et al. 2018), with betas (0.5, 0.999)
EXTRA_ITERATIONS = 200


def train_discriminator(spectral: bool, steps: int, seed: int) -> MLPDiscriminator:
    """Adam on ``minimax_d_loss``; returned in train mode (one power iteration per forward)."""
    with seeded(seed) as rng:
        discriminator = MLPDiscriminator(in_dim=2, hidden_dim=64, n_layers=3, spectral_norm=spectral)
        optimizer = torch.optim.Adam(discriminator.parameters(), lr=LEARNING_RATE, betas=(0.5, 0.999))
        for _ in range(steps):
            real, fake = _task_batch(256, rng)
            loss = minimax_d_loss(discriminator(real), discriminator(fake))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return discriminator


@torch.no_grad()
def finish_power_iteration(network: MLPDiscriminator, forwards: int = EXTRA_ITERATIONS) -> None:
    """Run ``forwards`` more training-mode forwards (one power iteration each, weights
    unchanged), so that sigma~ is converged before we measure the Lipschitz bound."""
    network.train()
    probe = torch.zeros(1, network.input_shape[0])
    for _ in range(forwards):
        network(probe)


def _linear_layers(network: nn.Module) -> list[nn.Linear]:
    return [m for m in network.modules() if isinstance(m, nn.Linear)]


def _effective_sigma(layer: nn.Linear) -> float:
    """sigma_1 of the weight the layer actually applies (W / sigma~ under spectral norm)."""
    with torch.no_grad():
        return torch.linalg.svdvals(layer.weight.detach().double())[0].item()


def lipschitz_measurements(network: MLPDiscriminator, seed: int, n_points: int) -> dict[str, float]:
    with seeded(seed) as rng:
        points = 4.0 * (2.0 * torch.rand(n_points, 2, generator=rng) - 1.0)     # the box [-4, 4]^2
        near_data, _ = _task_batch(n_points // 2, rng)
        x = torch.cat([points, near_data])
        gradient_norms = gradient_norm_squared(network, x).sqrt().detach()
        y = x + 0.05 * torch.randn(x.shape, generator=rng)
        with torch.no_grad():
            quotients = (network(x) - network(y)).abs() / (x - y).norm(dim=1)
    sigmas = [_effective_sigma(layer) for layer in _linear_layers(network)]
    return {
        "layer_sigmas": sigmas,
        "lipschitz_bound": float(np.prod(sigmas)),
        "max_gradient_norm": gradient_norms.max().item(),
        "mean_gradient_norm": gradient_norms.mean().item(),
        "max_difference_quotient": quotients.max().item(),
    }


def torch_parametrization_check(network: MLPDiscriminator) -> float:
    """Largest relative gap between torch's running estimate sigma~ and the SVD's sigma_1(W)
    over the network's spectrally normalised layers."""
    gaps = []
    for _, layer in spectrally_normalized_layers(network):
        sigma = torch.linalg.svdvals(raw_weight_matrix(layer).double())[0].item()
        gaps.append(abs(spectral_norm_estimate(layer) - sigma) / sigma)
    return max(gaps)


@single_threaded_run
def run(plot: str | None = None, quick: bool = False, seed: int = 0) -> ExperimentResult:
    steps, n_points = (100, 4000) if quick else (2000, 50_000)
    with seeded(seed) as rng:
        power_table, numbers, curves = power_iteration_table(rng)
    rows, measured = [], {}
    for spectral in (True, False):
        network = train_discriminator(spectral, steps, seed)
        tracking_gap = converged_gap = float("nan")
        if spectral:
            tracking_gap = torch_parametrization_check(network)   # one iteration per training step
            finish_power_iteration(network)
            converged_gap = torch_parametrization_check(network)
        network.eval()  # eval: u, v frozen, so measuring does not move the estimate
        result = lipschitz_measurements(network, seed + 1, n_points)
        label = "spectral norm" if spectral else "no normalisation"
        measured[label] = result
        rows.append([label, ", ".join(f"{s:.4f}" for s in result["layer_sigmas"]), result["lipschitz_bound"],
                     result["max_gradient_norm"], result["mean_gradient_norm"], result["max_difference_quotient"],
                     "-" if math.isnan(tracking_gap) else tracking_gap,
                     "-" if math.isnan(converged_gap) else converged_gap])
        key = "sn" if spectral else "plain"
        for name in ("lipschitz_bound", "max_gradient_norm", "mean_gradient_norm", "max_difference_quotient"):
            numbers[f"{key}/{name}"] = result[name]
        numbers[f"{key}/max_layer_sigma"] = max(result["layer_sigmas"])
        if spectral:
            numbers["sn/torch_estimate_vs_svd_during_training"] = tracking_gap
            numbers["sn/torch_estimate_vs_svd_converged"] = converged_gap
    lipschitz_table = markdown_table(
        ["discriminator", "sigma_1 of each layer's applied weight", "bound prod sigma_1", "max norm of grad_x D",
         "mean norm of grad_x D", "max difference quotient", "torch sigma~ vs SVD, end of training (rel.)",
         f"same after {EXTRA_ITERATIONS} more iterations"],
        rows,
    )
    text = "\n\n".join([
        "**Power iteration vs SVD** (relative error (sigma_1 - sigma~)/sigma_1 after k iterations from a random "
        "start; never negative: sigma~ is a lower bound)",
        power_table,
        f"**Lipschitz bound**: MLPDiscriminator 3 x 64, leaky ReLU 0.2, trained {steps} steps (Adam {LEARNING_RATE:g}, "
        f"one power iteration per step) on ring vs Gaussian, then {EXTRA_ITERATIONS} more power iterations; "
        f"gradient norms at {n_points} points in [-4, 4]^2 plus {n_points // 2} near the data; difference quotient "
        "abs(D(x) - D(y)) / norm(x - y) for y = x + N(0, 0.05^2)",
        lipschitz_table,
    ])
    figure = _plot(curves, measured, plot) if plot else None
    return ExperimentResult(NAME, text, numbers, figure)


def _plot(curves: dict[str, list[float]], measured: dict[str, dict], path: str) -> str:
    figure, axes = new_figure(1, 2, size=(4.6, 3.6))
    left, right = axes[0]
    for label, errors in curves.items():
        k = np.arange(1, len(errors) + 1)
        left.plot(k, np.maximum(errors, 1e-16), label=label)
    left.set_yscale("log")
    left.set_xlabel("power iterations k")
    left.set_ylabel("relative error of sigma~")
    left.set_title("power iteration vs SVD")
    left.legend(fontsize=7)
    labels = list(measured)
    positions = np.arange(len(labels))
    right.bar(positions - 0.2, [measured[l]["lipschitz_bound"] for l in labels], width=0.4, label="prod sigma_1 (bound)")
    right.bar(positions + 0.2, [measured[l]["max_gradient_norm"] for l in labels], width=0.4,
              label="max norm of grad_x D")
    right.axhline(1.0, color="black", lw=0.8, ls=":")
    right.set_xticks(positions, labels)
    right.set_yscale("log")
    right.set_title("Lipschitz bound vs measured gradients")
    right.legend(fontsize=7)
    return save_figure(figure, path)
