"""DCGAN (Radford et al. 2015): all-convolutional G with BatchNorm, LeakyReLU D.

Paper settings: Adam lr 2e-4, beta1 0.5, batch 128, weights N(0, 0.02),
non-saturating loss, one D step per G step.
"""
from __future__ import annotations

from ganzoo.gans.base import GAN


class DCGAN(GAN):
    variant_id = "dcgan"  # the name in recipes, registry entries and messages
    # The paper's loss and optimizer are the base loop's defaults: only the networks differ.
    default_generator = {"name": "DCGANGenerator", "kwargs": {"latent_dim": 100, "resolution": 32, "channels": 3}}
    default_discriminator = {"name": "DCGANDiscriminator", "kwargs": {"resolution": 32, "channels": 3, "norm": "batch"}}
