"""Regularizers against independent per-sample loops and closed forms."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ganzoo.regularizers import (
    mode_seeking_term,
    InstanceNoise,
    clip_weights_,
    gradient_norm_squared,
    gradient_penalty,
    r1_penalty,
    r2_penalty,
)

# ----------------------------------------------------------------------------- small discriminators


def mlp_discriminator(in_features: int = 5) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(in_features, 16), nn.Tanh(), nn.Linear(16, 1), nn.Flatten(0)).double()


def conv_discriminator() -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1),
        nn.LeakyReLU(0.2),
        nn.Conv2d(8, 8, 3, stride=2, padding=1),
        nn.LeakyReLU(0.2),
        nn.Flatten(),
        nn.Linear(8 * 2 * 2, 1),
    ).double()  # returns (N, 1): the penalties accept that shape too


def batches(shape, seed=0, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    real = torch.randn(shape, generator=generator, dtype=dtype)
    fake = torch.randn(shape, generator=generator, dtype=dtype) * 0.5 + 1.0
    alpha = torch.rand(shape[0], generator=generator, dtype=dtype)
    return real, fake, alpha


def input_gradient_loop(discriminator, samples):
    """Gradient of D at each sample, one sample at a time (no batching tricks)."""
    gradients = []
    for sample in samples:
        x = sample.detach().clone().unsqueeze(0).requires_grad_(True)
        (g,) = torch.autograd.grad(discriminator(x).sum(), x)
        gradients.append(g.squeeze(0))
    return gradients


CASES = [
    pytest.param(mlp_discriminator, (6, 5), id="mlp"),
    pytest.param(conv_discriminator, (4, 3, 8, 8), id="conv-4d"),
]


# ----------------------------------------------------------------------------- gradient penalty


@pytest.mark.parametrize("make_d, shape", CASES)
@pytest.mark.parametrize("center", [1.0, 0.0])
def test_gradient_penalty_matches_per_sample_loop(make_d, shape, center):
    discriminator = make_d()
    real, fake, alpha = batches(shape)
    interpolated = [a * r + (1 - a) * f for a, r, f in zip(alpha, real, fake)]
    expected = sum((g.norm() - center) ** 2 for g in input_gradient_loop(discriminator, interpolated)) / shape[0]
    got = gradient_penalty(discriminator, real, fake, center=center, alpha=alpha)
    assert got.item() == pytest.approx(expected.item(), rel=1e-10)
    # alpha may also be given already broadcastable, (N, 1, ..., 1).
    alpha_column = alpha.reshape((-1,) + (1,) * (len(shape) - 1))
    assert gradient_penalty(discriminator, real, fake, center=center, alpha=alpha_column).item() == got.item()


def test_gradient_penalty_draws_one_alpha_per_sample():
    """D(x) = ||x||^2 / 2 has gradient x. With real = 1, fake = 0 in 4 dimensions, one alpha
    per sample gives ||grad|| = 2 alpha and E[(2 alpha - 1)^2] = 1/3 for alpha ~ U[0, 1];
    one alpha per element would give ~0.07, one alpha per batch a random value."""

    def half_squared_norm(x):
        return 0.5 * x.flatten(1).pow(2).sum(1)

    n = 200_000
    torch.manual_seed(0)
    penalty = gradient_penalty(half_squared_norm, torch.ones(n, 1, 2, 2), torch.zeros(n, 1, 2, 2))
    assert penalty.item() == pytest.approx(1 / 3, abs=0.005)


def test_gradient_penalty_backpropagates_into_discriminator_parameters():
    """Linear D(x) = w.x + b: penalty (||w|| - 1)^2 for every alpha, gradient 2 (||w|| - 1) w / ||w||.
    Only correct if the input gradient was built with create_graph=True."""
    torch.manual_seed(0)
    linear = nn.Linear(7, 1).double()
    real, fake, _ = batches((5, 7))
    penalty = gradient_penalty(linear, real, fake)
    w = linear.weight.detach().flatten()
    assert penalty.item() == pytest.approx(((w.norm() - 1) ** 2).item(), rel=1e-12)
    penalty.backward()
    expected_grad = 2 * (w.norm() - 1) * w / w.norm()
    assert torch.allclose(linear.weight.grad.flatten(), expected_grad, rtol=1e-10)
    assert linear.bias.grad is None or linear.bias.grad.abs().item() == 0.0  # b never reaches the gradient


@pytest.mark.parametrize("make_d, shape", CASES)
def test_gradient_penalty_gradient_reaches_every_weight(make_d, shape):
    discriminator = make_d()
    real, fake, alpha = batches(shape)
    gradient_penalty(discriminator, real, fake, alpha=alpha).backward()
    # Weights only: in a piecewise-linear net (LeakyReLU) the input gradient does not
    # depend on the biases except through which units are active.
    for name, parameter in discriminator.named_parameters():
        if not name.endswith("weight"):
            continue
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_gradient_penalty_leaves_inputs_alone():
    discriminator = mlp_discriminator()
    real, fake, alpha = batches((4, 5))
    fake.requires_grad_(True)  # e.g. a generator output the caller forgot to detach
    gradient_penalty(discriminator, real, fake, alpha=alpha).backward()
    assert fake.grad is None  # detached inside: the penalty trains D only


def test_gradient_penalty_under_bf16_autocast_equals_fp32():
    torch.manual_seed(0)
    discriminator = nn.Sequential(nn.Linear(32, 64), nn.LeakyReLU(0.2), nn.Linear(64, 1))  # float32 weights
    real, fake, alpha = batches((16, 32), dtype=torch.float32)
    reference = gradient_penalty(discriminator, real, fake, alpha=alpha)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = gradient_penalty(discriminator, real, fake, alpha=alpha)
        r1_mixed = r1_penalty(discriminator, real, gamma=10.0)
        # What the penalty would be without switching autocast off (the DESIGN.md trap).
        x = (alpha[:, None] * real + (1 - alpha[:, None]) * fake).requires_grad_(True)
        (g,) = torch.autograd.grad(discriminator(x).sum(), x, create_graph=True)
        naive = ((g.float().norm(2, dim=1) - 1) ** 2).mean()
    assert mixed.dtype == torch.float32
    assert abs(mixed.item() - reference.item()) < 1e-5
    assert abs(r1_mixed.item() - r1_penalty(discriminator, real, gamma=10.0).item()) < 1e-5
    assert abs(naive.item() - reference.item()) > 1e-5  # bf16 input gradients miss it (~1e-4): the check can fail


def test_gradient_penalty_rejects_bad_input():
    discriminator = mlp_discriminator()
    real, fake, alpha = batches((4, 5))
    with pytest.raises(ValueError, match="same shape"):
        gradient_penalty(discriminator, real, fake[:3])
    with pytest.raises(ValueError, match="one interpolation coefficient per sample"):
        gradient_penalty(discriminator, real, fake, alpha=alpha[:3])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        gradient_penalty(discriminator, real, fake, alpha=alpha + 1.5)
    with pytest.raises(ValueError, match="one score per sample"):
        gradient_penalty(lambda x: x, real, fake)
    with pytest.raises(ValueError, match="batch"):
        gradient_penalty(discriminator, real[0], fake[0])


# ----------------------------------------------------------------------------- R1 / R2


@pytest.mark.parametrize("make_d, shape", CASES)
def test_r1_r2_match_per_sample_loop(make_d, shape):
    discriminator = make_d()
    real, fake, _ = batches(shape)
    gamma = 10.0
    for penalty, samples in ((r1_penalty, real), (r2_penalty, fake)):
        squared_norms = torch.stack([g.pow(2).sum() for g in input_gradient_loop(discriminator, samples)])
        assert torch.allclose(gradient_norm_squared(discriminator, samples), squared_norms, rtol=1e-10)
        expected = gamma / 2 * squared_norms.mean()
        assert penalty(discriminator, samples, gamma).item() == pytest.approx(expected.item(), rel=1e-10)


def test_r1_closed_form_for_linear_discriminator():
    """D(x) = w.x: ||grad||^2 = ||w||^2 everywhere, so R1 = gamma/2 ||w||^2 and d R1 / d w = gamma w."""
    torch.manual_seed(0)
    linear = nn.Linear(9, 1).double()
    real, fake, _ = batches((6, 9))
    w = linear.weight.detach().flatten()
    norms = gradient_norm_squared(linear, real)
    assert norms.shape == (6,)
    assert torch.allclose(norms, w.pow(2).sum().expand(6), rtol=1e-12)
    r1 = r1_penalty(linear, real, gamma=4.0)
    assert r1.item() == pytest.approx(2.0 * w.pow(2).sum().item(), rel=1e-12)
    assert r2_penalty(linear, fake, gamma=4.0).item() == pytest.approx(r1.item(), rel=1e-12)
    r1.backward()
    assert torch.allclose(linear.weight.grad.flatten(), 4.0 * w, rtol=1e-12)


def test_r1_rejects_negative_gamma():
    with pytest.raises(ValueError, match="-1"):
        r1_penalty(mlp_discriminator(), torch.zeros(2, 5, dtype=torch.float64), gamma=-1.0)


# ----------------------------------------------------------------------------- weight clipping


def test_clip_weights_clamps_every_parameter_in_place():
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    with torch.no_grad():
        for p in critic.parameters():
            p.mul_(10)
    before = [p.detach().clone() for p in critic.parameters()]
    weight_object = critic[0].weight
    assert clip_weights_(critic, 0.05) is None
    assert critic[0].weight is weight_object  # same Parameter, clamped in place
    for old, new in zip(before, critic.parameters()):
        assert new.abs().max() <= torch.tensor(0.05)  # 0.05 as float32 rounds up slightly
        assert torch.equal(new.detach(), old.clamp(-0.05, 0.05))
        assert new.requires_grad and new.grad_fn is None


@pytest.mark.parametrize("bad", [0.0, -0.01, float("inf")])
def test_clip_weights_rejects_non_positive_value(bad):
    with pytest.raises(ValueError, match="clip_value"):
        clip_weights_(nn.Linear(2, 1), bad)


# ----------------------------------------------------------------------------- instance noise


def test_instance_noise_schedules():
    linear = InstanceNoise(0.1, 0.02, anneal_steps=1000)
    assert [linear.sigma(s) for s in (0, 250, 500, 1000, 5000)] == pytest.approx([0.1, 0.08, 0.06, 0.02, 0.02])
    with pytest.raises(ValueError, match="cosine"):
        InstanceNoise(0.1, schedule="cosine")
    constant = InstanceNoise(0.3, schedule="constant")
    assert constant.sigma(0) == constant.sigma(10**6) == 0.3


def test_instance_noise_has_the_scheduled_std():
    noise = InstanceNoise(0.2, 0.0, anneal_steps=100)
    x = torch.full((100_000,), 3.0)
    torch.manual_seed(0)
    for step, sigma in ((0, 0.2), (50, 0.1)):
        noisy = noise(x, step)
        assert noisy.shape == x.shape
        assert (noisy - x).std().item() == pytest.approx(sigma, rel=0.01)
        assert (noisy - x).mean().item() == pytest.approx(0.0, abs=4 * sigma / math.sqrt(x.numel()))
    assert noise(x, 100) is x  # sigma 0: no-op


def test_instance_noise_validates_arguments():
    with pytest.raises(ValueError, match="sigma_start"):
        InstanceNoise(-0.1)
    with pytest.raises(ValueError, match="sigma_end"):
        InstanceNoise(0.1, sigma_end=float("nan"))
    with pytest.raises(ValueError, match="anneal_steps"):
        InstanceNoise(0.1, anneal_steps=0)
    with pytest.raises(ValueError, match="'linear'"):
        InstanceNoise(0.1, schedule="linaer")
    with pytest.raises(ValueError, match="step"):
        InstanceNoise(0.1).sigma(-1)


def test_zero_centred_gradient_penalty_has_finite_gradient_at_zero_input_gradient():
    # D(x) = <w, x>: grad_x D = w, so the zero-centred penalty is ||w||^2 with derivative 2w.
    # At w = 0 the norm's derivative w/||w|| is 0/0; the penalty must still give 2w = 0, not NaN.
    for w0 in (torch.zeros(5, dtype=torch.float64), torch.arange(5, dtype=torch.float64)):
        w = w0.clone().requires_grad_(True)
        real, fake, _ = batches((4, 5))
        penalty = gradient_penalty(lambda x: x @ w, real, fake, center=0.0)
        penalty.backward()
        assert penalty.item() == pytest.approx(w0.pow(2).sum().item())
        assert torch.allclose(w.grad, 2 * w0)


def test_instance_noise_follows_the_given_generator():
    noise = InstanceNoise(0.5, schedule="constant")
    x = torch.zeros(64)
    first = noise(x, 0, generator=torch.Generator().manual_seed(3))
    torch.manual_seed(123)  # the global stream must not matter
    again = noise(x, 0, generator=torch.Generator().manual_seed(3))
    assert torch.equal(first, again)
    assert not torch.equal(first, noise(x, 0, generator=torch.Generator().manual_seed(4)))


def test_mode_seeking_term_matches_its_formula():
    """MSGAN, Eq. 3: 1 / (mean|G(z1) - G(z2)| / mean|z1 - z2| + eps), the halves of the batch paired."""
    fake = torch.tensor([[0.0, 1.0], [2.0, 2.0], [1.0, -1.0], [2.0, 0.0]])
    latents = torch.tensor([[0.0], [1.0], [4.0], [1.0]])
    # pairs (row 0, row 2) and (row 1, row 3): image distances |(-1, 2)| and |(0, 2)| -> mean 5 / 4;
    # latent distances 4 and 0 -> mean 2; ratio 5/8.
    assert mode_seeking_term(fake, latents, eps=0.0).item() == pytest.approx(8 / 5)
    assert mode_seeking_term(fake, latents).item() == pytest.approx(1 / (5 / 8 + 1e-5))


def test_minimising_the_mode_seeking_term_pushes_fakes_apart():
    """Gradient descent on the term spreads a collapsed batch; a flipped sign would collapse it further."""
    torch.manual_seed(0)
    fake = (0.01 * torch.randn(8, 3)).requires_grad_()
    latents = torch.randn(8, 5)
    spread = lambda: (fake[:4] - fake[4:]).abs().mean().item()  # noqa: E731
    before = spread()
    for _ in range(20):
        (gradient,) = torch.autograd.grad(mode_seeking_term(fake, latents), fake)
        with torch.no_grad():
            fake -= 1e-4 * gradient
    assert spread() > 2 * before


@pytest.mark.parametrize("batch", [1, 3])
def test_mode_seeking_term_rejects_unpairable_batches(batch):
    with pytest.raises(ValueError, match="halves of a batch"):
        mode_seeking_term(torch.zeros(batch, 2), torch.zeros(batch, 4))
