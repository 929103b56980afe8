"""The lab's Dirac-GAN tab: the vector field, a trajectory and the eigenvalues (``ganzoo theory dirac-gan``)."""
from __future__ import annotations

import numpy as np
import torch

from ganzoo.theory import dirac_gan
from ganzoo.theory.common import figure_png as to_png, new_figure

METHODS = {method.label: method for method in dirac_gan.METHODS}


def method_named(label: str) -> dirac_gan.Method:
    if label not in METHODS:
        raise ValueError(f"unknown Dirac-GAN method {label!r}; choose one of {', '.join(METHODS)}")
    return METHODS[label]


def analysis(label: str, scheme: str, step_size: float, steps: int = dirac_gan.STEPS) -> dict:
    """Eigenvalues of the field's Jacobian at (0, 0) (autograd and closed form), the update's
    spectral radius (< 1: locally convergent) and the trajectory's final distance to (0, 0)."""
    if scheme not in dirac_gan.SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; choose one of {', '.join(dirac_gan.SCHEMES)}")
    if not 0 < step_size <= 2 or not 1 <= steps <= 5000:
        raise ValueError("step size must be in (0, 2] and steps in 1..5000")
    method = method_named(label)
    eigenvalues = np.linalg.eigvals(dirac_gan.jacobian_at_equilibrium(method))
    closed = method.closed_form_eigenvalues()
    trajectory = dirac_gan.simulate(method, scheme, steps=steps, h=step_size)
    return {
        "method": label, "scheme": scheme, "step_size": step_size, "steps": steps,
        "eigenvalues": [_complex(z) for z in eigenvalues],
        "closed_form_eigenvalues": None if closed is None else [_complex(z) for z in closed],
        "update_spectral_radius": dirac_gan.update_spectral_radius(method, scheme, step_size),
        "final_distance": float(np.linalg.norm(trajectory[-1])),
        "trajectory": trajectory,
    }


def figure_png(label: str, scheme: str, step_size: float, steps: int = dirac_gan.STEPS) -> tuple[bytes, dict]:
    result = analysis(label, scheme, step_size, steps)
    method = method_named(label)
    axis = np.linspace(-2.0, 2.0, 17)
    theta_grid, psi_grid = np.meshgrid(axis, axis)
    field = np.zeros((2, *theta_grid.shape))
    for i, j in np.ndindex(theta_grid.shape):
        theta = torch.tensor(theta_grid[i, j], dtype=torch.float64, requires_grad=True)
        psi = torch.tensor(psi_grid[i, j], dtype=torch.float64, requires_grad=True)
        v_theta, v_psi = dirac_gan.vector_field(method, theta, psi)
        field[:, i, j] = (float(v_theta), float(v_psi))
    figure, axes = new_figure(size=(5.6, 5.0))
    ax = axes[0][0]
    ax.streamplot(theta_grid, psi_grid, field[0], field[1], color="0.6", density=1.1, linewidth=0.8)
    trajectory = result.pop("trajectory")
    ax.plot(trajectory[:, 0], trajectory[:, 1], color="tab:red", lw=1.2, label=f"{scheme}, h={step_size:g}")
    ax.plot(*trajectory[0], "o", color="tab:red", ms=5)
    ax.plot(0, 0, "*", color="black", ms=10, label="equilibrium")
    ax.set_xlim(-2, 2)
    ax.set_ylim(-2, 2)
    ax.set_xlabel("theta (generator)")
    ax.set_ylabel("psi (discriminator)")
    ax.set_title(f"{label}\nspectral radius of one step {result['update_spectral_radius']:.4f}", fontsize=10)
    ax.legend(loc="upper right", fontsize=8)
    return to_png(figure), result


def _complex(z: complex) -> list[float]:
    return [round(float(np.real(z)), 6), round(float(np.imag(z)), 6)]
