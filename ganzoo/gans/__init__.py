"""LightningModules: ``base.GAN`` holds the training loop; each variant is a preset."""
from ganzoo.gans.base import GAN
from ganzoo.gans.dcgan import DCGAN
from ganzoo.gans.progan import ProGAN
from ganzoo.gans.rasgan import RaSGAN
from ganzoo.gans.sngan import SNGAN
from ganzoo.gans.vanilla import VanillaGAN
from ganzoo.gans.wgan import WGAN
from ganzoo.gans.wgan_gp import WGANGP
from ganzoo.utils import unknown_name_message

# name used in recipes, registry entries and error messages -> class (each class names itself)
VARIANTS = {cls.variant_id: cls for cls in (GAN, VanillaGAN, DCGAN, WGAN, WGANGP, SNGAN, RaSGAN, ProGAN)}


def variant_name(cls: type) -> str:
    """The registry name of a variant class (inverse of ``get_variant``)."""
    name = getattr(cls, "variant_id", None)
    if VARIANTS.get(name) is not cls:
        raise ValueError(f"{cls.__name__} is not a registered ganzoo variant (ganzoo.gans.VARIANTS)")
    return name


def get_variant(name: str) -> type[GAN]:
    if name not in VARIANTS:
        raise ValueError(unknown_name_message("GAN variant", name, VARIANTS))
    return VARIANTS[name]


__all__ = ["GAN", "DCGAN", "ProGAN", "RaSGAN", "SNGAN", "VanillaGAN", "WGAN", "WGANGP", "VARIANTS", "get_variant", "variant_name"]
