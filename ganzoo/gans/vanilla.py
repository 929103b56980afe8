"""Vanilla GAN (Goodfellow et al. 2014): MLP generator and discriminator.

The paper's generator loss is the saturating minimax log(1 - D(G(z))); it also
recommends the non-saturating -log D(G(z)) in practice, which is our default
(``loss="minimax"`` selects the original).
"""
from __future__ import annotations

from ganzoo.gans.base import GAN


class VanillaGAN(GAN):
    variant_id = "vanilla"  # the name in recipes, registry entries and messages
    # The paper's loss and optimizer are the base loop's defaults: only the networks differ.
    default_generator = {"name": "MLPGenerator", "kwargs": {"latent_dim": 2, "out_dim": 2}}
    default_discriminator = {"name": "MLPDiscriminator", "kwargs": {"in_dim": 2}}
