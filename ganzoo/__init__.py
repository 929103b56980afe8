"""ganzoo: a PyTorch Lightning model zoo of GANs.

    import ganzoo
    G = ganzoo.load("dcgan-fashion-mnist")   # EMA generator, eval mode, strict load
    images = G.sample(64, seed=0)            # in [-1, 1]
    ganzoo.list_models()
    ganzoo.save(G, "my-model")               # safetensors + config.json; ganzoo.load("my-model")
"""
from ganzoo._version import __version__
from ganzoo.zoo import list_models, load, load_gan, save

_LAZY_GANS = ("GAN", "VanillaGAN", "DCGAN", "WGAN", "WGANGP", "SNGAN", "RaSGAN", "ProGAN")


def __getattr__(name: str):
    # The LightningModules import lightning; keep `import ganzoo; ganzoo.load(...)` light.
    if name in _LAZY_GANS:
        import ganzoo.gans

        return getattr(ganzoo.gans, name)
    raise AttributeError(f"module 'ganzoo' has no attribute {name!r}")


__all__ = ["__version__", "list_models", "load", "load_gan", "save", *_LAZY_GANS]
