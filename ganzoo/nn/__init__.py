"""Networks only (no training code).

Importing this package registers every network, so ``build_network(name, **kwargs)`` finds it.
"""
from ganzoo.nn.base import NETWORKS, Discriminator, Generator, build_network, register_network
from ganzoo.nn.cross_process_bn import CrossProcessBatchNorm, convert_batchnorm_for_processes
from ganzoo.nn.dcgan import DCGANDiscriminator, DCGANGenerator
from ganzoo.nn.layers import (
    make_norm,
    maybe_spectral_norm,
    spectral_norm_estimate,
    spectral_norm_sigma,
    spectrally_normalized_layers,
)
from ganzoo.nn.mlp import MLPDiscriminator, MLPGenerator
from ganzoo.nn.progan import ProGANDiscriminator, ProGANGenerator
from ganzoo.nn.sngan import ResNetDiscriminator, ResNetGenerator, SNGANCNNDiscriminator, SNGANCNNGenerator

__all__ = [
    "CrossProcessBatchNorm",
    "convert_batchnorm_for_processes",
    "NETWORKS",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "Discriminator",
    "Generator",
    "MLPDiscriminator",
    "MLPGenerator",
    "ResNetDiscriminator",
    "ResNetGenerator",
    "SNGANCNNDiscriminator",
    "SNGANCNNGenerator",
    "build_network",
    "make_norm",
    "maybe_spectral_norm",
    "register_network",
    "spectral_norm_estimate",
    "spectral_norm_sigma",
    "spectrally_normalized_layers",
]
