"""Mode metrics for the 2-D Gaussian mixtures (ring of 8, grid of 25), as in VEEGAN and PacGAN.

Definitions (Srivastava et al. 2017, VEEGAN, Sec. 5; Lin et al. 2018, PacGAN, Sec. 5.1 and
their released evaluation code):

* each sample is assigned to its nearest mode mean;
* it is *high quality* when it lies within ``threshold`` (3) standard deviations of that mean;
* a mode is *captured* when at least ``min_count`` (1) high-quality samples are assigned to it;
* *reverse KL* is KL(p || u) between the histogram p of high-quality samples over the modes
  (normalised to sum to 1) and the uniform distribution u of the true mixture:
  sum_i p_i log(p_i * K), with 0 log 0 = 0. It is 0 for perfectly balanced modes and log K when
  every high-quality sample sits on one mode.

For a true isotropic 2-D Gaussian component, the fraction of its samples within 3 std of its
mean is 1 - exp(-9/2) = 98.89%, so samples of the true mixture score ~98.9% high quality.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor


def mode_metrics(samples: Tensor, means: Tensor, std: float, threshold: float = 3.0, min_count: int = 1) -> dict:
    """Modes captured, percentage of high-quality samples and reverse KL to uniform.

    Args:
        samples: (N, D) generated points. means: (K, D) mode centres. std: per-dimension
            standard deviation of every component.
    Returns:
        {"modes": captured count (int), "num_modes": K, "high_quality": percentage in [0, 100],
         "reverse_kl": float (inf when there is no high-quality sample), "counts": list of K ints}
    """
    samples, means = torch.as_tensor(samples), torch.as_tensor(means)
    if samples.ndim != 2 or means.ndim != 2 or samples.shape[1] != means.shape[1]:
        raise ValueError(f"samples must be (N, D) and means (K, D) with the same D, got "
                         f"{tuple(samples.shape)} and {tuple(means.shape)}")
    if samples.shape[0] == 0:
        raise ValueError("no samples")
    if not std > 0:
        raise ValueError(f"std must be > 0, got {std}")
    if not bool(torch.isfinite(samples).all()):
        raise ValueError("samples contain NaN/inf; the generator has probably diverged")
    samples, means = samples.double(), means.double().to(samples.device)
    distances = torch.cdist(samples, means)  # (N, K)
    nearest_distance, nearest = distances.min(dim=1)
    high_quality = nearest_distance < threshold * std
    counts = torch.bincount(nearest[high_quality], minlength=len(means)).cpu()
    total_high = int(counts.sum())
    return {
        "modes": int((counts >= min_count).sum()),
        "num_modes": len(means),
        "high_quality": 100.0 * total_high / len(samples),
        "reverse_kl": reverse_kl_to_uniform(counts) if total_high else math.inf,
        "counts": counts.tolist(),
    }


def reverse_kl_to_uniform(counts: Tensor) -> float:
    """KL(p || uniform) for the histogram ``counts`` (p = counts / sum)."""
    counts = torch.as_tensor(counts, dtype=torch.float64)
    p = counts / counts.sum()
    nonzero = p > 0
    return float((p[nonzero] * torch.log(p[nonzero] * len(p))).sum())
