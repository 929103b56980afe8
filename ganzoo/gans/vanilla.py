"""Vanilla GAN (Goodfellow et al. 2014): MLP generator and discriminator.

The paper's generator loss is the saturating minimax log(1 - D(G(z))); it also
recommends the non-saturating -log D(G(z)) in practice, which is our default
(``loss="minimax"`` selects the original).
"""
from __future__ import annotations

from typing import Any, Optional

from ganzoo.gans.base import GAN
from ganzoo.nn.base import Discriminator, Generator


class VanillaGAN(GAN):
    default_generator = {"name": "MLPGenerator", "kwargs": {"latent_dim": 2, "out_dim": 2}}
    default_discriminator = {"name": "MLPDiscriminator", "kwargs": {"in_dim": 2}}

    def __init__(
        self,
        generator: Optional[Generator] = None,
        discriminator: Optional[Discriminator] = None,
        loss: str = "nonsaturating",
        g_lr: float = 2e-4,
        d_lr: float = 2e-4,
        g_betas: tuple[float, float] = (0.5, 0.999),
        d_betas: tuple[float, float] = (0.5, 0.999),
        **kwargs: Any,
    ) -> None:
        super().__init__(
            generator, discriminator, loss=loss, g_lr=g_lr, d_lr=d_lr, g_betas=g_betas, d_betas=d_betas, **kwargs
        )
