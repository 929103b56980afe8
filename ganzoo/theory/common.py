"""Shared pieces of the theory experiments: the result/experiment records, markdown
tables, seeding, 1-D densities with quadrature, and figure saving.

Figures are drawn with matplotlib's object-oriented API (``matplotlib.figure.Figure``,
rendered by the Agg canvas) and never through ``pyplot``: no global backend is switched
and nothing needs a display, so the experiments run the same on a headless server.
"""
from __future__ import annotations

import contextlib
import functools
import io
import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "Experiment",
    "ExperimentResult",
    "GaussianMixture1D",
    "format_number",
    "integrate",
    "jensen_shannon",
    "markdown_table",
    "new_figure",
    "save_figure",
    "seeded",
    "single_threaded",
    "single_threaded_run",
]


@dataclass(frozen=True)
class ExperimentResult:
    """What an experiment reports.

    ``table``: a markdown table (what ``ganzoo theory NAME`` prints and ``docs/theory.md`` holds).
    ``numbers``: the key numbers by name, the ones the tests assert on.
    ``figure``: the path the figure was written to, or ``None`` when no plot was asked for.
    """

    name: str
    table: str
    numbers: dict[str, float]
    figure: str | None = None


@dataclass(frozen=True)
class Experiment:
    """A registered experiment: ``run(plot=None, quick=False) -> ExperimentResult``.

    ``quick=True`` shrinks the training budgets so the whole suite runs in seconds (tests);
    the committed tables in ``docs/theory.md`` come from ``quick=False``.
    """

    name: str
    title: str
    run: Callable[..., ExperimentResult]
    claim: str = ""


# --------------------------------------------------------------------------- tables


def format_number(value: Any, digits: int = 4) -> str:
    """A compact, table-friendly rendering: integers as is, floats with ``digits``
    significant digits, very small/large floats in scientific notation."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, complex):
        real, imag = format_number(value.real, digits), format_number(abs(value.imag), digits)
        return real if value.imag == 0 else f"{real} {'+' if value.imag > 0 else '-'} {imag}i"
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        return str(value)
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.{max(digits - 1, 1)}e}"
    return f"{value:.{digits}g}"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], digits: int = 4) -> str:
    """A GitHub-flavoured markdown table; numbers go through :func:`format_number`."""
    if any(len(row) != len(headers) for row in rows):
        raise ValueError(f"every row needs {len(headers)} cells (one per header {list(headers)})")
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(format_number(cell, digits) for cell in row) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- seeding


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[torch.Generator]:
    """Seed torch's global RNG (network initialisation) for the duration of the block and
    yield a separate generator for data sampling; the caller's RNG state is restored after,
    so running an experiment never perturbs the code around it."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield torch.Generator().manual_seed(seed + 1)


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """Run torch on one intra-op thread for the block, then restore the caller's setting.

    The experiments train networks of a few thousand parameters on batches of a few
    hundred points: splitting such ops across threads costs more in synchronisation
    than it saves, and on a busy machine oversubscribed threads make a step tens of
    times slower (measured here: 12 ms/step on 1 thread vs 400 ms/step on 2 under load).
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def single_threaded_run(run: Callable[..., ExperimentResult]) -> Callable[..., ExperimentResult]:
    """Decorator for an experiment's ``run``: executes it under :func:`single_threaded`."""

    @functools.wraps(run)
    def wrapper(*args: Any, **kwargs: Any) -> ExperimentResult:
        with single_threaded():
            return run(*args, **kwargs)

    return wrapper


# --------------------------------------------------------------------------- 1-D densities and quadrature


def integrate(values: np.ndarray, grid: np.ndarray) -> float:
    """Trapezoidal rule on a fine uniform grid (the densities here are smooth Gaussians,
    for which it is accurate to far below the numbers we report)."""
    return float(np.trapezoid(values, grid))


def _xlogy_ratio(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``p log(p / q)`` with the convention ``0 log 0 = 0``."""
    out = np.zeros_like(p)
    positive = p > 0
    out[positive] = p[positive] * (np.log(p[positive]) - np.log(q[positive]))
    return out


def jensen_shannon(p: np.ndarray, q: np.ndarray, grid: np.ndarray) -> float:
    """JSD(p || q) = KL(p || m)/2 + KL(q || m)/2 with m = (p + q)/2, in nats (at most log 2)."""
    m = 0.5 * (p + q)
    return 0.5 * integrate(_xlogy_ratio(p, m), grid) + 0.5 * integrate(_xlogy_ratio(q, m), grid)


@dataclass(frozen=True)
class GaussianMixture1D:
    """A 1-D Gaussian mixture with an exact density (for quadrature) and a seeded sampler."""

    means: tuple[float, ...]
    stds: tuple[float, ...]
    weights: tuple[float, ...] = field(default=())

    def __post_init__(self) -> None:
        if len(self.means) != len(self.stds) or not self.means:
            raise ValueError(f"means and stds need the same non-zero length, got {self.means} and {self.stds}")
        if any(s <= 0 for s in self.stds):
            raise ValueError(f"standard deviations must be > 0, got {self.stds}")
        if not self.weights:
            object.__setattr__(self, "weights", tuple(1.0 / len(self.means) for _ in self.means))
        if len(self.weights) != len(self.means) or abs(sum(self.weights) - 1.0) > 1e-9:
            raise ValueError(f"weights must be one per component and sum to 1, got {self.weights}")

    @classmethod
    def gaussian(cls, mean: float, std: float) -> "GaussianMixture1D":
        return cls((float(mean),), (float(std),))

    def log_pdf(self, x: np.ndarray) -> np.ndarray:
        """log p(x), exact far into the tails (where ``pdf`` underflows to 0)."""
        x = np.asarray(x, dtype=np.float64)
        components = [
            math.log(w) - 0.5 * ((x - mu) / s) ** 2 - math.log(s * math.sqrt(2 * math.pi))
            for w, mu, s in zip(self.weights, self.means, self.stds)
        ]
        return np.logaddexp.reduce(np.stack(components), axis=0)

    def pdf(self, x: np.ndarray) -> np.ndarray:
        return np.exp(self.log_pdf(x))

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        """``n`` samples of shape (n, 1), float32."""
        component = torch.multinomial(torch.tensor(self.weights), n, replacement=True, generator=generator)
        means = torch.tensor(self.means)[component]
        stds = torch.tensor(self.stds)[component]
        return (means + stds * torch.randn(n, generator=generator)).unsqueeze(1)

    def convolved(self, noise_std: float) -> "GaussianMixture1D":
        """The density of ``x + N(0, noise_std^2)``: what D sees under instance noise."""
        return GaussianMixture1D(self.means, tuple(math.hypot(s, noise_std) for s in self.stds), self.weights)

    def describe(self) -> str:
        parts = [
            f"{w:g}·N({mu:g}, {s:g}²)" if len(self.means) > 1 else f"N({mu:g}, {s:g}²)"
            for w, mu, s in zip(self.weights, self.means, self.stds)
        ]
        return " + ".join(parts)


# --------------------------------------------------------------------------- figures


def new_figure(n_rows: int = 1, n_cols: int = 1, size: tuple[float, float] = (4.0, 3.2)) -> tuple[Any, Any]:
    """A matplotlib Figure (Agg-rendered, no pyplot) and its axes array of shape (n_rows, n_cols)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(size[0] * n_cols, size[1] * n_rows), layout="constrained")
    axes = figure.subplots(n_rows, n_cols, squeeze=False)
    return figure, axes


def figure_png(figure: Any, dpi: int = 90) -> bytes:
    """``figure`` as PNG bytes (for a web page: ``ganzoo lab``)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def save_figure(figure: Any, path: str | os.PathLike[str]) -> str:
    """Write ``figure`` (format from the extension, e.g. .png/.pdf/.svg) and return the path."""
    path = os.fspath(path)
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path
