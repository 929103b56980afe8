"""WGAN with weight clipping (Arjovsky et al. 2017).

Paper settings (Algorithm 1): RMSProp lr 5e-5, clipping c = 0.01, n_critic = 5,
batch 64, critic without sigmoid, DCGAN architecture. (The paper additionally runs
100 critic steps for the first 25 generator iterations and every 500th; not done here.)
"""
from ganzoo.gans.base import GAN
from ganzoo.gans.dcgan import DCGAN


class WGAN(GAN):
    variant_id = "wgan"  # the name in recipes, registry entries and messages
    default_generator = DCGAN.default_generator  # the paper trains WGAN on the DCGAN networks
    default_discriminator = DCGAN.default_discriminator
    paper_defaults = {"loss": "wasserstein", "optimizer": "rmsprop", "g_lr": 5e-5, "d_lr": 5e-5, "n_critic": 5,
                      "clip_value": 0.01}
