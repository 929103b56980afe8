"""Differentiable augmentation (DiffAugment, Zhao et al. 2020, "Differentiable Augmentation for
Data-Efficient GAN Training").

The discriminator only ever sees augmented images, real and fake alike, in its own updates and in
the generator's; the augmentations are differentiable, so the generator's gradient flows through
them. D then cannot memorise the exact training images (the overfitting that narrows what G is
rewarded for), while G still learns the un-augmented distribution: it is never asked to produce
augmented images, only images whose augmentations look like augmented real ones.

The three policies are the paper's, with its settings:

- ``color``: brightness ``+ (u - 0.5)``, saturation ``x * 2u`` around each pixel's channel mean,
  contrast ``x * (u + 0.5)`` around each image's mean (one ``u`` per image and operation).
- ``translation``: shift by up to 1/8 of the image size in each direction, zero fill.
- ``cutout``: zero a square of half the image size at a random centre, clipped at the borders.

Randomness is passed in as uniforms in [0, 1), one row per image (``uniforms_needed`` columns), so
the training loop can draw them from its per-step streams: reproducible after a resume, and the
same for 1 and N processes.
"""
from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["POLICIES", "augment", "parse_policy", "uniforms_needed"]

TRANSLATION_RATIO = 0.125  # largest shift, as a fraction of the image size (the paper's setting)
CUTOUT_RATIO = 0.5  # side of the cut-out square, as a fraction of the image size (the paper's setting)


def _color(x: Tensor, u: Tensor) -> Tensor:
    brightness, saturation, contrast = (u[:, i].view(-1, 1, 1, 1).to(x.dtype) for i in range(3))
    x = x + (brightness - 0.5)
    channel_mean = x.mean(dim=1, keepdim=True)
    x = (x - channel_mean) * (saturation * 2) + channel_mean
    image_mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - image_mean) * (contrast + 0.5) + image_mean


def _integers(u: Tensor, low: int, high: int) -> Tensor:
    """Uniform integers in [low, high] from uniforms in [0, 1)."""
    return (low + (u * (high - low + 1)).floor().long()).clamp(max=high)


def _translation(x: Tensor, u: Tensor) -> Tensor:
    n, channels, height, width = x.shape
    shift_y = _integers(u[:, 0], -int(height * TRANSLATION_RATIO + 0.5), int(height * TRANSLATION_RATIO + 0.5))
    shift_x = _integers(u[:, 1], -int(width * TRANSLATION_RATIO + 0.5), int(width * TRANSLATION_RATIO + 0.5))
    # Output pixel (i, j) reads input pixel (i - shift_y, j - shift_x), or zero outside the image.
    rows = torch.arange(height, device=x.device).view(1, height) - shift_y.view(n, 1)
    cols = torch.arange(width, device=x.device).view(1, width) - shift_x.view(n, 1)
    row_inside = ((rows >= 0) & (rows < height)).view(n, 1, height, 1)
    col_inside = ((cols >= 0) & (cols < width)).view(n, 1, 1, width)
    batch = torch.arange(n, device=x.device).view(n, 1, 1, 1)
    channel = torch.arange(channels, device=x.device).view(1, channels, 1, 1)
    source_rows = rows.clamp(0, height - 1).view(n, 1, height, 1)
    source_cols = cols.clamp(0, width - 1).view(n, 1, 1, width)
    return x[batch, channel, source_rows, source_cols] * (row_inside & col_inside).to(x.dtype)


def _cutout(x: Tensor, u: Tensor) -> Tensor:
    n, _, height, width = x.shape
    size_y, size_x = int(height * CUTOUT_RATIO + 0.5), int(width * CUTOUT_RATIO + 0.5)
    # The square's centre is uniform over [0, H] for even sizes, [0, H - 1] for odd ones (the paper's code).
    top = _integers(u[:, 0], 0, height - size_y % 2) - size_y // 2
    left = _integers(u[:, 1], 0, width - size_x % 2) - size_x // 2
    rows = torch.arange(height, device=x.device).view(1, height)
    cols = torch.arange(width, device=x.device).view(1, width)
    in_rows = (rows >= top.view(n, 1)) & (rows < (top + size_y).view(n, 1))
    in_cols = (cols >= left.view(n, 1)) & (cols < (left + size_x).view(n, 1))
    cut = in_rows.view(n, 1, height, 1) & in_cols.view(n, 1, 1, width)
    return x * (~cut).to(x.dtype)


POLICIES = {"color": (_color, 3), "translation": (_translation, 2), "cutout": (_cutout, 2)}


def parse_policy(policy: str | None) -> tuple[str, ...]:
    """``"color,translation,cutout"`` -> ("color", "translation", "cutout"); None or "" -> ()."""
    names = tuple(name.strip() for name in (policy or "").split(",") if name.strip())
    unknown = [name for name in names if name not in POLICIES]
    if unknown:
        raise ValueError(f"augment={policy!r}: unknown augmentation {unknown[0]!r}; choose from "
                         f"{', '.join(POLICIES)}, comma-separated (DiffAugment's CIFAR-10 policy: "
                         f"'color,translation,cutout')")
    if len(set(names)) != len(names):
        raise ValueError(f"augment={policy!r}: an augmentation is named twice")
    return names


def uniforms_needed(names: tuple[str, ...]) -> int:
    """Columns of uniforms ``augment`` consumes per image for these augmentations."""
    return sum(POLICIES[name][1] for name in names)


def augment(x: Tensor, names: tuple[str, ...], uniforms: Tensor) -> Tensor:
    """Apply the named augmentations in order to images ``x`` (N, C, H, W), differentiably.

    ``uniforms`` (N, uniforms_needed(names)) in [0, 1) supplies every random choice.
    """
    if x.ndim != 4:
        raise ValueError(f"augment: expected images (N, C, H, W), got shape {tuple(x.shape)}")
    if uniforms.shape != (x.shape[0], uniforms_needed(names)):
        raise ValueError(f"augment: uniforms of shape {tuple(uniforms.shape)} for {x.shape[0]} images and "
                         f"{names}; expected {(x.shape[0], uniforms_needed(names))}")
    column = 0
    for name in names:
        apply, width = POLICIES[name]
        x = apply(x, uniforms[:, column : column + width].float())
        column += width
    return x
