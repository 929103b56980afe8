"""Base classes shared by every network in the zoo.

Networks know nothing about training. A generator maps latents to samples and can
sample itself; a discriminator maps samples to one score per sample and checks that
what reaches it has the shape it was built for. Constructor keyword arguments are the
network's config: ``network.config`` round-trips through ``build_network``.
"""
from __future__ import annotations

import inspect
import math
import threading
from typing import Any, Sequence

import torch
from torch import Tensor, nn

from ganzoo.utils import unknown_name_message

# name -> class, filled by ``@register_network``; config.json stores {"name": ..., "kwargs": ...}
NETWORKS: dict[str, type[nn.Module]] = {}

# Limits for networks described by files (config.json, checkpoints), which may be hostile: a few
# numbers in a config can ask for gigabytes. The largest zoo networks hold about 2e7 values.
MAX_NETWORK_SIZE = 200_000_000  # parameter + buffer values: 800 MB in float32
MAX_NETWORK_TENSORS = 10_000  # parameter + buffer tensors: bounds construction time (layer counts)
MAX_SAMPLE_SIZE = 2**26  # values in one generated / discriminated sample: 3 x 4096 x 4096 fits


class NetworkTooLargeError(ValueError):
    """A network config whose sizes exceed ``MAX_NETWORK_SIZE`` / ``MAX_NETWORK_TENSORS``."""


def register_network(cls: type[nn.Module]) -> type[nn.Module]:
    """Class decorator: make a network buildable from its name (used by configs and the zoo)."""
    if cls.__name__ in NETWORKS and NETWORKS[cls.__name__] is not cls:
        raise ValueError(f"network name {cls.__name__!r} registered twice")
    NETWORKS[cls.__name__] = cls
    return cls


def network_class(name: str) -> type[nn.Module]:
    """The registered network class called ``name`` (``ganzoo.nn`` imports and so registers them all)."""
    if name not in NETWORKS:
        raise ValueError(unknown_name_message("network", name, sorted(NETWORKS)))
    return NETWORKS[name]


def check_network_size(name: str, kwargs: dict[str, Any] | None = None, *, limit: int = MAX_NETWORK_SIZE,
                       max_tensors: int = MAX_NETWORK_TENSORS) -> nn.Module:
    """Refuse a config whose network would be too large, before allocating any of it.

    The network is built on the ``meta`` device (shapes only, no memory), so the count is exact
    for every network class. Construction is aborted after ``max_tensors`` tensors: a layer count
    of 10**7 would otherwise take minutes even on ``meta``. Returns the meta network (its
    attributes, e.g. ``latent_dim``, are readable; its tensors hold no data). Raises
    :class:`NetworkTooLargeError`, or what the constructor raises for a bad config.
    """
    counter = _TensorCounter(max_tensors)
    with counter, torch.device("meta"):
        try:
            network = network_class(name)(**(kwargs or {}))
        except _TooManyTensors:
            raise NetworkTooLargeError(
                f"{name} with these settings would have more than {max_tensors:,} parameter/buffer tensors "
                f"(limit ganzoo.nn.base.MAX_NETWORK_TENSORS); check its layer counts"
            ) from None
    parameters = sum(p.numel() for p in network.parameters())
    buffers = sum(b.numel() for b in network.buffers())
    if parameters + buffers > limit:
        raise NetworkTooLargeError(
            f"{name} with these settings would have {parameters:,} parameters and {buffers:,} buffer values, "
            f"over the limit of {limit:,} (ganzoo.nn.base.MAX_NETWORK_SIZE); check its widths, resolution "
            "and latent size"
        )
    shape = getattr(network, "output_shape", None) or getattr(network, "input_shape", None) or ()
    if math.prod(shape) > MAX_SAMPLE_SIZE:
        raise NetworkTooLargeError(
            f"{name} with these settings works on samples of shape {tuple(shape)} ({math.prod(shape):,} values), "
            f"over the limit of {MAX_SAMPLE_SIZE:,} per sample (ganzoo.nn.base.MAX_SAMPLE_SIZE); check its resolution"
        )
    return network


class _TooManyTensors(Exception):
    pass


class _TensorCounter:
    """Counts parameters and buffers registered by this thread (global torch hooks) while active."""

    def __init__(self, limit: int) -> None:
        self.limit, self.count, self.thread = limit, 0, threading.get_ident()
        self._handles: list[Any] = []

    def _hook(self, module, name, tensor):
        if tensor is not None and threading.get_ident() == self.thread:
            self.count += 1
            if self.count > self.limit:
                raise _TooManyTensors

    def __enter__(self) -> "_TensorCounter":
        from torch.nn.modules import module as module_hooks

        self._handles = [module_hooks.register_module_parameter_registration_hook(self._hook),
                         module_hooks.register_module_buffer_registration_hook(self._hook)]
        return self

    def __exit__(self, *exc_info) -> None:
        for handle in self._handles:
            handle.remove()


class ConfigMixin:
    """Records the constructor's keyword arguments as ``self.config`` (JSON-clean values)."""

    def _record_config(self, frame_locals: dict[str, Any]) -> None:
        signature = inspect.signature(type(self).__init__)
        self._config = {
            name: frame_locals[name]
            for name, param in signature.parameters.items()
            if name != "self" and param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD)
        }

    @property
    def config(self) -> dict[str, Any]:
        """``{"name": class name, "kwargs": constructor kwargs}``; ``build_network(**config)`` rebuilds it."""
        kwargs = {k: list(v) if isinstance(v, tuple) else v for k, v in self._config.items()}
        return {"name": type(self).__name__, "kwargs": kwargs}


class Generator(ConfigMixin, nn.Module):
    """A generator: ``forward(z) -> samples``; images are in [-1, 1].

    Subclasses call ``super().__init__(latent_dim, output_shape)`` and then
    ``self._record_config(locals())`` at the end of their ``__init__``.
    """

    def __init__(self, latent_dim: int, output_shape: Sequence[int]) -> None:
        super().__init__()
        if latent_dim < 1:
            raise ValueError(f"latent_dim must be >= 1, got {latent_dim}")
        self.latent_dim = int(latent_dim)
        self.output_shape = tuple(int(s) for s in output_shape)

    def sample_latent(self, n: int, seed: int | None = None, device: torch.device | str | None = None) -> Tensor:
        """Standard-normal latents. With ``seed`` the draw is made on the CPU so it is the
        same on every machine and device."""
        if n < 1:
            raise ValueError(f"number of samples must be >= 1, got {n}")
        device = device if device is not None else self._device()
        if seed is None:
            return torch.randn(n, self.latent_dim, device=device)
        rng = torch.Generator().manual_seed(int(seed))
        return torch.randn(n, self.latent_dim, generator=rng).to(device)

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None, batch_size: int = 1024) -> Tensor:
        """``n`` samples (on the generator's device), deterministic for a given ``seed``."""
        z = self.sample_latent(n, seed=seed)
        # Sampling never touches BatchNorm statistics: eval mode for the duration.
        was_training = self.training
        self.eval()
        try:
            return torch.cat([self(chunk) for chunk in z.split(batch_size)])
        finally:
            self.train(was_training)

    def recompute_batchnorm_statistics(self, batches: int = 200, batch_size: int = 256, seed: int = 123) -> int:
        """Standing statistics: replace every BatchNorm layer's running mean and variance by a cumulative
        average over this generator's own activations on ``batches`` batches of ``batch_size`` latents
        (seeds ``seed``, ``seed + 1``, ...), with ``torch.optim.swa_utils.update_bn``.

        Why: an EMA generator's running statistics are the EMA of the trained generator's, measured with
        other weights; the slower the average, the further they lie from what the averaged weights produce
        (docs/runs/vanilla-fashion-mnist-latent-spread.md). Returns the number of BatchNorm layers updated
        (0: nothing to do, the generator is unchanged)."""
        from torch.optim.swa_utils import update_bn

        if batches < 1 or batch_size < 2:
            raise ValueError(f"need batches >= 1 and batch_size >= 2, got {batches} and {batch_size}")
        norms = [m for m in self.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if norms:
            latents = (self.sample_latent(batch_size, seed=seed + index) for index in range(batches))
            update_bn(latents, self)
        return len(norms)

    def _device(self) -> torch.device:
        for tensor in self.parameters():
            return tensor.device
        for tensor in self.buffers():
            return tensor.device
        return torch.device("cpu")

    def check_latent(self, z: Tensor) -> None:
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(
                f"{type(self).__name__} expects latents of shape (N, {self.latent_dim}), got {tuple(z.shape)}"
            )


class Discriminator(ConfigMixin, nn.Module):
    """A discriminator / critic: ``forward(x) -> (N,)`` raw scores (no sigmoid)."""

    def __init__(self, input_shape: Sequence[int]) -> None:
        super().__init__()
        self.input_shape = tuple(int(s) for s in input_shape)

    def check_input(self, x: Tensor) -> None:
        """Raise a clear error when a batch of the wrong shape reaches the discriminator."""
        if tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(
                f"{type(self).__name__} was built for inputs of shape (N, {', '.join(map(str, self.input_shape))}) "
                f"but got {tuple(x.shape)}; check the data module's resolution/channels against the network's"
            )
