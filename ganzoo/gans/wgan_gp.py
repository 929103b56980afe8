"""WGAN-GP (Gulrajani et al. 2017): Wasserstein critic with a gradient penalty.

Paper settings (Algorithm 1): lambda = 10, n_critic = 5, Adam lr 1e-4, betas (0, 0.9);
no normalisation in the critic (the penalty is per sample). CIFAR-10 ResNet result:
Inception score 7.86 (unsupervised).
"""
from ganzoo.gans.base import GAN


class WGANGP(GAN):
    variant_id = "wgan-gp"  # the name in recipes, registry entries and messages
    default_generator = {"name": "ResNetGenerator", "kwargs": {"latent_dim": 128, "channels": 3, "width": 128}}
    default_discriminator = {"name": "ResNetDiscriminator", "kwargs": {"channels": 3, "width": 128, "spectral_norm": False}}
    paper_defaults = {"loss": "wasserstein", "gp_weight": 10.0, "g_lr": 1e-4, "d_lr": 1e-4, "g_betas": (0.0, 0.9),
                      "d_betas": (0.0, 0.9), "n_critic": 5}
