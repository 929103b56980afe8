"""Relativistic average GAN (Jolicoeur-Martineau 2018).

``loss="rasgan"`` (default), ``"ralsgan"`` or ``"rahinge"`` select the relativistic
average standard, least-squares and hinge losses (other losses are refused: the preset
is defined by its loss). Paper settings for CIFAR-10: Adam lr 2e-4, betas (0.5, 0.999),
n_D = 1, batch 32, the standard CNN of SN-GAN without spectral normalisation.
"""
from ganzoo.gans.base import GAN

RELATIVISTIC_AVERAGE_LOSSES = ("rasgan", "ralsgan", "rahinge")


class RaSGAN(GAN):
    variant_id = "rasgan"  # the name in recipes, registry entries and messages
    default_generator = {"name": "SNGANCNNGenerator", "kwargs": {"latent_dim": 128, "channels": 3}}
    default_discriminator = {"name": "SNGANCNNDiscriminator", "kwargs": {"channels": 3, "spectral_norm": False}}
    paper_defaults = {"loss": "rasgan"}  # lr, betas and n_D are the base loop's defaults
    allowed_losses = RELATIVISTIC_AVERAGE_LOSSES
