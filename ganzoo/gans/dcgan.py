"""DCGAN (Radford et al. 2015): all-convolutional G with BatchNorm, LeakyReLU D.

Paper settings: Adam lr 2e-4, beta1 0.5, batch 128, weights N(0, 0.02),
non-saturating loss, one D step per G step.
"""
from __future__ import annotations

from typing import Any, Optional

from ganzoo.gans.base import GAN
from ganzoo.nn.base import Discriminator, Generator


class DCGAN(GAN):
    default_generator = {"name": "DCGANGenerator", "kwargs": {"latent_dim": 100, "resolution": 32, "channels": 3}}
    default_discriminator = {"name": "DCGANDiscriminator", "kwargs": {"resolution": 32, "channels": 3, "norm": "batch"}}

    def __init__(
        self,
        generator: Optional[Generator] = None,
        discriminator: Optional[Discriminator] = None,
        loss: str = "nonsaturating",
        g_lr: float = 2e-4,
        d_lr: float = 2e-4,
        g_betas: tuple[float, float] = (0.5, 0.999),
        d_betas: tuple[float, float] = (0.5, 0.999),
        n_critic: int = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            generator, discriminator, loss=loss, g_lr=g_lr, d_lr=d_lr, g_betas=g_betas, d_betas=d_betas,
            n_critic=n_critic, **kwargs,
        )
