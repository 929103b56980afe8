"""Networks only (no training code).

Importing this package registers every network, so ``build_network(name, **kwargs)`` finds it.
"""
from typing import Any

from torch import nn

from ganzoo.nn.base import NETWORKS, Discriminator, Generator, network_class, register_network
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


def build_network(name: str, kwargs: dict[str, Any] | None = None, **more_kwargs: Any) -> nn.Module:
    """Build a registered network from its class name and constructor kwargs (this package
    imports every network module, so every network is registered here).

    Both ``build_network("DCGANGenerator", resolution=28)`` and
    ``build_network(**network.config)`` work.
    """
    return network_class(name)(**{**(kwargs or {}), **more_kwargs})


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
    "ProGANDiscriminator",
    "ProGANGenerator",
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
