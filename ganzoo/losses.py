"""Adversarial losses: one small plain function per loss, plus a name -> loss table.

Conventions
-----------
* ``d_real`` / ``d_fake`` are the discriminator's raw scores (logits, critic values)
  for a batch of real and of generated samples, shape ``(N,)`` (``(N, 1)`` is accepted
  and squeezed). Networks never apply a sigmoid; the losses do, in numerically
  stable form (``softplus`` / ``binary_cross_entropy_with_logits``), because
  ``log(sigmoid(x))`` underflows to ``-inf`` for very negative ``x``.
* Every function returns a scalar that its player *minimizes*.
* Relativistic generator losses need both ``d_real`` and ``d_fake``. In the table
  (:data:`LOSSES`) every generator loss therefore takes ``(d_real, d_fake)``; the
  non-relativistic ones ignore ``d_real`` (which may be ``None``).

Identities worth knowing (all checked in ``tests/test_losses.py``):
``log(sigmoid(x)) = -softplus(-x)`` and ``log(1 - sigmoid(x)) = -softplus(x)``; the
f-GAN "gan" divergence reproduces the minimax D loss and, with its two generator
forms, the saturating and non-saturating G losses.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from ganzoo.utils import unknown_name_message

__all__ = [
    "AdversarialLoss",
    "FDivergence",
    "F_DIVERGENCES",
    "LOSSES",
    "fgan_d_loss",
    "fgan_g_loss",
    "fgan_variational_bound",
    "get_loss",
    "hinge_d_loss",
    "hinge_g_loss",
    "lsgan_d_loss",
    "lsgan_g_loss",
    "minimax_d_loss",
    "minimax_g_loss",
    "nonsaturating_d_loss",
    "nonsaturating_g_loss",
    "rahinge_d_loss",
    "rahinge_g_loss",
    "ralsgan_d_loss",
    "ralsgan_g_loss",
    "rasgan_d_loss",
    "rasgan_g_loss",
    "rsgan_d_loss",
    "rsgan_g_loss",
    "wasserstein_d_loss",
    "wasserstein_g_loss",
]


# --------------------------------------------------------------------------- validation


def _scores(scores: Tensor, name: str) -> Tensor:
    """Check one batch of discriminator outputs and return it as shape (N,).

    A silent broadcast between an (N, 1) and an (N,) tensor would turn an elementwise
    loss into an N x N one, so anything other than (N,) or (N, 1) is refused.
    """
    if not isinstance(scores, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of discriminator scores, got {type(scores).__name__}")
    if scores.ndim == 2 and scores.shape[1] == 1:
        scores = scores.squeeze(1)
    if scores.ndim != 1:
        raise ValueError(
            f"{name} must be discriminator scores of shape (N,) or (N, 1), got shape {tuple(scores.shape)}; "
            "the discriminator should return one raw score per sample"
        )
    if scores.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(scores.shape)}); need at least one score")
    if not scores.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {scores.dtype}")
    return scores


def _paired_scores(d_real: Tensor, d_fake: Tensor) -> tuple[Tensor, Tensor]:
    """Both batches, checked, with equal sizes (for losses that pair real[i] with fake[i])."""
    d_real, d_fake = _scores(d_real, "d_real"), _scores(d_fake, "d_fake")
    if d_real.shape != d_fake.shape:
        raise ValueError(
            f"this loss pairs real and fake samples one to one, so d_real and d_fake need the same size; "
            f"got {tuple(d_real.shape)} and {tuple(d_fake.shape)}"
        )
    return d_real, d_fake


def _check_label(value: float, name: str) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value}")


# --------------------------------------------------------------------------- BCE family


def _bce_targets(
    like: Tensor, label: float, flipped_label: float, label_noise: float, rng: torch.Generator | None,
    uniforms: Tensor | None = None,
) -> Tensor:
    """Targets for a BCE term: ``label`` everywhere, swapped for ``flipped_label`` with
    probability ``label_noise`` per sample ("noisy labels", Salimans et al. 2016 /
    Arjovsky & Bottou 2017 discuss why a little noise keeps D from becoming perfect).
    A sample flips when its uniform draw is below ``label_noise``: ``uniforms`` when given
    (one per sample), else fresh draws from ``rng``."""
    targets = torch.full_like(like, label)
    if label_noise > 0:
        if uniforms is not None:
            if uniforms.numel() != like.numel():
                raise ValueError(f"label_uniforms need one value per score: {uniforms.numel()} for {like.numel()}")
            flip = uniforms.reshape(like.shape)
        else:
            flip = torch.rand(like.shape, generator=rng, device=rng.device if rng is not None else like.device)
        targets = torch.where(flip.to(like.device) < label_noise, torch.full_like(like, flipped_label), targets)
    return targets


def _bce(logits: Tensor, targets: Tensor) -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, targets)


def _check_bce_options(real_label: float, fake_label: float, label_noise: float) -> None:
    _check_label(real_label, "real_label")
    _check_label(fake_label, "fake_label")
    _check_label(label_noise, "label_noise")


def minimax_d_loss(
    d_real: Tensor,
    d_fake: Tensor,
    *,
    real_label: float = 1.0,
    fake_label: float = 0.0,
    label_noise: float = 0.0,
    rng: torch.Generator | None = None,
    label_uniforms: tuple[Tensor, Tensor] | None = None,
) -> Tensor:
    """Discriminator loss of the original GAN (Goodfellow et al. 2014): binary cross-entropy.

    ``-E[log D(x)] - E[log(1 - D(G(z)))]`` with ``D = sigmoid(d)``, i.e. minus the value
    function V(D, G). At ``D = 1/2`` everywhere it equals ``log 4``.

    ``real_label < 1`` is one-sided label smoothing (Salimans et al. 2016: smooth only
    the real side, smoothing the fake side moves D's optimum towards the fakes).
    ``label_noise = p`` flips each real/fake label with probability p: a label flips where its
    uniform draw is below p, the draws being ``label_uniforms = (real, fake)`` when given (the
    training loop passes its per-step, world-size-independent draws) or else fresh from ``rng``.
    """
    d_real, d_fake = _scores(d_real, "d_real"), _scores(d_fake, "d_fake")
    _check_bce_options(real_label, fake_label, label_noise)
    real_uniforms, fake_uniforms = label_uniforms if label_uniforms is not None else (None, None)
    real_targets = _bce_targets(d_real, real_label, fake_label, label_noise, rng, real_uniforms)
    fake_targets = _bce_targets(d_fake, fake_label, real_label, label_noise, rng, fake_uniforms)
    return _bce(d_real, real_targets) + _bce(d_fake, fake_targets)


# The non-saturating GAN changes only the generator's objective.
nonsaturating_d_loss = minimax_d_loss


def minimax_g_loss(d_fake: Tensor) -> Tensor:
    """Saturating generator loss ``E[log(1 - D(G(z)))]`` (the minimax game as written).

    Its gradient w.r.t. the logit is ``-sigmoid(d)``: it vanishes exactly when D
    confidently rejects the fakes, early in training — hence the non-saturating form.
    """
    d_fake = _scores(d_fake, "d_fake")
    return -F.softplus(d_fake).mean()  # log(1 - sigmoid(x)) = -softplus(x)


def nonsaturating_g_loss(d_fake: Tensor) -> Tensor:
    """Non-saturating generator loss ``-E[log D(G(z))]`` (Goodfellow et al. 2014, Sec. 3).

    Same fixed point as the minimax loss, but a gradient of ``-(1 - sigmoid(d))`` that
    stays near -1 when D rejects the fakes.
    """
    d_fake = _scores(d_fake, "d_fake")
    return F.softplus(-d_fake).mean()  # -log(sigmoid(x)) = softplus(-x)


# --------------------------------------------------------------------------- Wasserstein, hinge, least squares


def wasserstein_d_loss(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """WGAN critic loss ``E[D(fake)] - E[D(real)]`` (Arjovsky et al. 2017).

    Minimizing it maximizes the Kantorovich-Rubinstein estimate of W1; it needs a
    Lipschitz constraint (weight clipping, gradient penalty or spectral norm) to mean
    anything — see :mod:`ganzoo.regularizers`.
    """
    d_real, d_fake = _scores(d_real, "d_real"), _scores(d_fake, "d_fake")
    return d_fake.mean() - d_real.mean()


def wasserstein_g_loss(d_fake: Tensor) -> Tensor:
    """WGAN generator loss ``-E[D(G(z))]``."""
    return -_scores(d_fake, "d_fake").mean()


def hinge_d_loss(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """Hinge discriminator loss ``E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]``
    (Lim & Ye 2017; used by SNGAN, Miyato et al. 2018, and BigGAN)."""
    d_real, d_fake = _scores(d_real, "d_real"), _scores(d_fake, "d_fake")
    return F.relu(1.0 - d_real).mean() + F.relu(1.0 + d_fake).mean()


def hinge_g_loss(d_fake: Tensor) -> Tensor:
    """Hinge generator loss ``-E[D(G(z))]`` (the generator side is linear, not hinged)."""
    return -_scores(d_fake, "d_fake").mean()


def lsgan_d_loss(d_real: Tensor, d_fake: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Least-squares discriminator loss (Mao et al. 2017, Eq. 2):
    ``1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2]`` with fake label ``a``, real label ``b``.
    ``D`` is the raw (linear) output: LSGAN has no sigmoid."""
    d_real, d_fake = _scores(d_real, "d_real"), _scores(d_fake, "d_fake")
    return 0.5 * (d_real - b).pow(2).mean() + 0.5 * (d_fake - a).pow(2).mean()


def lsgan_g_loss(d_fake: Tensor, c: float = 1.0) -> Tensor:
    """Least-squares generator loss ``1/2 E[(D(G(z)) - c)^2]`` (Mao et al. 2017; ``c = b = 1``
    in their experiments)."""
    d_fake = _scores(d_fake, "d_fake")
    return 0.5 * (d_fake - c).pow(2).mean()


# --------------------------------------------------------------------------- relativistic (Jolicoeur-Martineau 2018)
#
# The paper's equations are used as written: the two terms of the "average" (Ra*) losses
# are summed. (Its reference code halves the sum, which only rescales the learning rate.)


def rsgan_d_loss(
    d_real: Tensor,
    d_fake: Tensor,
    *,
    real_label: float = 1.0,
    fake_label: float = 0.0,
    label_noise: float = 0.0,
    rng: torch.Generator | None = None,
) -> Tensor:
    """Relativistic standard GAN, D side: ``-E[log sigmoid(C(x_r) - C(x_f))]`` over pairs
    ``(x_r[i], x_f[i])`` — D estimates the probability that the real sample is more
    realistic than its paired fake. ``real_label`` smooths that target; ``label_noise``
    flips a pair's target to ``fake_label``."""
    d_real, d_fake = _paired_scores(d_real, d_fake)
    _check_bce_options(real_label, fake_label, label_noise)
    return _bce(d_real - d_fake, _bce_targets(d_real, real_label, fake_label, label_noise, rng))


def rsgan_g_loss(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """Relativistic standard GAN, G side: ``-E[log sigmoid(C(x_f) - C(x_r))]`` over pairs."""
    d_real, d_fake = _paired_scores(d_real, d_fake)
    return F.softplus(-(d_fake - d_real)).mean()


def _relative_to_mean(d_real: Tensor, d_fake: Tensor) -> tuple[Tensor, Tensor]:
    """``C(x_r) - E[C(x_f)]`` and ``C(x_f) - E[C(x_r)]``: each sample against the other batch's mean."""
    d_real, d_fake = _scores(d_real, "d_real"), _scores(d_fake, "d_fake")
    return d_real - d_fake.mean(), d_fake - d_real.mean()


def rasgan_d_loss(
    d_real: Tensor,
    d_fake: Tensor,
    *,
    real_label: float = 1.0,
    fake_label: float = 0.0,
    label_noise: float = 0.0,
    rng: torch.Generator | None = None,
) -> Tensor:
    """Relativistic average standard GAN, D side:
    ``-E[log sigmoid(C(x_r) - E C(x_f))] - E[log(1 - sigmoid(C(x_f) - E C(x_r)))]``."""
    real_rel, fake_rel = _relative_to_mean(d_real, d_fake)
    _check_bce_options(real_label, fake_label, label_noise)
    real_targets = _bce_targets(real_rel, real_label, fake_label, label_noise, rng)
    fake_targets = _bce_targets(fake_rel, fake_label, real_label, label_noise, rng)
    return _bce(real_rel, real_targets) + _bce(fake_rel, fake_targets)


def rasgan_g_loss(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """Relativistic average standard GAN, G side (roles of real and fake swapped):
    ``-E[log sigmoid(C(x_f) - E C(x_r))] - E[log(1 - sigmoid(C(x_r) - E C(x_f)))]``."""
    real_rel, fake_rel = _relative_to_mean(d_real, d_fake)
    return F.softplus(-fake_rel).mean() + F.softplus(real_rel).mean()


def ralsgan_d_loss(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """Relativistic average LSGAN, D side:
    ``E[(C(x_r) - E C(x_f) - 1)^2] + E[(C(x_f) - E C(x_r) + 1)^2]``."""
    real_rel, fake_rel = _relative_to_mean(d_real, d_fake)
    return (real_rel - 1.0).pow(2).mean() + (fake_rel + 1.0).pow(2).mean()


def ralsgan_g_loss(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """Relativistic average LSGAN, G side:
    ``E[(C(x_f) - E C(x_r) - 1)^2] + E[(C(x_r) - E C(x_f) + 1)^2]``."""
    real_rel, fake_rel = _relative_to_mean(d_real, d_fake)
    return (fake_rel - 1.0).pow(2).mean() + (real_rel + 1.0).pow(2).mean()


def rahinge_d_loss(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """Relativistic average hinge, D side:
    ``E[relu(1 - (C(x_r) - E C(x_f)))] + E[relu(1 + (C(x_f) - E C(x_r)))]``."""
    real_rel, fake_rel = _relative_to_mean(d_real, d_fake)
    return F.relu(1.0 - real_rel).mean() + F.relu(1.0 + fake_rel).mean()


def rahinge_g_loss(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """Relativistic average hinge, G side:
    ``E[relu(1 - (C(x_f) - E C(x_r)))] + E[relu(1 + (C(x_r) - E C(x_f)))]``."""
    real_rel, fake_rel = _relative_to_mean(d_real, d_fake)
    return F.relu(1.0 - fake_rel).mean() + F.relu(1.0 + real_rel).mean()


# --------------------------------------------------------------------------- f-GAN (Nowozin, Cseke & Tomioka 2016)


@dataclass(frozen=True)
class FDivergence:
    """One f-divergence ``D_f(P||Q) = E_Q[f(p/q)]`` with the pieces f-GAN needs (paper Tables 1, 2, 6).

    * ``f(u)``: the convex generator function, ``u > 0``, ``f(1) = 0``.
    * ``activation(v) = g_f(v)``: maps the discriminator's raw score ``v`` into the domain
      of the conjugate, so ``T(x) = g_f(V(x))``.
    * ``conjugate(t) = f*(t) = sup_u (t u - f(u))``, defined on that domain.
    * ``conjugate_of_activation(v)``: ``f*(g_f(v))`` written in a form that does not
      overflow/cancel for large ``|v|`` (``conjugate(activation(v))`` does for some
      divergences, e.g. Jensen-Shannon at ``v = 20`` in float32). ``None`` means the
      plain composition is already stable.

    Note: the paper's "Jensen-Shannon" f gives ``2 * JSD`` (in nats) and its "GAN" f gives
    ``2 * JSD - log 4``; these values are what :func:`fgan_variational_bound` estimates.
    """

    name: str
    f: Callable[[Tensor], Tensor]
    activation: Callable[[Tensor], Tensor]
    conjugate: Callable[[Tensor], Tensor]
    conjugate_of_activation: Callable[[Tensor], Tensor] | None = None

    def conjugate_at_score(self, v: Tensor) -> Tensor:
        """``f*(g_f(v))``, numerically stable."""
        if self.conjugate_of_activation is not None:
            return self.conjugate_of_activation(v)
        return self.conjugate(self.activation(v))


# Named module-level functions (not lambdas) so that loss tables pickle, e.g. for DDP spawn.

_LOG2 = math.log(2.0)


def _identity(v: Tensor) -> Tensor:
    return v


def _kl_f(u: Tensor) -> Tensor:
    return torch.xlogy(u, u)


def _kl_conjugate(t: Tensor) -> Tensor:
    return torch.exp(t - 1.0)


def _reverse_kl_f(u: Tensor) -> Tensor:
    return -torch.log(u)


def _reverse_kl_activation(v: Tensor) -> Tensor:
    return -torch.exp(-v)


def _reverse_kl_conjugate(t: Tensor) -> Tensor:
    return -1.0 - torch.log(-t)


def _reverse_kl_conjugate_of_activation(v: Tensor) -> Tensor:
    return v - 1.0  # -1 - log(exp(-v))


def _pearson_f(u: Tensor) -> Tensor:
    return (u - 1.0).pow(2)


def _pearson_conjugate(t: Tensor) -> Tensor:
    return 0.25 * t.pow(2) + t


def _hellinger_f(u: Tensor) -> Tensor:
    return (torch.sqrt(u) - 1.0).pow(2)


def _hellinger_activation(v: Tensor) -> Tensor:
    return -torch.expm1(-v)  # 1 - exp(-v)


def _hellinger_conjugate(t: Tensor) -> Tensor:
    return t / (1.0 - t)


def _hellinger_conjugate_of_activation(v: Tensor) -> Tensor:
    return torch.expm1(v)  # (1 - e^-v) / e^-v


def _js_f(u: Tensor) -> Tensor:
    return torch.xlogy(u, u) - (u + 1.0) * torch.log((u + 1.0) / 2.0)


def _js_activation(v: Tensor) -> Tensor:
    return _LOG2 - F.softplus(-v)


def _js_conjugate(t: Tensor) -> Tensor:
    return -torch.log(2.0 - torch.exp(t))


def _js_conjugate_of_activation(v: Tensor) -> Tensor:
    return F.softplus(v) - _LOG2  # -log(2 - 2 sigmoid(v)) = -log 2 - log sigmoid(-v)


def _gan_f(u: Tensor) -> Tensor:
    return torch.xlogy(u, u) - (u + 1.0) * torch.log(u + 1.0)


def _gan_activation(v: Tensor) -> Tensor:
    return -F.softplus(-v)  # log sigmoid(v)


def _gan_conjugate(t: Tensor) -> Tensor:
    return -torch.log(-torch.expm1(t))  # -log(1 - e^t)


def _gan_conjugate_of_activation(v: Tensor) -> Tensor:
    return F.softplus(v)  # -log(1 - sigmoid(v))


F_DIVERGENCES: dict[str, FDivergence] = {
    d.name: d
    for d in (
        FDivergence("kl", _kl_f, _identity, _kl_conjugate),
        FDivergence(
            "reverse-kl", _reverse_kl_f, _reverse_kl_activation, _reverse_kl_conjugate, _reverse_kl_conjugate_of_activation
        ),
        FDivergence("pearson", _pearson_f, _identity, _pearson_conjugate),
        FDivergence(
            "hellinger", _hellinger_f, _hellinger_activation, _hellinger_conjugate, _hellinger_conjugate_of_activation
        ),
        FDivergence("js", _js_f, _js_activation, _js_conjugate, _js_conjugate_of_activation),
        FDivergence("gan", _gan_f, _gan_activation, _gan_conjugate, _gan_conjugate_of_activation),
    )
}


def _divergence(divergence: FDivergence | str) -> FDivergence:
    if isinstance(divergence, FDivergence):
        return divergence
    if divergence in F_DIVERGENCES:
        return F_DIVERGENCES[divergence]
    raise ValueError(_unknown_message("f-divergence", str(divergence), F_DIVERGENCES))


def fgan_variational_bound(v_real: Tensor, v_fake: Tensor, divergence: FDivergence | str) -> Tensor:
    """Lower-bound estimate of ``D_f(P||Q)``: ``E_P[g_f(v)] - E_Q[f*(g_f(v))]`` (paper Eq. 6).

    ``v_real`` are scores on samples of P (data), ``v_fake`` on samples of Q (generator).
    The bound is tight at the optimal critic ``T*(x) = g_f(V*(x)) = f'(p(x)/q(x))``.
    """
    div = _divergence(divergence)
    v_real, v_fake = _scores(v_real, "v_real"), _scores(v_fake, "v_fake")
    return div.activation(v_real).mean() - div.conjugate_at_score(v_fake).mean()


def fgan_d_loss(v_real: Tensor, v_fake: Tensor, divergence: FDivergence | str) -> Tensor:
    """f-GAN discriminator loss: minus the variational bound, so D maximizes the estimate."""
    return -fgan_variational_bound(v_real, v_fake, divergence)


def fgan_g_loss(v_fake: Tensor, divergence: FDivergence | str, *, saturating: bool = False) -> Tensor:
    """f-GAN generator loss.

    * ``saturating=False`` (default): ``-E_Q[g_f(v)]``, the alternative the paper
      recommends and uses in its experiments (Sec. 3.2), analogous to the non-saturating GAN.
    * ``saturating=True``: ``-E_Q[f*(g_f(v))]``, the generator's part of the saddle-point
      objective as written (G minimizes the bound).

    For the "gan" divergence these are exactly :func:`nonsaturating_g_loss` and
    :func:`minimax_g_loss`.
    """
    div = _divergence(divergence)
    v_fake = _scores(v_fake, "v_fake")
    if saturating:
        return -div.conjugate_at_score(v_fake).mean()
    return -div.activation(v_fake).mean()


# --------------------------------------------------------------------------- name -> loss table


@dataclass(frozen=True)
class AdversarialLoss:
    """A named pair of losses with one calling convention for every GAN variant.

    ``discriminator(d_real, d_fake)`` and ``generator(d_real, d_fake)`` both return the
    scalar their player minimizes. For non-relativistic losses the generator ignores
    ``d_real`` (pass ``None`` to skip computing D on real data in the G step).
    """

    name: str
    discriminator: Callable[[Tensor, Tensor], Tensor]
    generator: Callable[[Tensor | None, Tensor], Tensor]
    relativistic: bool
    description: str


class _OnFakesOnly:
    """Adapts a generator loss of ``d_fake`` alone to the ``(d_real, d_fake)`` convention.
    A class rather than a closure so that tables stay picklable."""

    def __init__(self, loss: Callable[..., Tensor]) -> None:
        self.loss = loss

    def __call__(self, d_real: Tensor | None, d_fake: Tensor, **options: object) -> Tensor:
        return self.loss(d_fake, **options)

    def __repr__(self) -> str:
        return f"_OnFakesOnly({self.loss!r})"


def _fgan_entry(key: str, title: str) -> AdversarialLoss:
    div = F_DIVERGENCES[key]
    return AdversarialLoss(
        name=f"fgan-{key}",
        discriminator=functools.partial(fgan_d_loss, divergence=div),
        generator=_OnFakesOnly(functools.partial(fgan_g_loss, divergence=div)),
        relativistic=False,
        description=f"f-GAN (Nowozin et al. 2016) with the {title} divergence; G uses -E[g_f(v)] unless saturating=True",
    )


LOSSES: dict[str, AdversarialLoss] = {
    entry.name: entry
    for entry in (
        AdversarialLoss("minimax", minimax_d_loss, _OnFakesOnly(minimax_g_loss), False,
                        "original GAN, saturating G: min_G E[log(1 - D(G(z)))] (Goodfellow et al. 2014)"),
        AdversarialLoss("nonsaturating", nonsaturating_d_loss, _OnFakesOnly(nonsaturating_g_loss), False,
                        "original GAN with the non-saturating G loss -E[log D(G(z))] (Goodfellow et al. 2014)"),
        AdversarialLoss("wasserstein", wasserstein_d_loss, _OnFakesOnly(wasserstein_g_loss), False,
                        "WGAN critic E[D(fake)] - E[D(real)]; needs a Lipschitz constraint (Arjovsky et al. 2017)"),
        AdversarialLoss("hinge", hinge_d_loss, _OnFakesOnly(hinge_g_loss), False,
                        "hinge loss (Lim & Ye 2017; Miyato et al. 2018)"),
        AdversarialLoss("lsgan", lsgan_d_loss, _OnFakesOnly(lsgan_g_loss), False,
                        "least squares, a-b-c = 0-1-1 (Mao et al. 2017)"),
        AdversarialLoss("rsgan", rsgan_d_loss, rsgan_g_loss, True,
                        "relativistic standard GAN on paired samples (Jolicoeur-Martineau 2018)"),
        AdversarialLoss("rasgan", rasgan_d_loss, rasgan_g_loss, True,
                        "relativistic average standard GAN (Jolicoeur-Martineau 2018)"),
        AdversarialLoss("ralsgan", ralsgan_d_loss, ralsgan_g_loss, True,
                        "relativistic average least squares (Jolicoeur-Martineau 2018)"),
        AdversarialLoss("rahinge", rahinge_d_loss, rahinge_g_loss, True,
                        "relativistic average hinge (Jolicoeur-Martineau 2018)"),
        _fgan_entry("kl", "Kullback-Leibler"),
        _fgan_entry("reverse-kl", "reverse Kullback-Leibler"),
        _fgan_entry("pearson", "Pearson chi^2"),
        _fgan_entry("hellinger", "squared Hellinger"),
        _fgan_entry("js", "Jensen-Shannon"),
        _fgan_entry("gan", "GAN (2 JSD - log 4)"),
    )
}

# Arguments that carry data, never options.
_DATA_ARGUMENTS = frozenset({"d_real", "d_fake", "v_real", "v_fake"})


def _option_names(loss: Callable[..., Tensor]) -> set[str]:
    """The keyword options a table entry's function accepts (data arguments and
    arguments already bound by ``functools.partial`` excluded)."""
    if isinstance(loss, _OnFakesOnly):
        return _option_names(loss.loss)
    bound: set[str] = set()
    while isinstance(loss, functools.partial):
        bound |= set(loss.keywords)
        loss = loss.func
    parameters = inspect.signature(loss).parameters
    return {name for name in parameters if name not in _DATA_ARGUMENTS and name not in bound}


def _unknown_message(kind: str, name: str, known: object) -> str:
    return unknown_name_message(kind, name, sorted(known))  # type: ignore[arg-type]


def get_loss(name: str, **options: object) -> AdversarialLoss:
    """The table entry ``name``, with ``options`` bound into whichever of its two losses
    accepts them (e.g. ``get_loss("nonsaturating", real_label=0.9)`` for one-sided label
    smoothing, ``get_loss("lsgan", a=-1, b=1, c=0)``, ``get_loss("fgan-kl", saturating=True)``).

    Raises ``ValueError`` naming the bad loss or option and suggesting close matches;
    option values are checked at once by a trial call on dummy scores.
    """
    if name not in LOSSES:
        raise ValueError(_unknown_message("adversarial loss", name, LOSSES))
    entry = LOSSES[name]
    if not options:
        return entry
    d_options_known, g_options_known = _option_names(entry.discriminator), _option_names(entry.generator)
    d_options = {k: v for k, v in options.items() if k in d_options_known}
    g_options = {k: v for k, v in options.items() if k in g_options_known}
    for option in options:
        if option not in d_options and option not in g_options:
            raise ValueError(
                _unknown_message(f"option for loss {name!r}:", option, d_options_known | g_options_known)
            )
    configured = dataclasses.replace(
        entry,
        discriminator=functools.partial(entry.discriminator, **d_options) if d_options else entry.discriminator,
        generator=functools.partial(entry.generator, **g_options) if g_options else entry.generator,
    )
    if "rng" not in options:  # a trial call would draw from the caller's generator
        probe = torch.zeros(2)
        configured.discriminator(probe, probe)  # fail now, not mid-training, on e.g. real_label=1.5
        configured.generator(probe, probe)
    return configured
