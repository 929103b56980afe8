"""DCGAN (Radford et al. 2015, "Unsupervised Representation Learning with Deep Convolutional GANs").

Generator: project z to a ``bottom x bottom`` map (a transposed conv on a 1x1 input, i.e. the paper's
"project and reshape"), then stride-2 transposed convs that double the resolution and halve the width,
BatchNorm + ReLU everywhere but the tanh output. Discriminator: the mirror image with stride-2 convs,
LeakyReLU(0.2), no normalisation on the first layer, and a final ``bottom x bottom`` conv to one score.
Weights ~ N(0, 0.02), norm scales ~ N(1, 0.02) (section 4 of the paper and its reference code).

Resolutions: 28 = 7 -> 14 -> 28 (MNIST / Fashion-MNIST), 32 = 4 -> 8 -> 16 -> 32, 64 = 4 -> ... -> 64; in
general ``bottom * 2**k`` with bottom 4 or 7. With ``base_width=64`` and resolution 64 the widths are
512-256-128-64 as in the paper (Figure 1 shows 1024-512-256-128 for LSUN).
"""
from __future__ import annotations

from torch import Tensor, nn

from ganzoo.nn.base import Discriminator, Generator, register_network
from ganzoo.nn.layers import (
    NORM_KINDS,
    check_choice,
    check_positive,
    dcgan_norm_init,
    make_norm,
    maybe_spectral_norm,
    normal_init,
)


def stage_plan(resolution: int) -> tuple[int, int]:
    """``(bottom, n_stages)`` with ``resolution == bottom * 2**n_stages``: 28 -> (7, 2), 32 -> (4, 3), 64 -> (4, 4)."""
    for bottom in (4, 7):
        ratio, remainder = divmod(resolution, bottom)
        if remainder == 0 and ratio >= 2 and ratio & (ratio - 1) == 0:
            return bottom, ratio.bit_length() - 1
    raise ValueError(
        f"DCGAN resolution must be 4 * 2**k or 7 * 2**k with k >= 1 (e.g. 28, 32, 64), got {resolution!r}"
    )


@register_network
class DCGANGenerator(Generator):
    """z (N, latent_dim) -> images (N, channels, resolution, resolution) in [-1, 1]."""

    def __init__(self, latent_dim: int = 100, resolution: int = 32, channels: int = 3, base_width: int = 64) -> None:
        check_positive(latent_dim=latent_dim, resolution=resolution, channels=channels, base_width=base_width)
        bottom, n_stages = stage_plan(resolution)
        super().__init__(latent_dim, (channels, resolution, resolution))

        width = base_width * 2 ** (n_stages - 1)
        # Biases are dropped before batch norm, whose shift makes them redundant.
        layers: list[nn.Module] = [
            normal_init(nn.ConvTranspose2d(latent_dim, width, bottom, 1, 0, bias=False)),
            dcgan_norm_init(nn.BatchNorm2d(width)),
            nn.ReLU(),
        ]
        for _ in range(n_stages - 1):
            layers += [
                normal_init(nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False)),
                dcgan_norm_init(nn.BatchNorm2d(width // 2)),
                nn.ReLU(),
            ]
            width //= 2
        layers += [normal_init(nn.ConvTranspose2d(width, channels, 4, 2, 1)), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self._record_config(locals())

    def forward(self, z: Tensor) -> Tensor:
        self.check_latent(z)
        return self.net(z[:, :, None, None])


@register_network
class DCGANDiscriminator(Discriminator):
    """images (N, channels, resolution, resolution) -> raw scores (N,).

    ``norm``: "batch" (the paper), "layer", "instance" or "none" (required for WGAN-GP critics, see
    ``make_norm``). ``spectral_norm`` wraps every conv (SN-DCGAN). The first layer is never normalised.
    """

    def __init__(
        self,
        resolution: int = 32,
        channels: int = 3,
        base_width: int = 64,
        norm: str = "batch",
        spectral_norm: bool = False,
    ) -> None:
        check_positive(resolution=resolution, channels=channels, base_width=base_width)
        bottom, n_stages = stage_plan(resolution)
        check_choice("norm", norm, NORM_KINDS)
        super().__init__((channels, resolution, resolution))

        def conv(c_in: int, c_out: int, kernel: int, stride: int, padding: int, bias: bool = True) -> nn.Module:
            layer = normal_init(nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=bias))
            return maybe_spectral_norm(layer, spectral_norm)

        width = base_width
        layers: list[nn.Module] = [conv(channels, width, 4, 2, 1), nn.LeakyReLU(0.2)]
        for _ in range(n_stages - 1):
            layers += [
                conv(width, width * 2, 4, 2, 1, bias=norm == "none"),
                dcgan_norm_init(make_norm(norm, width * 2)),
                nn.LeakyReLU(0.2),
            ]
            width *= 2
        layers.append(conv(width, 1, bottom, 1, 0))
        self.net = nn.Sequential(*layers)
        self._record_config(locals())

    def forward(self, x: Tensor) -> Tensor:
        self.check_input(x)
        return self.net(x).reshape(x.shape[0])
