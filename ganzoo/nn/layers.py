"""Small building blocks shared by the networks: spectral norm, normalisation, activations, initialisers.

Spectral norm is always torch's own ``torch.nn.utils.parametrizations.spectral_norm``; the helpers here
only switch it on and measure it (for tests and the theory experiments).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator, Sequence

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm as _torch_spectral_norm

# torch's spectral-norm parametrisation class; private, but the only way to tell it apart from other
# parametrisations of ``weight`` (it has been stable since torch 1.11).
from torch.nn.utils.parametrizations import _SpectralNorm

NORM_KINDS = ("none", "batch", "layer", "instance")

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),  # slope 0.2 as in DCGAN (Radford et al. 2015)
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "silu": nn.SiLU,
    "softplus": nn.Softplus,
}


def check_choice(name: str, value: object, choices: Sequence[object]) -> None:
    """Raise a ValueError naming the bad value and the allowed ones."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")


def check_positive(**values: int) -> None:
    """Raise a ValueError for the first size argument that is not a positive integer."""
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def make_activation(name: str) -> nn.Module:
    """An activation module by name (see ``ACTIVATIONS``)."""
    check_choice("activation", name, list(ACTIVATIONS))
    return ACTIVATIONS[name]()


def make_norm(kind: str, channels: int) -> nn.Module:
    """A normalisation layer for (N, C, H, W) feature maps.

    - ``"none"``: identity. Required for WGAN-GP critics: the gradient penalty is taken per sample, and
      batch norm would make each sample's score depend on the rest of the batch.
    - ``"batch"``: ``BatchNorm2d``.
    - ``"layer"``: ``GroupNorm(1, C)``: normalises each sample over (C, H, W) with a per-channel affine,
      which is the layer norm Gulrajani et al. (2017) use in their critics.
    - ``"instance"``: ``InstanceNorm2d(C, affine=True)``.
    """
    check_choice("norm", kind, NORM_KINDS)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    return nn.Identity()


# ----------------------------------------------------------------------------------------- initialisers
# Each returns the module so that layers can be built, initialised and wrapped in one expression.
# Initialise BEFORE ``maybe_spectral_norm``: torch starts the power iteration from the weight present
# when the parametrisation is registered.


def normal_init(module: nn.Module, std: float = 0.02) -> nn.Module:
    """Weights ~ N(0, std), bias 0: the DCGAN initialisation (Radford et al. 2015, section 4)."""
    nn.init.normal_(module.weight, 0.0, std)
    if getattr(module, "bias", None) is not None:
        nn.init.zeros_(module.bias)
    return module


def xavier_init(module: nn.Module, gain: float = 1.0) -> nn.Module:
    """Glorot-uniform weights, bias 0: Miyato's SN-GAN ResNet code (chainer ``GlorotUniform(gain)``)."""
    nn.init.xavier_uniform_(module.weight, gain=gain)
    if getattr(module, "bias", None) is not None:
        nn.init.zeros_(module.bias)
    return module


def dcgan_norm_init(module: nn.Module) -> nn.Module:
    """Affine scale ~ N(1, 0.02), shift 0 (the DCGAN reference code's batch-norm init); no-op without affine."""
    if getattr(module, "weight", None) is not None:
        nn.init.normal_(module.weight, 1.0, 0.02)
    if getattr(module, "bias", None) is not None:
        nn.init.zeros_(module.bias)
    return module


# --------------------------------------------------------------------------------------- spectral norm


def maybe_spectral_norm(module: nn.Module, enabled: bool) -> nn.Module:
    """Reparametrise ``module.weight`` as W / sigma(W) with torch's spectral norm when ``enabled``.

    One power-iteration step per forward pass in train mode (Miyato et al. 2018, Algorithm 1); the
    vectors u, v are buffers, so they are saved in the state_dict and frozen in eval mode.
    """
    return _torch_spectral_norm(module) if enabled else module


def has_spectral_norm(module: nn.Module) -> bool:
    """Whether ``module.weight`` is spectrally normalised by torch's parametrisation."""
    if not parametrize.is_parametrized(module, "weight"):
        return False
    return any(isinstance(p, _SpectralNorm) for p in module.parametrizations.weight)


def spectrally_normalized_layers(network: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, layer)`` for every spectrally normalised layer of ``network``."""
    return [(name, module) for name, module in network.named_modules() if has_spectral_norm(module)]


@contextmanager
def _power_iteration_paused(module: nn.Module) -> Iterator[None]:
    """Reading ``module.weight`` in train mode runs a power-iteration step; measuring must not."""
    if not parametrize.is_parametrized(module, "weight"):
        yield
        return
    parametrizations = module.parametrizations.weight
    was_training = parametrizations.training
    parametrizations.eval()
    try:
        yield
    finally:
        parametrizations.train(was_training)


def _as_matrix(weight: Tensor, module: nn.Module) -> Tensor:
    # torch's spectral norm flattens every dim but the output one; transposed convs keep outputs in dim 1.
    if isinstance(module, nn.modules.conv._ConvTransposeNd):
        weight = weight.transpose(0, 1)
    return weight.reshape(weight.shape[0], -1)


def weight_matrix(module: nn.Module) -> Tensor:
    """The layer's effective weight (after spectral norm, if any) as an (out, -1) matrix, detached.

    This is the matrix whose largest singular value spectral norm drives to 1 (for a conv layer it is
    the reshaped kernel, not the convolution operator itself)."""
    with torch.no_grad(), _power_iteration_paused(module):
        return _as_matrix(module.weight.detach(), module)


def raw_weight_matrix(module: nn.Module) -> Tensor:
    """The unnormalised weight W (the parameter the optimiser updates) as an (out, -1) matrix, detached."""
    if not has_spectral_norm(module):
        raise ValueError(f"{type(module).__name__} has no spectral norm; use weight_matrix() for its weight")
    return _as_matrix(module.parametrizations.weight.original.detach(), module)


def spectral_norm_sigma(module: nn.Module) -> float:
    """Largest singular value of the layer's effective weight matrix (about 1 under spectral norm,
    once the power iteration has warmed up)."""
    return torch.linalg.svdvals(weight_matrix(module).double())[0].item()


def spectral_norm_estimate(module: nn.Module) -> float:
    """The power iteration's current estimate sigma~ of sigma(W), i.e. what W is divided by.

    Read off as ||W||_F / ||W / sigma~||_F, which needs none of the parametrisation's private buffers.
    Compare with ``torch.linalg.svdvals(raw_weight_matrix(module))[0]`` to see how well it has converged.
    """
    raw = raw_weight_matrix(module).double()
    effective = weight_matrix(module).double()
    return (raw.norm() / effective.norm()).item()
