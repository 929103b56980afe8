"""SN-GAN (Miyato et al. 2018): spectral normalisation in every discriminator layer.

Paper settings for the CIFAR-10 ResNet: hinge loss, Adam lr 2e-4, betas (0, 0.9),
n_dis = 5, batch 64. CIFAR-10 result (ResNet, hinge): Inception score 8.22, FID 21.7.
"""
from __future__ import annotations

from typing import Any, Optional

from ganzoo.gans.base import GAN
from ganzoo.nn.base import Discriminator, Generator


class SNGAN(GAN):
    variant_id = "sngan"  # the name in recipes, registry entries and messages
    default_generator = {"name": "ResNetGenerator", "kwargs": {"latent_dim": 128, "channels": 3, "width": 256}}
    default_discriminator = {"name": "ResNetDiscriminator", "kwargs": {"channels": 3, "width": 128, "spectral_norm": True}}

    def __init__(
        self,
        generator: Optional[Generator] = None,
        discriminator: Optional[Discriminator] = None,
        loss: str = "hinge",
        g_lr: float = 2e-4,
        d_lr: float = 2e-4,
        g_betas: tuple[float, float] = (0.0, 0.9),
        d_betas: tuple[float, float] = (0.0, 0.9),
        n_critic: int = 5,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            generator, discriminator, loss=loss, g_lr=g_lr, d_lr=d_lr, g_betas=g_betas, d_betas=d_betas,
            n_critic=n_critic, **kwargs,
        )
