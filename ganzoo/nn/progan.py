"""Progressively grown generator and discriminator (Karras et al. 2018, ICLR,
"Progressive Growing of GANs for Improved Quality, Stability, and Variation").

Both networks start at 4x4 and grow by doubling the resolution up to ``resolution``
(a power of two >= 4; the paper goes to 1024). Every level is built up front, so the
parameter set never changes during training (DDP forbids adding parameters after
wrapping); which part of the network runs is chosen by ``set_stage(level, alpha)``:

* level ``k`` works at ``4 * 2**k`` pixels; ``max_level = log2(resolution) - 2``;
* ``alpha`` in [0, 1] fades the newest level in. While fading in, G outputs
  ``(1 - alpha) * upsample(toRGB_{k-1}(h_{k-1})) + alpha * toRGB_k(block_k(h_{k-1}))``
  and D mirrors it: ``(1 - alpha) * fromRGB_{k-1}(downsample(x)) + alpha * block_k(fromRGB_k(x))``
  (Section 2, Figure 2). At ``alpha = 0`` the grown networks compute exactly what the
  previous level computed (nearest-neighbour upsampling, 2x2 average pooling), so growing
  is seamless.

A freshly built network is at its final stage (``max_level``, ``alpha = 1``): that is the
network a published generator is, so ``ganzoo.load`` gives full-resolution images. The
stage is a plain attribute, not a buffer: it is a training-time setting owned by the
LightningModule (``ganzoo.gans.ProGAN``), which checkpoints it.

Building blocks (Section 4 and Appendix A.1 of the paper, and the official code):

* **Equalized learning rate**: weights are initialised N(0, 1) and multiplied at run time
  by ``c = gain / sqrt(fan_in)`` (He's constant, ``gain = sqrt(2)``), so Adam's
  scale-invariant steps change every layer at the same relative speed. The official code
  uses ``gain = 1`` for toRGB and the final linear layer, and the generator's first layer is
  the paper's "4x4 conv" on the latent (a dense layer; fan-in ``16 * latent_dim``).
* **Pixel-wise feature normalisation** in G after every conv: ``b = a / sqrt(mean_c(a^2) + 1e-8)``;
  the latent is normalised the same way (onto the sphere of radius sqrt(latent_dim)).
* **Minibatch standard deviation** in D before its last block: the standard deviation of
  every feature over a group of samples, averaged into one number per group and appended
  as an extra constant feature map (groups of 4 in the official TF code, the whole
  minibatch in the paper's Theano code: ``mbstd_group_size``).
* Leaky ReLU (0.2) everywhere, no batch norm, linear output (no tanh): the generator's
  output is clamped to [-1, 1] in eval mode only (sampling, published weights), so training
  sees the paper's linear output while samples honour ``Generator``'s [-1, 1] contract.

Feature maps per level follow the paper's ``nf(stage) = min(fmap_base / 2**stage, fmap_max)``
(8192 / 512 for CelebA-HQ, 4096 / 128 for CIFAR-10).
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.nn.base import Discriminator, Generator, register_network
from ganzoo.nn.layers import check_positive, maybe_spectral_norm

SQRT2 = math.sqrt(2.0)
LEAKY_SLOPE = 0.2
PIXEL_NORM_EPSILON = 1e-8
MIN_RESOLUTION = 4


# ----------------------------------------------------------------------------------- building blocks


class EqualizedLinear(nn.Module):
    """A linear layer with equalized learning rate: ``y = x (c W)^T + b``, ``W ~ N(0, 1)``,
    ``c = gain / sqrt(fan_in)`` applied at every forward pass (never folded into ``W``).

    ``fan_in`` defaults to ``in_features``; pass it to treat the layer as the conv it stands
    for (G's first layer is the paper's 4x4 conv on the latent: fan-in ``16 * latent_dim``).
    """

    def __init__(self, in_features: int, out_features: int, gain: float = SQRT2, fan_in: Optional[int] = None) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.fan_in = int(fan_in if fan_in is not None else in_features)
        self.gain = float(gain)
        self.weight_scale = self.gain / math.sqrt(self.fan_in)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.weight_scale, self.bias)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[1]}, {self.weight.shape[0]}, weight_scale={self.weight_scale:.4g}"


class EqualizedConv2d(nn.Module):
    """A stride-1 conv with equalized learning rate (``c = gain / sqrt(in_channels * k * k)``)
    and "same" padding for odd kernels (``padding=0`` gives a valid conv)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, gain: float = SQRT2,
                 padding: Optional[int] = None) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.padding = kernel_size // 2 if padding is None else int(padding)
        self.fan_in = in_channels * kernel_size * kernel_size
        self.gain = float(gain)
        self.weight_scale = self.gain / math.sqrt(self.fan_in)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.weight_scale, self.bias, padding=self.padding)

    def extra_repr(self) -> str:
        out_channels, in_channels, kernel, _ = self.weight.shape
        return (f"{in_channels}, {out_channels}, kernel_size={kernel}, padding={self.padding}, "
                f"weight_scale={self.weight_scale:.4g}")


def pixel_norm(x: Tensor, epsilon: float = PIXEL_NORM_EPSILON) -> Tensor:
    """``x / sqrt(mean over channels of x^2 + epsilon)`` at every pixel (dim 1 is the channel)."""
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + epsilon)


def minibatch_stddev(x: Tensor, group_size: int) -> Tensor:
    """Append one feature map: the mean over (C, H, W) of each feature's standard deviation
    over a group of samples (population std, ``sqrt(var + 1e-8)``).

    Groups are consecutive samples (``i // G``), ``G = min(group_size, N)``, which must divide
    the batch. (The official code groups with a stride, ``i % (N // G)``; consecutive groups are
    as random, since batches are shuffled, and stay the same when a global batch is split into
    per-process slices of a multiple of G samples, so 1 and N processes train alike.)
    Computed in float32 at least (half precision would lose the small variances).
    """
    n, channels, height, width = x.shape
    group = min(group_size, n)
    if n % group:
        raise ValueError(
            f"minibatch standard deviation: batch size {n} is not divisible by the group size {group}; "
            f"use a batch size that is a multiple of {group} (or set mbstd_group_size)"
        )
    y = x.to(torch.promote_types(x.dtype, torch.float32)).reshape(n // group, group, channels, height, width)
    std = (y.var(dim=1, unbiased=False) + 1e-8).sqrt()  # (N / G, C, H, W)
    stat = std.mean(dim=(1, 2, 3)).to(x.dtype).repeat_interleave(group)  # (N,)
    return torch.cat([x, stat.reshape(n, 1, 1, 1).expand(n, 1, height, width)], dim=1)


class MinibatchStdDev(nn.Module):
    def __init__(self, group_size: int) -> None:
        super().__init__()
        self.group_size = int(group_size)

    def forward(self, x: Tensor) -> Tensor:
        return minibatch_stddev(x, self.group_size)

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}"


def upsample2x(x: Tensor) -> Tensor:
    """Nearest-neighbour doubling (what G's new level and the fade-in's skip path use)."""
    return F.interpolate(x, scale_factor=2, mode="nearest")


def downsample2x(x: Tensor) -> Tensor:
    """2x2 box filter (average pooling): the paper's downsampling for D and for real images."""
    return F.avg_pool2d(x, 2)


def _leaky() -> nn.Module:
    return nn.LeakyReLU(LEAKY_SLOPE)


# ----------------------------------------------------------------------------------- geometry


def levels_for(resolution: int) -> int:
    """Number of levels from 4x4 to ``resolution`` (4 -> 1, 8 -> 2, 32 -> 4, 1024 -> 9)."""
    if not isinstance(resolution, int) or resolution < MIN_RESOLUTION or resolution & (resolution - 1):
        raise ValueError(
            f"ProGAN resolution must be a power of two >= {MIN_RESOLUTION} (4, 8, ..., 1024), got {resolution!r}"
        )
    return resolution.bit_length() - 2  # log2(resolution) - 1


def resolution_at(level: int) -> int:
    """Side length at ``level``: 4 * 2**level."""
    return MIN_RESOLUTION * 2**level


def feature_maps(num_levels: int, fmap_base: int, fmap_max: int) -> list[int]:
    """Channels at each level: ``min(fmap_base // 2**(level + 1), fmap_max)`` (the paper's nf)."""
    widths = [min(fmap_base // 2 ** (level + 1), fmap_max) for level in range(num_levels)]
    if widths[-1] < 1:
        raise ValueError(
            f"fmap_base={fmap_base} leaves no feature maps at resolution {resolution_at(num_levels - 1)}; "
            f"use fmap_base >= {2 ** num_levels}"
        )
    return widths


class _StagedNetwork:
    """The ``set_stage`` / ``level`` / ``alpha`` API shared by G and D."""

    num_levels: int
    level: int
    alpha: float

    @property
    def max_level(self) -> int:
        return self.num_levels - 1

    @property
    def current_resolution(self) -> int:
        return resolution_at(self.level)

    def set_stage(self, level: int, alpha: float = 1.0) -> None:
        """Run levels 0..``level``; ``alpha`` < 1 blends the newest level with the previous one."""
        level, alpha = int(level), float(alpha)
        if not 0 <= level <= self.max_level:
            raise ValueError(f"level must be in [0, {self.max_level}] for this network, got {level}")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha (fade-in weight) must be in [0, 1], got {alpha}")
        self.level, self.alpha = level, alpha


# ----------------------------------------------------------------------------------- generator


class _GeneratorFirstBlock(nn.Module):
    """latent -> 4x4: the paper's 4x4 conv on the latent (a dense layer), then a 3x3 conv."""

    def __init__(self, latent_dim: int, width: int) -> None:
        super().__init__()
        self.width = width
        self.dense = EqualizedLinear(latent_dim, 16 * width, fan_in=16 * latent_dim)
        self.conv = EqualizedConv2d(width, width, 3)
        self.act = _leaky()

    def forward(self, z: Tensor) -> Tensor:
        x = self.dense(z).reshape(z.shape[0], self.width, 4, 4)
        x = pixel_norm(self.act(x))
        return pixel_norm(self.act(self.conv(x)))


class _GeneratorUpBlock(nn.Module):
    """Double the resolution (nearest), then two 3x3 convs, each with leaky ReLU and pixel norm."""

    def __init__(self, in_width: int, out_width: int) -> None:
        super().__init__()
        self.conv0 = EqualizedConv2d(in_width, out_width, 3)
        self.conv1 = EqualizedConv2d(out_width, out_width, 3)
        self.act = _leaky()

    def forward(self, x: Tensor) -> Tensor:
        x = pixel_norm(self.act(self.conv0(upsample2x(x))))
        return pixel_norm(self.act(self.conv1(x)))


@register_network
class ProGANGenerator(_StagedNetwork, Generator):
    """z (N, latent_dim) -> images (N, channels, r, r) with ``r`` the current stage's resolution
    (``resolution`` once fully grown, which is the default stage).

    Args:
        latent_dim: 512 in the paper, 128 for its CIFAR-10 run.
        resolution: final side length, a power of two >= 4.
        channels: image channels.
        fmap_base, fmap_max: feature maps per level, ``min(fmap_base / 2**(level+1), fmap_max)``.
        normalize_latents: pixel-normalise z first (the official code does).
        sample_crop: side of the centre crop that ``sample()`` returns (e.g. 28 for data padded from
            28x28 to 32x32: samples then have the data set's own size). Training never crops.

    ``sample()`` always returns the final resolution: before the network is fully grown, the current
    stage's images are enlarged (nearest neighbour), as they are when D compares them with real data.
    """

    def __init__(self, latent_dim: int = 512, resolution: int = 32, channels: int = 3, fmap_base: int = 8192,
                 fmap_max: int = 512, normalize_latents: bool = True, sample_crop: Optional[int] = None) -> None:
        check_positive(latent_dim=latent_dim, channels=channels, fmap_base=fmap_base, fmap_max=fmap_max)
        if sample_crop is not None and not 1 <= int(sample_crop) <= resolution:
            raise ValueError(f"sample_crop must be between 1 and the resolution {resolution}, got {sample_crop}")
        self.sample_crop = None if sample_crop is None else int(sample_crop)
        num_levels = levels_for(resolution)
        super().__init__(latent_dim, (channels, resolution, resolution))
        self.num_levels = num_levels
        widths = feature_maps(self.num_levels, fmap_base, fmap_max)
        self.normalize_latents = bool(normalize_latents)
        self.blocks = nn.ModuleList(
            [_GeneratorFirstBlock(latent_dim, widths[0])]
            + [_GeneratorUpBlock(widths[level - 1], widths[level]) for level in range(1, self.num_levels)]
        )
        self.to_rgb = nn.ModuleList([EqualizedConv2d(width, channels, 1, gain=1.0) for width in widths])
        self.set_stage(self.max_level, 1.0)
        self._record_config(locals())

    def forward(self, z: Tensor) -> Tensor:
        self.check_latent(z)
        x = pixel_norm(z) if self.normalize_latents else z
        features = self.blocks[0](x)
        for level in range(1, self.level):
            features = self.blocks[level](features)
        if self.level == 0:
            images = self.to_rgb[0](features)
        else:
            images = self.to_rgb[self.level](self.blocks[self.level](features))
            if self.alpha < 1.0:
                previous = upsample2x(self.to_rgb[self.level - 1](features))
                images = torch.lerp(previous, images, self.alpha)
        # Linear output while training (the paper); [-1, 1] when sampling.
        return images if self.training else images.clamp(-1.0, 1.0)

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None, batch_size: int = 1024) -> Tensor:
        images = super().sample(n, seed=seed, batch_size=batch_size)
        final = self.output_shape[-1]
        if images.shape[-1] < final:  # not fully grown yet
            images = F.interpolate(images, size=(final, final), mode="nearest")
        if self.sample_crop is not None and self.sample_crop < final:
            start = (final - self.sample_crop) // 2
            images = images[..., start:start + self.sample_crop, start:start + self.sample_crop]
        return images.contiguous()


# ----------------------------------------------------------------------------------- discriminator


class _DiscriminatorDownBlock(nn.Module):
    """Two 3x3 convs with leaky ReLU, then halve the resolution (2x2 average pooling)."""

    def __init__(self, in_width: int, out_width: int) -> None:
        super().__init__()
        self.conv0 = EqualizedConv2d(in_width, in_width, 3)
        self.conv1 = EqualizedConv2d(in_width, out_width, 3)
        self.act = _leaky()

    def forward(self, x: Tensor) -> Tensor:
        x = self.act(self.conv0(x))
        return downsample2x(self.act(self.conv1(x)))


class _DiscriminatorLastBlock(nn.Module):
    """4x4 -> score: minibatch stddev, 3x3 conv, 4x4 conv (valid, i.e. dense), linear to one score."""

    def __init__(self, width: int, mbstd_group_size: int) -> None:
        super().__init__()
        self.mbstd = MinibatchStdDev(mbstd_group_size) if mbstd_group_size > 0 else None
        extra = 1 if self.mbstd is not None else 0
        self.conv = EqualizedConv2d(width + extra, width, 3)
        self.conv4x4 = EqualizedConv2d(width, width, 4, padding=0)
        self.linear = EqualizedLinear(width, 1, gain=1.0)
        self.act = _leaky()

    def forward(self, x: Tensor) -> Tensor:
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.act(self.conv(x))
        x = self.act(self.conv4x4(x)).flatten(1)
        return self.linear(x)


@register_network
class ProGANDiscriminator(_StagedNetwork, Discriminator):
    """images (N, channels, r, r) at the current stage's resolution -> raw scores (N,).

    Args:
        resolution, channels, fmap_base, fmap_max: as for ``ProGANGenerator``.
        mbstd_group_size: samples per minibatch-stddev group (4 in the official TF code; the
            batch size reproduces the paper's Theano code; 0 switches the layer off).
        output_scale: a fixed factor on the score. ``1 / gamma`` with ``gp_weight = lambda / gamma``
            and ``drift_weight = eps * gamma`` reproduces the paper's CIFAR-10 penalty
            ``lambda / gamma^2 * (||grad D|| - gamma)^2`` (gamma = 750) with the standard
            1-centred penalty: the loss is the paper's divided by gamma, which Adam does not see.
        spectral_norm: spectral normalisation (Miyato et al. 2018) of every conv / linear weight
            (not in the paper: for the combination study, ``docs/combined.md``). The equalized
            learning-rate scale is then 1: W / sigma(W) already has unit spectral norm, and a
            constant factor on it would only move the layer's Lipschitz bound away from 1.
    """

    def __init__(self, resolution: int = 32, channels: int = 3, fmap_base: int = 8192, fmap_max: int = 512,
                 mbstd_group_size: int = 4, output_scale: float = 1.0, spectral_norm: bool = False) -> None:
        check_positive(channels=channels, fmap_base=fmap_base, fmap_max=fmap_max)
        if not isinstance(mbstd_group_size, int) or mbstd_group_size < 0:
            raise ValueError(f"mbstd_group_size must be an integer >= 0 (0 = off), got {mbstd_group_size!r}")
        if not (output_scale > 0 and math.isfinite(output_scale)):
            raise ValueError(f"output_scale must be a finite number > 0, got {output_scale!r}")
        num_levels = levels_for(resolution)
        super().__init__((channels, resolution, resolution))
        self.num_levels = num_levels
        widths = feature_maps(self.num_levels, fmap_base, fmap_max)
        self.output_scale = float(output_scale)
        self.from_rgb = nn.ModuleList(
            [nn.Sequential(EqualizedConv2d(channels, width, 1), _leaky()) for width in widths]
        )
        self.blocks = nn.ModuleList(
            [_DiscriminatorLastBlock(widths[0], mbstd_group_size)]
            + [_DiscriminatorDownBlock(widths[level], widths[level - 1]) for level in range(1, self.num_levels)]
        )
        if spectral_norm:
            for layer in self.modules():
                if isinstance(layer, (EqualizedConv2d, EqualizedLinear)):
                    layer.weight_scale = 1.0
                    maybe_spectral_norm(layer, True)
        self.set_stage(self.max_level, 1.0)
        self._record_config(locals())

    def check_input(self, x: Tensor) -> None:
        expected = (self.input_shape[0], self.current_resolution, self.current_resolution)
        if tuple(x.shape[1:]) != expected:
            raise ValueError(
                f"ProGANDiscriminator at level {self.level} expects inputs of shape (N, {', '.join(map(str, expected))}) "
                f"but got {tuple(x.shape)}; real batches are downsampled to the current stage's resolution "
                "(ProGAN.prepare_real) and the generator must be at the same stage"
            )

    def forward(self, x: Tensor) -> Tensor:
        self.check_input(x)
        features = self.from_rgb[self.level](x)
        if self.level > 0:
            features = self.blocks[self.level](features)
            if self.alpha < 1.0:
                previous = self.from_rgb[self.level - 1](downsample2x(x))
                features = torch.lerp(previous, features, self.alpha)
            for level in range(self.level - 1, 0, -1):
                features = self.blocks[level](features)
        scores = self.blocks[0](features).reshape(x.shape[0])
        return scores * self.output_scale if self.output_scale != 1.0 else scores
