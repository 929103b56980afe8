"""Discriminator regularizers: gradient penalty (WGAN-GP), R1/R2, weight clipping, instance noise;
and one for the generator: the mode-seeking term (MSGAN).

Penalties return the *unweighted* mean (except R1/R2, whose ``gamma / 2`` is part of
their definition); the training loop adds them to the D loss and calls one ordinary
``manual_backward`` on the total, which is what synchronises gradients under DDP.
They build the double-backward graph with ``torch.autograd.grad(..., create_graph=True)``
and never call ``backward(create_graph=True)`` themselves.

Penalties are computed in float32 (or the discriminator's own dtype if it is float64)
with autocast switched off: under ``bf16-mixed`` the input gradient would otherwise be
computed in bfloat16 (8 bits of mantissa), and ``(||grad|| - 1)^2`` near its minimum is
dominated by that rounding.

The gradient penalties assume the discriminator scores each sample independently (no
BatchNorm in train mode), which is what makes ``grad(sum of scores)`` equal to the
per-sample gradients. One-sided label smoothing and noisy labels live in
:mod:`ganzoo.losses` (``real_label`` / ``label_noise`` options of the BCE losses).
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor, nn

from ganzoo.utils import unknown_name_message

__all__ = [
    "InstanceNoise",
    "clip_weights_",
    "gradient_norm_squared",
    "gradient_penalty",
    "mode_seeking_term",
    "r1_penalty",
    "r2_penalty",
]

ScoreFunction = Callable[[Tensor], Tensor]


# --------------------------------------------------------------------------- helpers


def _penalty_dtype(discriminator: ScoreFunction, x: Tensor) -> torch.dtype:
    """float32 unless the discriminator's weights are another floating dtype (float64 in
    tests, or a fully low-precision model where fp32 inputs would not even run)."""
    if isinstance(discriminator, nn.Module):
        for parameter in discriminator.parameters():
            if parameter.is_floating_point():
                return parameter.dtype
    return torch.promote_types(x.dtype, torch.float32) if x.is_floating_point() else torch.float32


def _per_sample_scores(scores: Tensor, batch_size: int) -> Tensor:
    if scores.ndim == 2 and scores.shape[1] == 1:
        scores = scores.squeeze(1)
    if scores.shape != (batch_size,):
        raise ValueError(
            f"the discriminator must return one score per sample, shape ({batch_size},) or ({batch_size}, 1); "
            f"got {tuple(scores.shape)}"
        )
    return scores


def _input_gradients(discriminator: ScoreFunction, x: Tensor) -> Tensor:
    """``d D(x_i) / d x_i`` for every sample, with the graph kept so that a penalty on it
    can be back-propagated into D's parameters. Must be called with autocast disabled."""
    x = x.requires_grad_(True)
    scores = _per_sample_scores(discriminator(x), x.shape[0])
    (gradients,) = torch.autograd.grad(outputs=scores.sum(), inputs=x, create_graph=True)
    return gradients


def _check_batch(x: Tensor, name: str) -> None:
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor")
    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty batch of shape (N, ...) with N >= 1 and ndim >= 2, got {tuple(x.shape)}")


def _interpolation_alpha(alpha: Tensor | None, real: Tensor, dtype: torch.dtype) -> Tensor:
    """Per-sample interpolation coefficients of shape (N, 1, 1, ...), broadcasting over each sample."""
    batch_shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    if alpha is None:
        return torch.rand(batch_shape, device=real.device, dtype=dtype)
    alpha = torch.as_tensor(alpha, device=real.device, dtype=dtype)
    if alpha.numel() != real.shape[0]:
        raise ValueError(
            f"alpha must hold one interpolation coefficient per sample ({real.shape[0]}), got shape {tuple(alpha.shape)}"
        )
    # The range check reads the values on the host: skipped while a CUDA graph is captured (ganzoo/gans/graphed.py).
    capturing = alpha.device.type == "cuda" and torch.cuda.is_current_stream_capturing()
    if not capturing and (alpha.min() < 0 or alpha.max() > 1):
        raise ValueError(f"alpha must lie in [0, 1], got values in [{alpha.min().item()}, {alpha.max().item()}]")
    return alpha.reshape(batch_shape)


# --------------------------------------------------------------------------- gradient penalties


def gradient_penalty(
    discriminator: ScoreFunction,
    real: Tensor,
    fake: Tensor,
    *,
    center: float = 1.0,
    alpha: Tensor | None = None,
) -> Tensor:
    """WGAN-GP penalty ``E[(||grad_x D(x_hat)||_2 - center)^2]`` (Gulrajani et al. 2017).

    ``x_hat = alpha * real + (1 - alpha) * fake`` with one ``alpha ~ U[0, 1]`` per sample
    (``alpha`` may be given, shape (N,), for reproducible tests); the gradient norm is
    taken over all non-batch dimensions. Not multiplied by lambda (the paper's 10): the
    caller weights it. ``center=0`` gives the zero-centred variant (Thanh-Tung et al. 2019).
    Both batches are detached: the penalty trains D only.
    """
    _check_batch(real, "real")
    _check_batch(fake, "fake")
    if real.shape != fake.shape:
        raise ValueError(f"real and fake batches must have the same shape, got {tuple(real.shape)} and {tuple(fake.shape)}")
    dtype = _penalty_dtype(discriminator, real)
    with torch.autocast(device_type=real.device.type, enabled=False):
        alpha = _interpolation_alpha(alpha, real, dtype)
        real, fake = real.detach().to(dtype), fake.detach().to(dtype)
        interpolated = alpha * real + (1.0 - alpha) * fake
        gradients = _input_gradients(discriminator, interpolated).flatten(start_dim=1)
        if center == 0:
            # ||g||^2 directly: the norm's derivative g/||g|| is 0/0 = NaN where g = 0.
            return gradients.pow(2).sum(dim=1).mean()
        norms = gradients.norm(2, dim=1)
        return (norms - center).pow(2).mean()


def gradient_norm_squared(discriminator: ScoreFunction, x: Tensor) -> Tensor:
    """Per-sample ``||grad_x D(x)||^2``, shape (N,), differentiable w.r.t. D's parameters."""
    _check_batch(x, "x")
    dtype = _penalty_dtype(discriminator, x)
    with torch.autocast(device_type=x.device.type, enabled=False):
        gradients = _input_gradients(discriminator, x.detach().to(dtype))
        return gradients.flatten(start_dim=1).pow(2).sum(dim=1)


def _check_gamma(gamma: float) -> None:
    if not (gamma >= 0 and math.isfinite(gamma)):
        raise ValueError(f"gamma must be a finite number >= 0, got {gamma}")


def r1_penalty(discriminator: ScoreFunction, real: Tensor, gamma: float) -> Tensor:
    """R1 (Mescheder et al. 2018, Eq. 9): ``gamma / 2 * E_real ||grad_x D(x)||^2``.
    Zero-centred on the data: it pulls D towards flat on the real distribution, which
    makes the Dirac-GAN equilibrium locally convergent."""
    _check_gamma(gamma)
    return 0.5 * gamma * gradient_norm_squared(discriminator, real).mean()


def r2_penalty(discriminator: ScoreFunction, fake: Tensor, gamma: float) -> Tensor:
    """R2 (Mescheder et al. 2018, Eq. 10): ``gamma / 2 * E_fake ||grad_x D(x)||^2``."""
    _check_gamma(gamma)
    return 0.5 * gamma * gradient_norm_squared(discriminator, fake).mean()


# --------------------------------------------------------------------------- generator: mode seeking


def mode_seeking_term(fake: Tensor, latents: Tensor, eps: float = 1e-5) -> Tensor:
    """The mode-seeking term of MSGAN (Mao et al. 2019, Eq. 3), for the generator to minimise:
    ``1 / (mean|G(z1) - G(z2)| / mean|z1 - z2| + eps)``, z1 and z2 the first and second halves of the
    batch. Minimising it pushes the images of distinct latents apart in proportion to how far apart
    the latents are: a generator that maps many latents to nearly one image (mode collapse) pays most."""
    if fake.shape[0] != latents.shape[0] or fake.shape[0] < 2 or fake.shape[0] % 2:
        raise ValueError(f"mode seeking pairs the two halves of a batch: need one even batch of >= 2 fakes and "
                         f"their latents, got {fake.shape[0]} fakes and {latents.shape[0]} latents")
    fake_1, fake_2 = fake.float().chunk(2)
    latents_1, latents_2 = latents.float().chunk(2)
    ratio = (fake_1 - fake_2).abs().mean() / (latents_1 - latents_2).abs().mean()
    return 1.0 / (ratio + eps)


# --------------------------------------------------------------------------- weight clipping


@torch.no_grad()
def clip_weights_(module: nn.Module, clip_value: float) -> None:
    """Clamp every parameter of ``module`` to ``[-clip_value, clip_value]`` in place
    (the original WGAN's crude Lipschitz constraint, c = 0.01 in the paper). Call it
    after each critic optimizer step."""
    if not (clip_value > 0 and math.isfinite(clip_value)):
        raise ValueError(f"clip_value must be a finite number > 0, got {clip_value}")
    for parameter in module.parameters():
        parameter.clamp_(-clip_value, clip_value)


# --------------------------------------------------------------------------- instance noise


class InstanceNoise:
    """Gaussian instance noise with an annealed standard deviation (Sonderby et al. 2017;
    Arjovsky & Bottou 2017): add ``N(0, sigma(step)^2)`` to *both* real and fake inputs
    of D so their supports overlap early in training.

    ``schedule``: ``"linear"`` (sigma_start -> sigma_end over ``anneal_steps``) or
    ``"constant"`` (always sigma_start). After ``anneal_steps`` sigma stays at ``sigma_end``.
    """

    SCHEDULES = ("linear", "constant")

    def __init__(
        self, sigma_start: float, sigma_end: float = 0.0, anneal_steps: int = 10000, schedule: str = "linear"
    ) -> None:
        for name, value in (("sigma_start", sigma_start), ("sigma_end", sigma_end)):
            if not (value >= 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a finite number >= 0, got {value}")
        if int(anneal_steps) != anneal_steps or anneal_steps < 1:
            raise ValueError(f"anneal_steps must be an integer >= 1, got {anneal_steps}")
        if schedule not in self.SCHEDULES:
            raise ValueError(unknown_name_message("instance-noise schedule", schedule, self.SCHEDULES))
        self.sigma_start = float(sigma_start)
        self.sigma_end = float(sigma_end)
        self.anneal_steps = int(anneal_steps)
        self.schedule = schedule

    def sigma(self, step: int) -> float:
        """The noise standard deviation at training step ``step`` (>= 0)."""
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        if self.schedule == "constant":
            return self.sigma_start
        progress = min(step / self.anneal_steps, 1.0)
        return self.sigma_start + (self.sigma_end - self.sigma_start) * progress

    def __call__(self, x: Tensor, step: int, generator: torch.Generator | None = None) -> Tensor:
        """``x`` plus fresh Gaussian noise of std ``sigma(step)``; ``x`` itself when sigma is 0.
        ``generator`` makes the noise reproducible (the GAN loop passes its per-step stream)."""
        sigma = self.sigma(step)
        if sigma == 0.0:
            return x
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return x + sigma * noise

    def __repr__(self) -> str:
        return (
            f"InstanceNoise(sigma_start={self.sigma_start}, sigma_end={self.sigma_end}, "
            f"anneal_steps={self.anneal_steps}, schedule={self.schedule!r})"
        )
