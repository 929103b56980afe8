"""WGAN-GP (Gulrajani et al. 2017): Wasserstein critic with a gradient penalty.

Paper settings (Algorithm 1): lambda = 10, n_critic = 5, Adam lr 1e-4, betas (0, 0.9);
no normalisation in the critic (the penalty is per sample). CIFAR-10 ResNet result:
Inception score 7.86 (unsupervised).
"""
from __future__ import annotations

from typing import Any, Optional

from ganzoo.gans.base import GAN
from ganzoo.nn.base import Discriminator, Generator


class WGANGP(GAN):
    variant_id = "wgan-gp"  # the name in recipes, registry entries and messages
    default_generator = {"name": "ResNetGenerator", "kwargs": {"latent_dim": 128, "channels": 3, "width": 128}}
    default_discriminator = {"name": "ResNetDiscriminator", "kwargs": {"channels": 3, "width": 128, "spectral_norm": False}}

    def __init__(
        self,
        generator: Optional[Generator] = None,
        discriminator: Optional[Discriminator] = None,
        loss: str = "wasserstein",
        gp_weight: float = 10.0,
        g_lr: float = 1e-4,
        d_lr: float = 1e-4,
        g_betas: tuple[float, float] = (0.0, 0.9),
        d_betas: tuple[float, float] = (0.0, 0.9),
        n_critic: int = 5,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            generator, discriminator, loss=loss, gp_weight=gp_weight, g_lr=g_lr, d_lr=d_lr, g_betas=g_betas,
            d_betas=d_betas, n_critic=n_critic, **kwargs,
        )
