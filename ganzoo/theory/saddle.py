"""Experiment 4 — saddle dynamics on the bilinear game L(u, v) = v^T K u
(Yadav et al. 2018, Sec. 2 and 5).

u minimises, v maximises; the only saddle is (0, 0) when K has full rank. In the basis of
K's singular vectors the game splits into independent 2-D games v_i s_i u_i, and one step
of each scheme (step sizes a = b) is a 2x2 linear map whose eigenvalues have modulus

* simultaneous gradient descent:  sqrt(1 + a b s^2)  > 1   -> spirals out
* alternating gradient descent:   1 (for a b s^2 < 4)      -> orbits forever
* alternating + prediction step:  sqrt(1 - a b s^2)  < 1   -> converges

We run each scheme with real torch optimizers (``torch.optim.SGD``, and ``Adam`` for
comparison) — the prediction runs through :class:`ganzoo.theory.prediction.PredictionStep`,
the same wrapper a GAN loop would use — and compare the measured per-step contraction
with the slowest closed-form modulus.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ganzoo.theory.common import ExperimentResult, markdown_table, new_figure, save_figure, seeded, single_threaded_run
from ganzoo.theory.prediction import PredictionStep

NAME = "saddle"
DIM = 3
SINGULAR_VALUES = (1.0, 0.75, 0.5)
LEARNING_RATE = 0.5
STEPS = 400
ADAM_LEARNING_RATE = 0.01


@dataclass(frozen=True)
class Scheme:
    label: str
    optimizer: str          # "sgd" or "adam"
    simultaneous: bool
    prediction: bool


SCHEMES = (
    Scheme("simultaneous SGD", "sgd", True, False),
    Scheme("alternating SGD", "sgd", False, False),
    Scheme("alternating SGD + prediction", "sgd", False, True),
    Scheme("alternating Adam", "adam", False, False),
    Scheme("alternating Adam + prediction", "adam", False, True),
)


def bilinear_matrix(generator: torch.Generator) -> torch.Tensor:
    """K = Q1 diag(SINGULAR_VALUES) Q2^T with random orthogonal Q1, Q2 (float64)."""
    q1, _ = torch.linalg.qr(torch.randn(DIM, DIM, generator=generator, dtype=torch.float64))
    q2, _ = torch.linalg.qr(torch.randn(DIM, DIM, generator=generator, dtype=torch.float64))
    return q1 @ torch.diag(torch.tensor(SINGULAR_VALUES, dtype=torch.float64)) @ q2.T


def closed_form_modulus(scheme: Scheme, singular_value: float, lr: float = LEARNING_RATE) -> float:
    """|eigenvalue| of one step's 2x2 map for the mode with singular value s (SGD, a = b = lr)."""
    x = lr * lr * singular_value**2
    if scheme.simultaneous:
        return math.sqrt(1.0 + x)
    if scheme.prediction:
        return math.sqrt(1.0 - x)
    return 1.0 if x < 4 else float("nan")


def _make_optimizer(scheme: Scheme, parameter: nn.Parameter) -> torch.optim.Optimizer:
    if scheme.optimizer == "sgd":
        return torch.optim.SGD([parameter], lr=LEARNING_RATE)
    return torch.optim.Adam([parameter], lr=ADAM_LEARNING_RATE)


def simulate(scheme: Scheme, K: torch.Tensor, u0: torch.Tensor, v0: torch.Tensor, steps: int) -> np.ndarray:
    """Run the game; returns the trajectory (steps + 1, 2 * DIM) of (u, v)."""
    u, v = nn.Parameter(u0.clone()), nn.Parameter(v0.clone())
    u_optimizer = _make_optimizer(scheme, u)
    if scheme.prediction:
        u_optimizer = PredictionStep(u_optimizer)
    v_optimizer = _make_optimizer(scheme, v)

    def loss() -> torch.Tensor:
        return v @ (K @ u)

    trajectory = [torch.cat([u, v]).detach().clone()]
    for _ in range(steps):
        if scheme.simultaneous:
            u_optimizer.zero_grad()
            v_optimizer.zero_grad()
            value = loss()
            u_grad, v_grad = torch.autograd.grad(value, (u, v))
            u.grad, v.grad = u_grad, -v_grad           # v ascends
            u_optimizer.step()
            v_optimizer.step()
        else:
            u_optimizer.zero_grad()
            loss().backward()
            u_optimizer.step()
            v_optimizer.zero_grad()
            if scheme.prediction:
                with u_optimizer.lookahead():          # v responds to the predicted u
                    (-loss()).backward()
            else:
                (-loss()).backward()
            v_optimizer.step()
        trajectory.append(torch.cat([u, v]).detach().clone())
    return torch.stack(trajectory).numpy()


@single_threaded_run
def run(plot: str | None = None, quick: bool = False, seed: int = 0) -> ExperimentResult:
    steps = STEPS // 2 if quick else STEPS
    with seeded(seed) as rng:
        K = bilinear_matrix(rng)
        u0 = torch.randn(DIM, generator=rng, dtype=torch.float64)
        v0 = torch.randn(DIM, generator=rng, dtype=torch.float64)
    rows, numbers, trajectories = [], {}, {}
    for scheme in SCHEMES:
        trajectory = simulate(scheme, K, u0, v0, steps)
        trajectories[scheme.label] = trajectory
        norms = np.linalg.norm(trajectory, axis=1)
        ratio = norms[-1] / norms[0]
        # Fit the rate over the second half, where the slowest (SGD+prediction) or fastest
        # (simultaneous) mode dominates, so it is comparable with that mode's modulus.
        half = steps // 2
        measured_rate = (norms[-1] / norms[half]) ** (1.0 / (steps - half))
        # The mode with the largest modulus dominates late: the slowest-converging one, or
        # the fastest-growing one for simultaneous steps. No closed form for Adam.
        if scheme.optimizer == "sgd":
            slowest = max(closed_form_modulus(scheme, s) for s in SINGULAR_VALUES)
        else:
            slowest = float("nan")
        rows.append([scheme.label, norms[0], norms[-1], ratio, measured_rate,
                     "-" if math.isnan(slowest) else slowest, "yes" if ratio < 1e-2 else "no"])
        key = scheme.label.replace(" ", "_").replace("+", "plus")
        numbers[f"{key}/distance_ratio"] = float(ratio)
        numbers[f"{key}/measured_rate"] = float(measured_rate)
        numbers[f"{key}/closed_form_rate"] = slowest
        numbers[f"{key}/max_distance_ratio"] = float(norms.max() / norms[0])
    table = markdown_table(
        ["scheme", "norm of (u,v) at start", f"after {steps} steps", "ratio", "measured rate per step (2nd half)",
         "closed-form rate (dominant mode)", "converged (ratio < 1e-2)"],
        rows,
    )
    header = (f"L(u, v) = v^T K u, K {DIM}x{DIM} with singular values {SINGULAR_VALUES}; SGD lr = {LEARNING_RATE} "
              f"for both players, Adam lr = {ADAM_LEARNING_RATE}; {steps} steps.")
    figure = _plot(trajectories, K, plot) if plot else None
    return ExperimentResult(NAME, header + "\n\n" + table, numbers, figure)


def _plot(trajectories: dict[str, np.ndarray], K: torch.Tensor, path: str) -> str:
    figure, axes = new_figure(1, 2, size=(5.0, 4.0))
    left, right = axes[0]
    # Coordinates along K's top singular pair: u . v1 and v . w1 (K v1 = s1 w1).
    w, _, vh = torch.linalg.svd(K)
    top_u, top_v = vh[0].numpy(), w[:, 0].numpy()
    for label, trajectory in trajectories.items():
        norms = np.linalg.norm(trajectory, axis=1)
        left.plot(np.arange(len(norms)), norms, label=label)
        if "Adam" not in label:
            right.plot(trajectory[:, :DIM] @ top_u, trajectory[:, DIM:] @ top_v, lw=0.8, label=label)
    left.set_yscale("log")
    left.set_xlabel("step")
    left.set_ylabel("distance to the saddle |(u, v)|")
    left.legend(fontsize=7)
    right.plot([0], [0], "k*", ms=10)
    right.set_xlim(-4, 4)
    right.set_ylim(-4, 4)
    right.set_aspect("equal")
    right.set_xlabel("u along K's top right singular vector")
    right.set_ylabel("v along K's top left singular vector")
    right.set_title("trajectories (SGD)")
    figure.suptitle("Bilinear saddle L(u, v) = v^T K u")
    return save_figure(figure, path)
