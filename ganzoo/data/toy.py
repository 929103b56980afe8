"""Toy data sets of the GAN literature: 2-D Gaussian mixtures, the Dirac-GAN point mass, Gaussians.

The two mode-collapse benchmarks follow the public PacGAN code (Lin et al. 2018,
github.com/fjxmlzn/PacGAN, ``synthetic_data_experiments/2DRing_GAN&PacGAN/config.py`` and
``2DGrid_GAN&PacGAN/config.py``), which takes the experiment from VEEGAN (Srivastava et al. 2017)
and samples the data with ALI's ``GaussianMixture`` (uniform mixture weights):

* **ring**: 8 Gaussians, means ``(cos(2*pi*k/8), sin(2*pi*k/8))`` (radius 1), std 0.01
  (``VARIANCES = 0.01 ** 2 * eye(2)``);
* **grid**: 25 Gaussians, means ``{-4, -2, 0, 2, 4}^2``, std 0.05 (``VARIANCES = 0.05 ** 2 * eye(2)``);
* a fixed training set of ``num_sample = 100000`` points drawn once (``n_samples`` here).

VEEGAN and PacGAN score a generated sample as "high quality" when it lies within 3 std of
its nearest mean, and count a mode as captured when at least one high-quality sample is
nearest to it (2,500 generated samples); ``RING_STD`` / ``GRID_STD`` are the std to use there.

``dirac`` is the data of the Dirac-GAN (Mescheder et al. 2018, "Which training methods for
GANs do actually converge?"): all mass at 0 in 1-D.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor
from ganzoo.data.base import GlobalBatchDataModule, TensorPairDataset

RING_N_MODES = 8
RING_RADIUS = 1.0
RING_STD = 0.01
GRID_STD = 0.05
GRID_COORDINATES = (-4.0, -2.0, 0.0, 2.0, 4.0)
DEFAULT_N_SAMPLES = 100_000  # PacGAN's num_sample

TOY_DATASETS = ("ring", "grid", "dirac", "gaussian1d", "gaussian2d")


def ring_means(n_modes: int = RING_N_MODES, radius: float = RING_RADIUS) -> Tensor:
    """(n_modes, 2) means evenly spaced on a circle: ``radius * (cos 2pi k/n, sin 2pi k/n)``."""
    if n_modes < 1:
        raise ValueError(f"n_modes must be >= 1, got {n_modes}")
    angles = 2 * math.pi * torch.arange(n_modes, dtype=torch.float64) / n_modes
    return (radius * torch.stack([angles.cos(), angles.sin()], dim=1)).float()


def grid_means(coordinates: Sequence[float] = GRID_COORDINATES) -> Tensor:
    """(len(c)^2, 2) means on the grid ``c x c``, row-major in x then y (the PacGAN order)."""
    c = torch.as_tensor(coordinates, dtype=torch.float32)
    xs, ys = torch.meshgrid(c, c, indexing="ij")
    return torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)


def _as_generator(generator: torch.Generator | int | None) -> torch.Generator | None:
    if isinstance(generator, int):
        return torch.Generator().manual_seed(generator)
    return generator


def sample_mixture(means: Tensor, std: float | Sequence[float] | Tensor, n: int,
                   generator: torch.Generator | int | None = None) -> tuple[Tensor, Tensor]:
    """Draw ``n`` points from the uniform mixture of isotropic Gaussians ``N(means[k], std^2 I)``.

    Args:
        means: (K, d) component means.
        std: one standard deviation for every component and axis, or one per axis (d,).
        n: number of samples.
        generator: a CPU ``torch.Generator`` or an int seed (None: the global RNG).

    Returns:
        ``(x, component)``: (n, d) float32 samples and the (n,) int64 index of the component
        each was drawn from.
    """
    means = torch.as_tensor(means, dtype=torch.float32)
    if means.ndim != 2 or means.shape[0] < 1:
        raise ValueError(f"means must have shape (K, d) with K >= 1, got {tuple(means.shape)}")
    if n < 1:
        raise ValueError(f"number of samples must be >= 1, got {n}")
    std_t = torch.as_tensor(std, dtype=torch.float32)
    if (std_t < 0).any():
        raise ValueError(f"std must be >= 0, got {std}")
    generator = _as_generator(generator)
    component = torch.randint(means.shape[0], (n,), generator=generator)
    noise = torch.randn(n, means.shape[1], generator=generator)
    return means[component] + std_t * noise, component


class ToyDataModule(GlobalBatchDataModule):
    """A fixed training set drawn once from a toy distribution; batches ``(x, y)`` with
    ``x`` (B, 2) or (B, 1) float and ``y`` the (B,) mixture-component index (0 for one Gaussian).

    Args:
        dataset: "ring" (8 Gaussians), "grid" (25 Gaussians), "dirac" (all samples at 0, 1-D),
            "gaussian1d" or "gaussian2d".
        n_samples: size of the training set (PacGAN: 100,000).
        batch_size: GLOBAL batch size (split across DDP processes).
        seed: draws the training set and the per-epoch order.
        num_workers: DataLoader workers (0 is fastest for in-memory tensors).
        mean: mean of "gaussian1d" (float, default 0) or "gaussian2d" (pair, default (0, 0)).
        std: override the std (ring 0.01, grid 0.05, gaussians 1); for gaussian2d one per axis allowed.
    """

    def __init__(self, dataset: str = "ring", n_samples: int = DEFAULT_N_SAMPLES, batch_size: int = 500,
                 seed: int = 0, num_workers: int = 0, mean: float | list[float] | None = None,
                 std: float | list[float] | None = None) -> None:
        super().__init__(batch_size=batch_size, seed=seed, num_workers=num_workers)
        if dataset not in TOY_DATASETS:
            raise ValueError(f"unknown toy dataset {dataset!r}; choose one of {', '.join(TOY_DATASETS)}")
        if n_samples < 1:
            raise ValueError(f"n_samples must be >= 1, got {n_samples}")
        if mean is not None and not dataset.startswith("gaussian"):
            raise ValueError(f"mean only applies to gaussian1d/gaussian2d, not {dataset!r}")
        if std is not None and dataset == "dirac":
            raise ValueError("the dirac data set has no std (all samples are exactly 0)")
        self.save_hyperparameters()
        self.dataset = dataset
        self.n_samples = int(n_samples)
        self.means, self.std = self._components(dataset, mean, std)

    @staticmethod
    def _components(dataset: str, mean, std) -> tuple[Tensor, Tensor]:
        """(K, d) component means and the std (scalar or per axis) of the chosen data set."""
        if dataset == "ring":
            means, default_std = ring_means(), RING_STD
        elif dataset == "grid":
            means, default_std = grid_means(), GRID_STD
        elif dataset == "dirac":
            means, default_std = torch.zeros(1, 1), 0.0
        elif dataset == "gaussian1d":
            means, default_std = torch.tensor([[0.0 if mean is None else float(mean)]]), 1.0
        else:
            means = torch.zeros(1, 2) if mean is None else torch.as_tensor(mean, dtype=torch.float32).reshape(1, -1)
            default_std = 1.0
        std_t = torch.as_tensor(default_std if std is None else std, dtype=torch.float32)
        if means.shape[1] != 2 and dataset == "gaussian2d":
            raise ValueError(f"gaussian2d needs a mean with 2 entries, got {mean}")
        if std_t.ndim > 1 or (std_t.ndim == 1 and std_t.shape[0] != means.shape[1]):
            raise ValueError(f"std must be a number or have one entry per axis ({means.shape[1]}), got {std}")
        if (std_t < 0).any():
            raise ValueError(f"std must be >= 0, got {std}")
        return means, std_t

    @property
    def data_shape(self) -> tuple[int, ...]:
        """Shape of one sample: (2,) or (1,)."""
        return (int(self.means.shape[1]),)

    def sample(self, n: int, generator: torch.Generator | int | None = None) -> tuple[Tensor, Tensor]:
        """Fresh samples from the same distribution (e.g. reference samples for metrics)."""
        return sample_mixture(self.means, self.std, n, generator)

    def setup(self, stage: str | None = None) -> None:
        super().setup(stage)
        if self.train_dataset is None:
            x, y = self.sample(self.n_samples, torch.Generator().manual_seed(self.seed))
            self.train_dataset = TensorPairDataset(x, y)
