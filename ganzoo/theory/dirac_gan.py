"""Experiment 3 — the Dirac-GAN (Mescheder, Geiger & Nowozin 2018, "Which training
methods for GANs do actually converge?", Sec. 2-3).

Data is a point mass at 0, the generator a point mass at theta, the discriminator linear,
D_psi(x) = psi * x. The unique equilibrium is (theta, psi) = (0, 0). In ganzoo's convention
(D scores real samples high) the objective D maximises is f(D(real)) + f(-D(fake)), with
f(t) = -log(1 + e^-t) for the GAN and f(t) = t for the WGAN (the paper writes it with the
opposite sign of D, f(D(fake)) + f(-D(real)): the same game with psi -> -psi, hence the same
eigenvalues). With L_D, L_G the losses each player minimises (``ganzoo.losses``), the gradient
vector field v = (-dL_G/dtheta, -dL_D/dpsi) has Jacobian at the equilibrium with eigenvalues

* unregularised (GAN, non-saturating GAN, WGAN):  +- f'(0) i   (purely imaginary)
* R1 or R2 penalty gamma/2 |grad D|^2:            -gamma/2 +- sqrt(gamma^2/4 - f'(0)^2)
* instance noise N(0, s^2) on both sides:         f''(0) s^2 +- sqrt(f''(0)^2 s^4 - f'(0)^2)
* consensus optimisation (v - gamma grad |v|^2/2): -gamma f'(0)^2 +- f'(0) i
* zero-centred gradient penalty w |grad D|^2 on interpolates (Thanh-Tung et al. 2019):
  R1's with gamma = 2w, since grad_x D_psi = psi everywhere
* the relativistic GAN (RSGAN, Jolicoeur-Martineau 2018) behaves like the unregularised GAN

with f'(0) = 1/2, f''(0) = -1/4 for the GAN and f'(0) = 1 for the WGAN; the critical
R1 weight, where the eigenvalues turn real, is gamma = 2 |f'(0)|.

Everything here goes through the library: the losses come from ``ganzoo.losses.get_loss``
and the penalties from ``ganzoo.regularizers`` applied to the callable D_psi; the vector
field is their autograd gradient, and its Jacobian (and the Jacobian of one discrete
update step) is taken by autograd through that. Instance noise uses its expectation,
computed exactly on 64 standardised quantile nodes of N(0, 1) (the training-time
``InstanceNoise`` draws samples of the same distribution).

Settings are those of the paper's DiracGAN notebook: h = 0.2, 500 steps, start (1, 1),
generator updated first in the alternating scheme, WGAN clipped to |psi| <= 1, WGAN-GP
with weight 0.7 / 2 and target 1, instance noise s = 0.7.
"""
from __future__ import annotations

import cmath
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ganzoo.losses import get_loss
from ganzoo.regularizers import gradient_penalty, r1_penalty, r2_penalty
from ganzoo.theory.common import ExperimentResult, markdown_table, new_figure, save_figure, single_threaded_run

NAME = "dirac-gan"
STEP_SIZE = 0.2
STEPS = 500
START = (1.0, 1.0)
SCHEMES = ("simultaneous", "alternating", "alternating+prediction")


def _noise_nodes(count: int = 64) -> Tensor:
    """Quantiles of N(0, 1) at (k + 1/2)/count, re-standardised to mean 0 and mean square 1
    exactly, so averages over them reproduce E[eps] = 0 and E[eps^2] = 1 (all the Jacobian
    at the equilibrium depends on) with equal weights — i.e. an ordinary batch mean."""
    nodes = torch.special.ndtri((torch.arange(count, dtype=torch.float64) + 0.5) / count).numpy()
    nodes = (nodes - nodes.mean()) / np.sqrt(np.mean((nodes - nodes.mean()) ** 2))
    return torch.as_tensor(nodes, dtype=torch.float64)


NOISE_NODES = _noise_nodes()


@dataclass(frozen=True)
class Method:
    """One training method on the Dirac-GAN."""

    label: str
    loss: str = "minimax"            # a ganzoo.losses.LOSSES name
    penalty: str = "none"            # none | r1 | r2 | wgan-gp | zero-gp
    gamma: float = 0.0               # R1/R2 gamma, or the weight of the (zero-centred) gradient penalty
    gp_center: float = 1.0
    noise_std: float = 0.0           # instance noise
    consensus: float = 0.0           # consensus-optimisation weight
    clip: float | None = None        # WGAN weight clipping of psi

    @property
    def f_prime(self) -> float:
        """f'(0): 1/2 for the (non-saturating) GAN, 1 for the WGAN."""
        return 1.0 if self.loss == "wasserstein" else 0.5

    def closed_form_eigenvalues(self) -> tuple[complex, complex] | None:
        """Eigenvalues of the vector field's Jacobian at (0, 0); None where it has none
        (WGAN-GP's penalty (|psi| - 1)^2 is not differentiable at psi = 0)."""
        a = self.f_prime
        if self.penalty == "wgan-gp":
            return None
        if self.penalty in ("r1", "r2", "zero-gp"):
            # weight * (|psi| - 0)^2 on interpolates is R1 with gamma = 2 * weight here,
            # because grad_x D_psi = psi at every point.
            gamma = self.gamma if self.penalty != "zero-gp" else 2 * self.gamma
            root = cmath.sqrt(gamma**2 / 4 - a**2)
            return (-gamma / 2 + root, -gamma / 2 - root)
        if self.noise_std > 0:
            f_second = -0.25  # f''(0) for f(t) = -log(1 + e^-t)
            centre = f_second * self.noise_std**2
            root = cmath.sqrt(f_second**2 * self.noise_std**4 - a**2)
            return (centre + root, centre - root)
        if self.consensus > 0:
            return (complex(-self.consensus * a**2, a), complex(-self.consensus * a**2, -a))
        return (complex(0, a), complex(0, -a))


METHODS = (
    Method("GAN"),
    Method("non-saturating GAN", loss="nonsaturating"),
    Method("WGAN (clip 1)", loss="wasserstein", clip=1.0),
    Method("WGAN-GP (0.35, target 1)", loss="wasserstein", penalty="wgan-gp", gamma=0.35),
    Method("GAN + instance noise 0.7", noise_std=0.7),
    Method("GAN + R1 gamma=0.3", penalty="r1", gamma=0.3),
    Method("GAN + R1 gamma=1 (critical)", penalty="r1", gamma=1.0),
    Method("GAN + R1 gamma=3", penalty="r1", gamma=3.0),
    Method("GAN + R2 gamma=1", penalty="r2", gamma=1.0),
    Method("non-saturating GAN + R1 gamma=0.3", loss="nonsaturating", penalty="r1", gamma=0.3),
    Method("GAN + consensus 1", consensus=1.0),
    Method("relativistic GAN (RSGAN)", loss="rsgan"),
    Method("GAN + zero-centred GP 0.5", penalty="zero-gp", gamma=0.5),
)


# --------------------------------------------------------------------------- the vector field


def vector_field(method: Method, theta: Tensor, psi: Tensor, create_graph: bool = False) -> tuple[Tensor, Tensor]:
    """v(theta, psi) = (-dL_G/dtheta, -dL_D/dpsi) from the library's losses and penalties.

    ``theta`` and ``psi`` are 0-d float64 tensors that require grad. With
    ``create_graph=True`` the result is itself differentiable (for Jacobians).
    """
    loss = get_loss(method.loss)

    def critic(x: Tensor) -> Tensor:  # D_psi(x) = psi * x, one score per sample
        return psi * x[:, 0]

    eps = NOISE_NODES if method.noise_std > 0 else torch.zeros(1, dtype=torch.float64)
    real = (method.noise_std * eps).unsqueeze(1)
    fake = (theta + method.noise_std * eps).unsqueeze(1)
    d_real, d_fake = critic(real), critic(fake)
    d_loss = loss.discriminator(d_real, d_fake)
    if method.penalty == "r1":
        d_loss = d_loss + r1_penalty(critic, real, method.gamma)
    elif method.penalty == "r2":
        d_loss = d_loss + r2_penalty(critic, fake, method.gamma)
    elif method.penalty in ("wgan-gp", "zero-gp"):
        alpha = torch.full((real.shape[0],), 0.5, dtype=torch.float64)  # grad of psi*x is psi everywhere
        center = 0.0 if method.penalty == "zero-gp" else method.gp_center
        d_loss = d_loss + method.gamma * gradient_penalty(critic, real, fake, center=center, alpha=alpha)
    g_loss = loss.generator(d_real, d_fake)
    need_graph = create_graph or method.consensus > 0
    (g_theta,) = torch.autograd.grad(g_loss, theta, create_graph=need_graph, retain_graph=True)
    (g_psi,) = torch.autograd.grad(d_loss, psi, create_graph=need_graph)
    v_theta, v_psi = -g_theta, -g_psi
    if method.consensus > 0:
        # Mescheder et al. 2017: follow v - gamma * grad(|v|^2 / 2).
        half_norm = 0.5 * (v_theta**2 + v_psi**2)
        c_theta, c_psi = torch.autograd.grad(half_norm, (theta, psi), create_graph=create_graph)
        v_theta, v_psi = v_theta - method.consensus * c_theta, v_psi - method.consensus * c_psi
    if not create_graph:
        v_theta, v_psi = v_theta.detach(), v_psi.detach()
    return v_theta, v_psi


def update(method: Method, scheme: str, theta: Tensor, psi: Tensor, h: float = STEP_SIZE) -> tuple[Tensor, Tensor]:
    """One discrete step of ``scheme`` (the generator moves first in the alternating ones).

    ``alternating+prediction`` is Yadav et al.'s step: the discriminator responds to the
    extrapolated generator theta_bar = theta_new + (theta_new - theta_old). Weight
    clipping (WGAN) is applied to psi after its step, as ``clip_weights_`` would.
    ``theta`` and ``psi`` are 0-d float64 leaves that require grad; so are the results."""
    if scheme == "simultaneous":
        v_theta, v_psi = vector_field(method, theta, psi)
        theta_new, psi_new = theta + h * v_theta, psi + h * v_psi
    elif scheme in ("alternating", "alternating+prediction"):
        v_theta, _ = vector_field(method, theta, psi)
        theta_new = (theta + h * v_theta).detach()
        theta_seen = 2 * theta_new - theta.detach() if scheme == "alternating+prediction" else theta_new
        _, v_psi = vector_field(method, theta_seen.requires_grad_(True), psi)
        psi_new = psi + h * v_psi
    else:
        raise ValueError(f"unknown scheme {scheme!r}; known: {', '.join(SCHEMES)}")
    if method.clip is not None:
        psi_new = psi_new.clamp(-method.clip, method.clip)
    return theta_new.detach().requires_grad_(True), psi_new.detach().requires_grad_(True)


def simulate(method: Method, scheme: str, start: tuple[float, float] = START, steps: int = STEPS,
             h: float = STEP_SIZE) -> np.ndarray:
    """Trajectory (steps + 1, 2) of (theta, psi)."""
    theta = torch.tensor(start[0], dtype=torch.float64, requires_grad=True)
    psi = torch.tensor(start[1], dtype=torch.float64, requires_grad=True)
    points = [start]
    for _ in range(steps):
        theta, psi = update(method, scheme, theta, psi, h)
        points.append((theta.item(), psi.item()))
    return np.asarray(points)


def jacobian_at_equilibrium(method: Method) -> np.ndarray:
    """d v / d (theta, psi) at (0, 0), by autograd through the losses and penalties.

    Falls back to central differences of v where autograd's second derivative is not
    finite: ``gradient_penalty`` takes ``(||grad|| - center)^2`` through the norm, whose
    double-backward at a zero gradient is 0/0 even for ``center = 0`` (where the penalty
    itself is the smooth ``||grad||^2``)."""

    def field(state: Tensor) -> Tensor:
        return torch.stack(vector_field(method, state[0], state[1], create_graph=True))

    jacobian = torch.autograd.functional.jacobian(field, torch.zeros(2, dtype=torch.float64)).numpy()
    if np.isfinite(jacobian).all():
        return jacobian
    eps, columns = 1e-6, []
    for direction in np.eye(2):
        values = []
        for sign in (1.0, -1.0):
            theta = torch.tensor(sign * eps * direction[0], dtype=torch.float64, requires_grad=True)
            psi = torch.tensor(sign * eps * direction[1], dtype=torch.float64, requires_grad=True)
            values.append(np.array([v.item() for v in vector_field(method, theta, psi)]))
        columns.append((values[0] - values[1]) / (2 * eps))
    return np.stack(columns, axis=1)


def update_jacobian(method: Method, scheme: str, h: float = STEP_SIZE, eps: float = 1e-6) -> np.ndarray:
    """Jacobian of one discrete update step at (0, 0), by central differences (float64).

    Not by autograd through :func:`update`: inside an alternating step the discriminator's
    gradient is a *partial* derivative taken at the generator's new value, and autograd
    through the composed step would also differentiate along theta_new's dependence on psi.
    Finite differences of the actual step have no such trap (error ~1e-10 here)."""
    columns = []
    for direction in np.eye(2):
        plus = _detached_step(method, scheme, eps * direction, h)
        minus = _detached_step(method, scheme, -eps * direction, h)
        columns.append((plus - minus) / (2 * eps))
    return np.stack(columns, axis=1)


def _detached_step(method: Method, scheme: str, point: np.ndarray, h: float) -> np.ndarray:
    theta = torch.tensor(point[0], dtype=torch.float64, requires_grad=True)
    psi = torch.tensor(point[1], dtype=torch.float64, requires_grad=True)
    theta, psi = update(method, scheme, theta, psi, h)
    return np.array([theta.item(), psi.item()])


def update_spectral_radius(method: Method, scheme: str, h: float = STEP_SIZE) -> float:
    """Spectral radius of one update step's Jacobian at (0, 0): < 1 means locally convergent."""
    return float(np.max(np.abs(np.linalg.eigvals(update_jacobian(method, scheme, h)))))


def _sorted_eigenvalues(values) -> list[complex]:
    return sorted((complex(v) for v in values), key=lambda z: (round(z.imag, 9), z.real), reverse=True)


def _format_pair(values: list[complex] | None) -> str:
    if values is None:
        return "n/a (penalty not differentiable at psi=0)"
    return ", ".join(_format_complex(v) for v in values)


def _format_complex(z: complex) -> str:
    real = 0.0 if abs(z.real) < 5e-10 else z.real
    imag = 0.0 if abs(z.imag) < 5e-10 else z.imag
    if imag == 0:
        return f"{real:.4g}"
    sign = "+" if imag > 0 else "-"
    return f"{real:.4g} {sign} {abs(imag):.4g}i" if real != 0 else f"{sign}{abs(imag):.4g}i"


# --------------------------------------------------------------------------- run


@single_threaded_run
def run(plot: str | None = None, quick: bool = False) -> ExperimentResult:
    """``quick`` runs 30 steps instead of the notebook's 500 (the eigenvalues are the same)."""
    steps = 30 if quick else STEPS
    start_radius = math.hypot(*START)
    rows, numbers, trajectories = [], {}, {}
    for method in METHODS:
        measured = None if method.penalty == "wgan-gp" else _sorted_eigenvalues(
            np.linalg.eigvals(jacobian_at_equilibrium(method)))
        closed = method.closed_form_eigenvalues()
        closed = None if closed is None else _sorted_eigenvalues(closed)
        ratios, radii = {}, {}
        for scheme in SCHEMES:
            trajectory = simulate(method, scheme, steps=steps)
            trajectories[(method.label, scheme)] = trajectory
            ratios[scheme] = float(np.hypot(*trajectory[-1]) / start_radius)
            radii[scheme] = update_spectral_radius(method, scheme) if method.penalty != "wgan-gp" else float("nan")
        rows.append([method.label, _format_pair(measured), _format_pair(closed)]
                    + [radii[s] if not math.isnan(radii[s]) else "-" for s in SCHEMES]
                    + [ratios[s] for s in SCHEMES])
        for scheme in SCHEMES:
            numbers[f"{method.label}/{scheme}/radius_ratio"] = ratios[scheme]
            numbers[f"{method.label}/{scheme}/update_spectral_radius"] = radii[scheme]
        if measured is not None and closed is not None:
            numbers[f"{method.label}/eigenvalue_error"] = max(abs(m - c) for m, c in zip(measured, closed))
        if measured is not None:
            numbers[f"{method.label}/max_real_part"] = max(z.real for z in measured)
    table = markdown_table(
        ["method", "Jacobian eigenvalues (autograd)", "closed form",
         "update radius sim.", "update radius alt.", "update radius alt.+pred.",
         "final/initial radius sim.", "alt.", "alt.+pred."],
        rows,
    )
    header = (f"h = {STEP_SIZE}, {steps} steps from (theta, psi) = {START}. 'update radius' is the spectral radius "
              "of one discrete step's Jacobian at the equilibrium (< 1: locally convergent); the last three columns "
              "are |(theta, psi)| after the run over |(theta, psi)| at the start.")
    figure = _plot(trajectories, steps, plot) if plot else None
    return ExperimentResult(NAME, header + "\n\n" + table, numbers, figure)


def _plot(trajectories: dict, steps: int, path: str) -> str:
    n_cols = 4
    n_rows = math.ceil(len(METHODS) / n_cols)
    figure, axes = new_figure(n_rows, n_cols, size=(3.3, 3.3))
    grid = np.linspace(-2.0, 2.0, 9)
    colors = {"simultaneous": "tab:red", "alternating": "tab:blue", "alternating+prediction": "tab:green"}
    for index, ax in enumerate(axes.flat):
        if index >= len(METHODS):
            ax.axis("off")
            continue
        method = METHODS[index]
        thetas, psis = np.meshgrid(grid, grid)
        u, v = np.zeros_like(thetas), np.zeros_like(psis)
        for i in range(thetas.shape[0]):
            for j in range(thetas.shape[1]):
                theta = torch.tensor(thetas[i, j], dtype=torch.float64, requires_grad=True)
                psi = torch.tensor(psis[i, j], dtype=torch.float64, requires_grad=True)
                v_theta, v_psi = vector_field(method, theta, psi)
                u[i, j], v[i, j] = v_theta.item(), v_psi.item()
        ax.quiver(thetas, psis, u, v, color="0.55", angles="xy")
        for scheme, color in colors.items():
            trajectory = np.clip(trajectories[(method.label, scheme)], -2.2, 2.2)
            ax.plot(trajectory[:, 0], trajectory[:, 1], color=color, lw=1.0, label=scheme)
        ax.plot([0], [0], "k*", ms=8)
        ax.set_xlim(-2.2, 2.2)
        ax.set_ylim(-2.2, 2.2)
        ax.set_title(method.label, fontsize=9)
        ax.set_xlabel("theta")
        ax.set_ylabel("psi")
    axes.flat[0].legend(fontsize=6, loc="lower left")
    figure.suptitle(f"Dirac-GAN: gradient vector field and {steps} steps of size {STEP_SIZE} from {START}")
    return save_figure(figure, path)
