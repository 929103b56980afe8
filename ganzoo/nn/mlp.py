"""Fully connected networks for low-dimensional toy data (2-D Gaussian mixtures, the theory experiments).

No batch norm by default: it couples the samples of a batch and hides mode collapse on toy data. The
generator can have it (``batch_norm=True``, as DCGAN's generator does, for images); under DDP the loop makes
it normalise over the global batch (``ganzoo/nn/cross_process_bn.py``). Weights keep PyTorch's default init.
"""
from __future__ import annotations

from torch import Tensor, nn

from ganzoo.nn.base import Discriminator, Generator, register_network
from ganzoo.nn.layers import check_choice, check_positive, make_activation, maybe_spectral_norm
from ganzoo.nn.progan import minibatch_stddev


def _mlp(
    in_dim: int, hidden_dim: int, out_dim: int, n_layers: int, activation: str, spectral_norm: bool = False,
    dropout: float = 0.0, batch_norm: bool = False, before_output: nn.Module | None = None,
) -> nn.Sequential:
    """``n_layers`` hidden layers (Linear [+ BatchNorm] + activation [+ dropout]) and a Linear output layer;
    ``before_output`` (a module with an ``added_features`` count) sits between them when given."""
    layers: list[nn.Module] = []
    width = in_dim
    for _ in range(n_layers):
        layers.append(maybe_spectral_norm(nn.Linear(width, hidden_dim), spectral_norm))
        if batch_norm:  # only when asked: state-dict keys stay those of earlier checkpoints
            layers.append(nn.BatchNorm1d(hidden_dim))
        layers.append(make_activation(activation))
        if dropout > 0:  # no module at all otherwise: state-dict keys stay those of earlier checkpoints
            layers.append(nn.Dropout(dropout))
        width = hidden_dim
    if before_output is not None:
        layers.append(before_output)
        width += before_output.added_features
    layers.append(maybe_spectral_norm(nn.Linear(width, out_dim), spectral_norm))
    return nn.Sequential(*layers)


class MinibatchStdDevFeature(nn.Module):
    """(N, F) -> (N, F + 1): appends, to every sample, how varied its group of ``group_size`` consecutive
    samples is (the mean over features of each feature's standard deviation over the group): ProGAN's
    minibatch standard deviation (Karras et al. 2018) on a fully connected layer."""

    added_features = 1

    def __init__(self, group_size: int) -> None:
        super().__init__()
        self.group_size = int(group_size)

    def forward(self, x: Tensor) -> Tensor:
        return minibatch_stddev(x.view(*x.shape, 1, 1), self.group_size).flatten(1)

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}"


def _check_image_shape(image_shape, flat_dim: int, name: str) -> None:
    """An MLP can serve images (the original GAN's setting) when told their shape."""
    if image_shape is None:
        return
    size = 1
    for side in image_shape:
        size *= int(side)
    if size != flat_dim:
        raise ValueError(f"image_shape={list(image_shape)} has {size} values but {name}={flat_dim}")


@register_network
class MLPGenerator(Generator):
    """z (N, latent_dim) -> samples (N, out_dim), or (N, *image_shape) when ``image_shape`` is given.

    ``output_activation=None`` (default) leaves the output unbounded: toy data such as the 5x5 Gaussian
    grid lives in [-4.2, 4.2], outside tanh's range. Use ``"tanh"`` for data scaled to [-1, 1].
    ``batch_norm=True`` puts BatchNorm between each hidden Linear and its activation (DCGAN's generator
    recipe, Radford et al. 2015, on fully connected layers).
    """

    def __init__(
        self,
        latent_dim: int = 2,
        out_dim: int = 2,
        hidden_dim: int = 128,
        n_layers: int = 3,
        activation: str = "relu",
        output_activation: str | None = None,
        image_shape: list[int] | None = None,
        batch_norm: bool = False,
    ) -> None:
        check_positive(latent_dim=latent_dim, out_dim=out_dim, hidden_dim=hidden_dim, n_layers=n_layers)
        check_choice("output_activation", output_activation, [None, "tanh"])
        _check_image_shape(image_shape, out_dim, "out_dim")
        super().__init__(latent_dim, image_shape or (out_dim,))
        self.net = _mlp(latent_dim, hidden_dim, out_dim, n_layers, activation, batch_norm=bool(batch_norm))
        self.squash = nn.Tanh() if output_activation == "tanh" else nn.Identity()
        self._record_config(locals())

    def forward(self, z: Tensor) -> Tensor:
        self.check_latent(z)
        return self.squash(self.net(z)).view(z.shape[0], *self.output_shape)


@register_network
class MLPDiscriminator(Discriminator):
    """samples (N, in_dim) -> raw scores (N,).

    ``pack=m`` makes it a PacGAN discriminator (Lin et al. 2018): it judges m samples of the same
    kind at once, concatenated, and every sample of a pack gets the pack's score. A generator that
    drops modes makes packs that look less varied than real ones, which a packed discriminator can
    see and a one-sample discriminator cannot; the paper shows packing 2-4 recovers many dropped
    modes. Packs are consecutive samples of the batch, so N must be a multiple of m.

    ``minibatch_stddev=G`` gives the output layer one more input: how varied the sample's group of G
    consecutive samples is in the last hidden layer (ProGAN's minibatch standard deviation, Karras et al.
    2018, a cheap form of Salimans et al. 2016's minibatch discrimination). A generator that collapses
    makes groups less varied than real ones, which D then sees directly. N must be a multiple of G, and
    the scores are no longer per sample, so gradient penalties do not apply. 0 = off.

    ``dropout=p`` zeroes each hidden unit with probability p while training, as the original GAN's
    discriminators did (Goodfellow et al. 2014, Section 5: maxout units with dropout). Its masks come
    from the global RNG: for exact resume, train with ``ganzoo.callbacks.RNGStateCheckpoint``.
    """

    def __init__(
        self,
        in_dim: int = 2,
        hidden_dim: int = 128,
        n_layers: int = 3,
        activation: str = "leaky_relu",
        spectral_norm: bool = False,
        image_shape: list[int] | None = None,
        pack: int = 1,
        dropout: float = 0.0,
        minibatch_stddev: int = 0,
    ) -> None:
        check_positive(in_dim=in_dim, hidden_dim=hidden_dim, n_layers=n_layers, pack=pack)
        if not (isinstance(minibatch_stddev, int) and minibatch_stddev >= 0):
            raise ValueError(f"minibatch_stddev={minibatch_stddev!r}: the group size must be an integer >= 0 "
                             "(0 = off)")
        _check_image_shape(image_shape, in_dim, "in_dim")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout={dropout!r}: the probability of zeroing a hidden unit must be in [0, 1)")
        super().__init__(image_shape or (in_dim,))
        self.pack = pack
        variety = MinibatchStdDevFeature(minibatch_stddev) if minibatch_stddev else None
        self.net = _mlp(in_dim * pack, hidden_dim, 1, n_layers, activation, spectral_norm, dropout,
                        before_output=variety)
        self._record_config(locals())

    def forward(self, x: Tensor) -> Tensor:
        self.check_input(x)
        if x.shape[0] % self.pack:
            raise ValueError(f"MLPDiscriminator(pack={self.pack}) needs a batch that is a multiple of {self.pack} "
                             f"(each process's batch under DDP); got {x.shape[0]}")
        packs = x.flatten(1).reshape(x.shape[0] // self.pack, -1)
        return self.net(packs).squeeze(1).repeat_interleave(self.pack)
