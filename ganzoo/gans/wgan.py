"""WGAN with weight clipping (Arjovsky et al. 2017).

Paper settings (Algorithm 1): RMSProp lr 5e-5, clipping c = 0.01, n_critic = 5,
batch 64, critic without sigmoid, DCGAN architecture. (The paper additionally runs
100 critic steps for the first 25 generator iterations and every 500th; not done here.)
"""
from __future__ import annotations

from typing import Any, Optional

from ganzoo.gans.base import GAN
from ganzoo.gans.dcgan import DCGAN
from ganzoo.nn.base import Discriminator, Generator


class WGAN(GAN):
    variant_id = "wgan"  # the name in recipes, registry entries and messages
    # The paper trains WGAN on the DCGAN networks.
    default_generator = DCGAN.default_generator
    default_discriminator = DCGAN.default_discriminator

    def __init__(
        self,
        generator: Optional[Generator] = None,
        discriminator: Optional[Discriminator] = None,
        loss: str = "wasserstein",
        optimizer: str = "rmsprop",
        g_lr: float = 5e-5,
        d_lr: float = 5e-5,
        n_critic: int = 5,
        clip_value: Optional[float] = 0.01,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            generator, discriminator, loss=loss, optimizer=optimizer, g_lr=g_lr, d_lr=d_lr, n_critic=n_critic,
            clip_value=clip_value, **kwargs,
        )
