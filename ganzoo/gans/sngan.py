"""SN-GAN (Miyato et al. 2018): spectral normalisation in every discriminator layer.

Paper settings for the CIFAR-10 ResNet: hinge loss, Adam lr 2e-4, betas (0, 0.9),
n_dis = 5, batch 64. CIFAR-10 result (ResNet, hinge): Inception score 8.22, FID 21.7.
"""
from ganzoo.gans.base import GAN


class SNGAN(GAN):
    variant_id = "sngan"  # the name in recipes, registry entries and messages
    default_generator = {"name": "ResNetGenerator", "kwargs": {"latent_dim": 128, "channels": 3, "width": 256}}
    default_discriminator = {"name": "ResNetDiscriminator", "kwargs": {"channels": 3, "width": 128, "spectral_norm": True}}
    paper_defaults = {"loss": "hinge", "g_betas": (0.0, 0.9), "d_betas": (0.0, 0.9), "n_critic": 5}
