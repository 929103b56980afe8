"""Relativistic average GAN (Jolicoeur-Martineau 2018).

``loss="rasgan"`` (default), ``"ralsgan"`` or ``"rahinge"`` select the relativistic
average standard, least-squares and hinge losses. Paper settings for CIFAR-10:
Adam lr 2e-4, betas (0.5, 0.999), n_D = 1, batch 32, the standard CNN of SN-GAN
without spectral normalisation.
"""
from __future__ import annotations

from typing import Any, Optional

from ganzoo.gans.base import GAN
from ganzoo.nn.base import Discriminator, Generator

RELATIVISTIC_AVERAGE_LOSSES = ("rasgan", "ralsgan", "rahinge")


class RaSGAN(GAN):
    variant_id = "rasgan"  # the name in recipes, registry entries and messages
    default_generator = {"name": "SNGANCNNGenerator", "kwargs": {"latent_dim": 128, "channels": 3}}
    default_discriminator = {"name": "SNGANCNNDiscriminator", "kwargs": {"channels": 3, "spectral_norm": False}}

    def __init__(
        self,
        generator: Optional[Generator] = None,
        discriminator: Optional[Discriminator] = None,
        loss: str = "rasgan",
        g_lr: float = 2e-4,
        d_lr: float = 2e-4,
        g_betas: tuple[float, float] = (0.5, 0.999),
        d_betas: tuple[float, float] = (0.5, 0.999),
        n_critic: int = 1,
        **kwargs: Any,
    ) -> None:
        if loss not in RELATIVISTIC_AVERAGE_LOSSES:
            raise ValueError(f"RaSGAN loss={loss!r}: choose one of {', '.join(RELATIVISTIC_AVERAGE_LOSSES)}")
        super().__init__(
            generator, discriminator, loss=loss, g_lr=g_lr, d_lr=d_lr, g_betas=g_betas, d_betas=d_betas,
            n_critic=n_critic, **kwargs,
        )
