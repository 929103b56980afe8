"""Input checks that turn silent garbage (NaN scores, wrapped uint8) into clear errors."""
from __future__ import annotations

import torch
from torch import Tensor

# Generators end in tanh, but resampling or a clamp-free head can overshoot by a hair.
RANGE_TOLERANCE = 1e-3


def check_images(images: Tensor, what: str = "images") -> None:
    """Raise ``ValueError`` unless ``images`` is a finite float (N, C, H, W) tensor in [-1, 1]."""
    if not isinstance(images, Tensor):
        raise ValueError(f"{what} must be a torch.Tensor, got {type(images).__name__}")
    if images.dtype == torch.uint8:
        raise ValueError(
            f"{what} are uint8 (0..255); ganzoo metrics take float images in [-1, 1], the range generators "
            "produce. Convert with images.float() / 127.5 - 1"
        )
    if not images.is_floating_point():
        raise ValueError(f"{what} must be a float tensor with values in [-1, 1], got dtype {images.dtype}")
    if images.ndim != 4:
        raise ValueError(f"{what} must have shape (N, C, H, W), got {tuple(images.shape)}")
    if images.shape[0] == 0:
        raise ValueError(f"{what} is an empty batch (shape {tuple(images.shape)})")
    finite = torch.isfinite(images)
    if not bool(finite.all()):
        bad = int((~finite).sum())
        raise ValueError(f"{what} contain {bad} NaN/inf values; the generator has probably diverged")
    low, high = float(images.min()), float(images.max())
    if low < -1 - RANGE_TOLERANCE or high > 1 + RANGE_TOLERANCE:
        if low >= 0 and high > 2:
            hint = " They look like 0..255 pixel values: use images / 127.5 - 1."
        else:
            hint = " End the generator with tanh, or clamp(-1, 1) before evaluating."
        raise ValueError(f"{what} must lie in [-1, 1] but span [{low:.4g}, {high:.4g}].{hint}")
