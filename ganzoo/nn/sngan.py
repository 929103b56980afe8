"""The SN-GAN networks (Miyato et al. 2018, "Spectral Normalization for Generative Adversarial Networks").

Two families, both for 32x32 images:

- The "standard CNN" of Table 3: ``SNGANCNNGenerator`` / ``SNGANCNNDiscriminator``. Weights ~ N(0, 0.02)
  as in the authors' chainer-gan-lib (``DCGANGenerator`` / ``SNDCGANDiscriminator``, ``wscale=0.02``).
- The ResNet of Table 4 (after Gulrajani et al. 2017): ``ResNetGenerator`` / ``ResNetDiscriminator``.
  Glorot-uniform weights with gain sqrt(2) in the residual convs and 1 in shortcuts and the linear/output
  layers, zero biases, as in the authors' sngan_projection code (gen_models/resblocks.py,
  dis_models/resblocks.py, snresnet_32.py).

Spectral norm applies to every conv and linear layer of the discriminators, shortcuts included.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.nn.base import Discriminator, Generator, register_network
from ganzoo.nn.layers import check_positive, maybe_spectral_norm, normal_init, xavier_init

RESIDUAL_GAIN = math.sqrt(2.0)  # Glorot gain of the 3x3 convs inside residual blocks (ReLU follows them)


# ------------------------------------------------------------------------------------- standard CNN


@register_network
class SNGANCNNGenerator(Generator):
    """Table 3(a): dense -> bottom x bottom x width, three 4x4 stride-2 deconvs (BN, ReLU) halving the
    width, 3x3 conv to ``channels``, tanh. Output side is ``8 * bottom_width`` (4 -> 32 for CIFAR-10,
    6 -> 48 for STL-10).

    The dense output is batch-normalised per channel after the reshape (BatchNorm2d), where
    chainer-gan-lib normalises each of its bottom*bottom*width features separately (BatchNorm1d);
    per-channel statistics match every other layer and work for a batch of one.
    """

    def __init__(self, latent_dim: int = 128, channels: int = 3, bottom_width: int = 4, width: int = 512) -> None:
        check_positive(latent_dim=latent_dim, channels=channels, bottom_width=bottom_width, width=width)
        if width % 8:
            raise ValueError(f"width must be divisible by 8 (three halvings), got {width}")
        side = 8 * bottom_width
        super().__init__(latent_dim, (channels, side, side))
        self.bottom_width = bottom_width
        self.width = width

        self.project = normal_init(nn.Linear(latent_dim, bottom_width * bottom_width * width, bias=False))
        layers: list[nn.Module] = [nn.BatchNorm2d(width), nn.ReLU()]
        for c_in in (width, width // 2, width // 4):
            upsample = normal_init(nn.ConvTranspose2d(c_in, c_in // 2, 4, 2, 1, bias=False))
            layers += [upsample, nn.BatchNorm2d(c_in // 2), nn.ReLU()]
        layers += [normal_init(nn.Conv2d(width // 8, channels, 3, 1, 1)), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self._record_config(locals())

    def forward(self, z: Tensor) -> Tensor:
        self.check_latent(z)
        h = self.project(z).view(z.shape[0], self.width, self.bottom_width, self.bottom_width)
        return self.net(h)


@register_network
class SNGANCNNDiscriminator(Discriminator):
    """Table 3(b): seven convs with LeakyReLU(0.1), widths 64-64-128-128-256-256-512 (for ``width=512``),
    kernels 3-4-3-4-3-4-3 (the 4x4 ones stride 2), then dense -> 1.

    These are the paper's widths; the authors' chainer-gan-lib ``SNDCGANDiscriminator`` widens one step
    earlier (64-128-128-256-256-512-512). ``resolution`` (32 for CIFAR-10, 48 for STL-10) fixes the dense
    layer's input size; ``width`` scales all widths (for tests / small models).
    """

    def __init__(self, channels: int = 3, spectral_norm: bool = True, resolution: int = 32, width: int = 512) -> None:
        check_positive(channels=channels, resolution=resolution, width=width)
        if resolution % 8:
            raise ValueError(f"resolution must be divisible by 8 (three stride-2 convs), got {resolution}")
        if width % 8:
            raise ValueError(f"width must be divisible by 8, got {width}")
        super().__init__((channels, resolution, resolution))

        # (out_channels, kernel, stride, padding) per row of Table 3(b)
        plan = [
            (width // 8, 3, 1, 1), (width // 8, 4, 2, 1),
            (width // 4, 3, 1, 1), (width // 4, 4, 2, 1),
            (width // 2, 3, 1, 1), (width // 2, 4, 2, 1),
            (width, 3, 1, 1),
        ]  # fmt: skip
        layers: list[nn.Module] = []
        c_in = channels
        for c_out, kernel, stride, padding in plan:
            conv = normal_init(nn.Conv2d(c_in, c_out, kernel, stride, padding))
            layers += [maybe_spectral_norm(conv, spectral_norm), nn.LeakyReLU(0.1)]
            c_in = c_out
        bottom = resolution // 8
        layers += [nn.Flatten(), maybe_spectral_norm(normal_init(nn.Linear(bottom * bottom * width, 1)), spectral_norm)]
        self.net = nn.Sequential(*layers)
        self._record_config(locals())

    def forward(self, x: Tensor) -> Tensor:
        self.check_input(x)
        return self.net(x).squeeze(1)


# ------------------------------------------------------------------------------------------ ResNet


def _glorot_conv(c_in: int, c_out: int, kernel: int, gain: float, spectral_norm: bool = False) -> nn.Module:
    """A stride-1 "same" conv, Glorot-initialised, optionally spectrally normalised."""
    conv = xavier_init(nn.Conv2d(c_in, c_out, kernel, 1, kernel // 2), gain)
    return maybe_spectral_norm(conv, spectral_norm)


def _upsample(x: Tensor) -> Tensor:
    return F.interpolate(x, scale_factor=2, mode="nearest")  # chainer's unpooling_2d(x, 2)


def _downsample(x: Tensor) -> Tensor:
    return F.avg_pool2d(x, 2)


class GeneratorBlock(nn.Module):
    """Pre-activation residual block, "ResBlock up" (Figure 8 of the paper):
    BN-ReLU-upsample-conv3x3-BN-ReLU-conv3x3, plus upsample-conv1x1 on the shortcut."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.conv1 = _glorot_conv(in_channels, out_channels, 3, RESIDUAL_GAIN)
        self.norm2 = nn.BatchNorm2d(out_channels)
        self.conv2 = _glorot_conv(out_channels, out_channels, 3, RESIDUAL_GAIN)
        self.shortcut = _glorot_conv(in_channels, out_channels, 1, 1.0)

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv1(_upsample(F.relu(self.norm1(x))))
        h = self.conv2(F.relu(self.norm2(h)))
        return h + self.shortcut(_upsample(x))


class DiscriminatorBlock(nn.Module):
    """Pre-activation residual block without norm: ReLU-conv3x3-ReLU-conv3x3[-avgpool]; the shortcut is
    conv1x1[-avgpool] when the block changes width or resolution, else the identity."""

    def __init__(self, in_channels: int, out_channels: int, downsample: bool, spectral_norm: bool) -> None:
        super().__init__()
        self.downsample = downsample
        self.conv1 = _glorot_conv(in_channels, in_channels, 3, RESIDUAL_GAIN, spectral_norm)
        self.conv2 = _glorot_conv(in_channels, out_channels, 3, RESIDUAL_GAIN, spectral_norm)
        learnable_shortcut = downsample or in_channels != out_channels
        self.shortcut = (
            _glorot_conv(in_channels, out_channels, 1, 1.0, spectral_norm) if learnable_shortcut else nn.Identity()
        )

    def forward(self, x: Tensor) -> Tensor:
        # Not in-place: x also feeds the shortcut.
        h = self.conv2(F.relu(self.conv1(F.relu(x))))
        skip = self.shortcut(x)
        if self.downsample:
            h, skip = _downsample(h), _downsample(skip)
        return h + skip


class OptimizedDiscriminatorBlock(nn.Module):
    """The first discriminator block: conv3x3-ReLU-conv3x3-avgpool, shortcut avgpool-conv1x1. No ReLU on
    the raw image, and pooling before the 1x1 conv saves compute (Miyato's ``OptimizedBlock``)."""

    def __init__(self, in_channels: int, out_channels: int, spectral_norm: bool) -> None:
        super().__init__()
        self.conv1 = _glorot_conv(in_channels, out_channels, 3, RESIDUAL_GAIN, spectral_norm)
        self.conv2 = _glorot_conv(out_channels, out_channels, 3, RESIDUAL_GAIN, spectral_norm)
        self.shortcut = _glorot_conv(in_channels, out_channels, 1, 1.0, spectral_norm)

    def forward(self, x: Tensor) -> Tensor:
        h = _downsample(self.conv2(F.relu(self.conv1(x))))
        return h + self.shortcut(_downsample(x))


@register_network
class ResNetGenerator(Generator):
    """Table 4(a), 32x32: dense -> 4x4xwidth, three "ResBlock up" (width kept), BN, ReLU, 3x3 conv, tanh.

    ``width=256`` is SN-GAN's (the paper doubles Gulrajani et al.'s 128)."""

    BOTTOM_WIDTH = 4

    def __init__(self, latent_dim: int = 128, channels: int = 3, width: int = 256) -> None:
        check_positive(latent_dim=latent_dim, channels=channels, width=width)
        side = self.BOTTOM_WIDTH * 2**3
        super().__init__(latent_dim, (channels, side, side))
        self.width = width
        self.project = xavier_init(nn.Linear(latent_dim, self.BOTTOM_WIDTH**2 * width))
        self.blocks = nn.Sequential(*(GeneratorBlock(width, width) for _ in range(3)))
        self.norm = nn.BatchNorm2d(width)
        self.to_image = xavier_init(nn.Conv2d(width, channels, 3, 1, 1))
        self._record_config(locals())

    def forward(self, z: Tensor) -> Tensor:
        self.check_latent(z)
        h = self.project(z).view(z.shape[0], self.width, self.BOTTOM_WIDTH, self.BOTTOM_WIDTH)
        h = F.relu(self.norm(self.blocks(h)))
        return torch.tanh(self.to_image(h))


@register_network
class ResNetDiscriminator(Discriminator):
    """Table 4(b), 32x32: optimized "ResBlock down", "ResBlock down", two plain ResBlocks (all ``width``
    channels), ReLU, global sum pooling, dense -> 1 (no bias, as in Miyato's ``snresnet_32.py``)."""

    RESOLUTION = 32

    def __init__(self, channels: int = 3, width: int = 128, spectral_norm: bool = True) -> None:
        check_positive(channels=channels, width=width)
        super().__init__((channels, self.RESOLUTION, self.RESOLUTION))
        self.blocks = nn.Sequential(
            OptimizedDiscriminatorBlock(channels, width, spectral_norm),
            DiscriminatorBlock(width, width, downsample=True, spectral_norm=spectral_norm),
            DiscriminatorBlock(width, width, downsample=False, spectral_norm=spectral_norm),
            DiscriminatorBlock(width, width, downsample=False, spectral_norm=spectral_norm),
        )
        self.linear = maybe_spectral_norm(xavier_init(nn.Linear(width, 1, bias=False)), spectral_norm)
        self._record_config(locals())

    def forward(self, x: Tensor) -> Tensor:
        self.check_input(x)
        features = F.relu(self.blocks(x)).sum(dim=(2, 3))  # global sum pooling
        return self.linear(features).squeeze(1)
