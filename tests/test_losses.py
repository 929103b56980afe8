"""Every adversarial loss against its formula, computed independently (numpy, by hand).

f-GAN: each conjugate is checked against a numerical sup, and the variational bound at
the optimal critic against the true divergence between two Gaussians.
"""
from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import torch
from scipy import integrate, optimize, stats

from ganzoo import losses as L

# ----------------------------------------------------------------------------- numpy references


def np_log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def np_log_one_minus_sigmoid(x):
    return -np.logaddexp(0.0, x)


def t64(values):
    return torch.tensor(values, dtype=torch.float64)


@pytest.fixture
def scores():
    rng = np.random.default_rng(0)
    return rng.normal(0.5, 2.0, size=7), rng.normal(-0.5, 2.0, size=7)


# ----------------------------------------------------------------------------- standard GAN


def test_minimax_value_at_d_one_half_is_minus_log4():
    half = torch.zeros(5)  # logit 0 <=> D = 1/2
    value_function = -L.minimax_d_loss(half, half)  # V(D, G) = E log D(x) + E log(1 - D(G(z)))
    assert value_function.item() == pytest.approx(-math.log(4.0), abs=1e-6)
    assert L.minimax_g_loss(half).item() == pytest.approx(math.log(0.5), abs=1e-6)
    assert L.nonsaturating_g_loss(half).item() == pytest.approx(math.log(2.0), abs=1e-6)


def test_bce_losses_match_numpy(scores):
    real, fake = scores
    expected_d = -np_log_sigmoid(real).mean() - np_log_one_minus_sigmoid(fake).mean()
    assert L.minimax_d_loss(t64(real), t64(fake)).item() == pytest.approx(expected_d, rel=1e-12)
    assert L.nonsaturating_d_loss(t64(real), t64(fake)).item() == pytest.approx(expected_d, rel=1e-12)
    assert L.minimax_g_loss(t64(fake)).item() == pytest.approx(np_log_one_minus_sigmoid(fake).mean(), rel=1e-12)
    assert L.nonsaturating_g_loss(t64(fake)).item() == pytest.approx(-np_log_sigmoid(fake).mean(), rel=1e-12)


def test_bce_losses_stay_finite_for_extreme_logits():
    extreme = torch.tensor([-200.0, 200.0])
    for value in (L.minimax_d_loss(extreme, extreme), L.minimax_g_loss(extreme), L.nonsaturating_g_loss(extreme)):
        assert torch.isfinite(value)


def test_one_sided_label_smoothing_changes_the_real_target(scores):
    real, fake = scores
    smoothed = L.minimax_d_loss(t64(real), t64(fake), real_label=0.9).item()
    expected = (
        -(0.9 * np_log_sigmoid(real) + 0.1 * np_log_one_minus_sigmoid(real)).mean()
        - np_log_one_minus_sigmoid(fake).mean()
    )
    assert smoothed == pytest.approx(expected, rel=1e-12)
    # The optimal D on real data now outputs 0.9, not 1: zero gradient at logit(0.9).
    d_real = torch.full((4,), math.log(0.9 / 0.1), dtype=torch.float64, requires_grad=True)
    L.minimax_d_loss(d_real, torch.zeros(4, dtype=torch.float64), real_label=0.9).backward()
    assert d_real.grad.abs().max().item() < 1e-12


def test_label_noise_flips_the_expected_fraction_of_labels():
    n, p = 100_000, 0.3
    d_real = torch.zeros(n, requires_grad=True)
    d_fake = torch.zeros(n, requires_grad=True)
    L.minimax_d_loss(d_real, d_fake, label_noise=p, rng=torch.Generator().manual_seed(0)).backward()
    # d BCE / d logit = (sigmoid(0) - target) / n, so the targets can be read off the gradient.
    real_targets = 0.5 - d_real.grad * n
    fake_targets = 0.5 - d_fake.grad * n
    assert set(torch.round(real_targets).unique().tolist()) == {0.0, 1.0}
    assert (real_targets < 0.5).float().mean().item() == pytest.approx(p, abs=0.01)
    assert (fake_targets > 0.5).float().mean().item() == pytest.approx(p, abs=0.01)


def test_label_noise_of_one_swaps_real_and_fake(scores):
    real, fake = (t64(s) for s in scores)
    flipped = L.minimax_d_loss(real, fake, label_noise=1.0)
    assert flipped.item() == pytest.approx(L.minimax_d_loss(fake, real).item(), rel=1e-12)


def test_saturation_minimax_gradient_vanishes_nonsaturating_does_not():
    n = 8
    rejected = torch.full((n,), -10.0, requires_grad=True)  # D(G(z)) = sigmoid(-10) ~ 4.5e-5
    (minimax_grad,) = torch.autograd.grad(L.minimax_g_loss(rejected), rejected)
    (nonsat_grad,) = torch.autograd.grad(L.nonsaturating_g_loss(rejected), rejected)
    assert (minimax_grad * n).abs().max().item() < 1e-4
    assert (nonsat_grad * n).abs().min().item() > 0.999
    # Both push the fake logits up (a gradient-descent step increases d_fake).
    assert (minimax_grad < 0).all() and (nonsat_grad < 0).all()


# ----------------------------------------------------------------------------- Wasserstein, hinge, LSGAN


def test_wasserstein_closed_form(scores):
    real, fake = scores
    assert L.wasserstein_d_loss(t64(real), t64(fake)).item() == pytest.approx(fake.mean() - real.mean(), rel=1e-12)
    assert L.wasserstein_g_loss(t64(fake)).item() == pytest.approx(-fake.mean(), rel=1e-12)


def test_hinge_hand_computed():
    d_real = torch.tensor([2.0, 0.5, -1.0])
    d_fake = torch.tensor([-2.0, 0.0, 0.5])
    # relu(1 - real) = [0, 0.5, 2]; relu(1 + fake) = [0, 1, 1.5]
    assert L.hinge_d_loss(d_real, d_fake).item() == pytest.approx(2.5 / 3 + 2.5 / 3)
    assert L.hinge_g_loss(d_fake).item() == pytest.approx(0.5)


def test_lsgan_hand_computed():
    d_real = torch.tensor([1.0, 3.0])
    d_fake = torch.tensor([0.0, -2.0])
    # 0.5 * mean((real - 1)^2) + 0.5 * mean((fake - 0)^2) = 0.5 * 2 + 0.5 * 2
    assert L.lsgan_d_loss(d_real, d_fake).item() == pytest.approx(2.0)
    # a = -1, b = 1: 0.5 * mean([0, 4]) + 0.5 * mean([1, 1])
    assert L.lsgan_d_loss(d_real, d_fake, a=-1.0, b=1.0).item() == pytest.approx(1.5)
    assert L.lsgan_g_loss(d_fake).item() == pytest.approx(0.5 * (1 + 9) / 2)
    assert L.lsgan_g_loss(d_fake, c=0.0).item() == pytest.approx(0.5 * (0 + 4) / 2)


# ----------------------------------------------------------------------------- relativistic


def test_relativistic_losses_match_paper_equations(scores):
    real, fake = scores
    r, f = t64(real), t64(fake)
    real_rel, fake_rel = real - fake.mean(), fake - real.mean()
    expected = {
        "rsgan_d": -np_log_sigmoid(real - fake).mean(),
        "rsgan_g": -np_log_sigmoid(fake - real).mean(),
        "rasgan_d": -np_log_sigmoid(real_rel).mean() - np_log_one_minus_sigmoid(fake_rel).mean(),
        "rasgan_g": -np_log_sigmoid(fake_rel).mean() - np_log_one_minus_sigmoid(real_rel).mean(),
        "ralsgan_d": ((real_rel - 1) ** 2).mean() + ((fake_rel + 1) ** 2).mean(),
        "ralsgan_g": ((fake_rel - 1) ** 2).mean() + ((real_rel + 1) ** 2).mean(),
        "rahinge_d": np.maximum(0, 1 - real_rel).mean() + np.maximum(0, 1 + fake_rel).mean(),
        "rahinge_g": np.maximum(0, 1 - fake_rel).mean() + np.maximum(0, 1 + real_rel).mean(),
    }
    for key, value in expected.items():
        got = getattr(L, f"{key}_loss")(r, f).item()
        assert got == pytest.approx(value, rel=1e-12), key


def test_relativistic_generator_gradient_flows_through_both_terms():
    """RaGAN's G loss depends on the fakes through both terms (also via E[C(x_f)])."""
    d_real = torch.tensor([1.0, 2.0])
    d_fake = torch.tensor([-1.0, 0.5], requires_grad=True)
    L.rahinge_g_loss(d_real, d_fake).backward()
    # d/d fake_j of [mean relu(1 - (f - 1.5)) + mean relu(1 + (r - mean f))] = -1/2 - 1/2
    assert d_fake.grad.tolist() == pytest.approx([-1.0, -1.0])


def test_rsgan_label_smoothing(scores):
    real, fake = scores
    got = L.rsgan_d_loss(t64(real), t64(fake), real_label=0.9).item()
    diff = real - fake
    expected = -(0.9 * np_log_sigmoid(diff) + 0.1 * np_log_one_minus_sigmoid(diff)).mean()
    assert got == pytest.approx(expected, rel=1e-12)


# ----------------------------------------------------------------------------- f-GAN

# Hand-written f'(u) and the inverse of each output activation g_f (paper Table 6).
F_PRIME = {
    "kl": lambda u: 1 + np.log(u),
    "reverse-kl": lambda u: -1 / u,
    "pearson": lambda u: 2 * (u - 1),
    "hellinger": lambda u: 1 - 1 / np.sqrt(u),
    "js": lambda u: np.log(2 * u / (1 + u)),
    "gan": lambda u: np.log(u / (1 + u)),
}
ACTIVATION_INVERSE = {
    "kl": lambda t: t,
    "reverse-kl": lambda t: -np.log(-t),
    "pearson": lambda t: t,
    "hellinger": lambda t: -np.log(1 - t),
    "js": lambda t: -np.log(2 * np.exp(-t) - 1),
    "gan": lambda t: -np.log(np.exp(-t) - 1),
}


def test_f_divergence_table_is_complete():
    assert set(L.F_DIVERGENCES) == set(F_PRIME)
    for name, div in L.F_DIVERGENCES.items():
        assert div.name == name
        # f(1) = 0 makes D_f(P||P) = 0; the paper's "GAN" f is the exception (D_f = 2 JSD - log 4).
        f_at_one = -math.log(4.0) if name == "gan" else 0.0
        assert div.f(t64([1.0])).item() == pytest.approx(f_at_one, abs=1e-12), name


@pytest.mark.parametrize("name", sorted(F_PRIME))
def test_conjugate_is_the_numerical_supremum(name):
    """f*(t) = sup_u (t u - f(u)), maximised numerically over log u, at t = f'(u0)."""
    div = L.F_DIVERGENCES[name]
    f = lambda u: div.f(t64([u])).item()  # noqa: E731
    for u0 in (0.2, 0.7, 1.0, 2.5, 6.0):
        t = float(F_PRIME[name](u0))
        result = optimize.minimize_scalar(
            lambda s: -(t * math.exp(s) - f(math.exp(s))), bounds=(-12, 12), method="bounded", options={"xatol": 1e-10}
        )
        supremum = -result.fun
        assert div.conjugate(t64([t])).item() == pytest.approx(supremum, abs=1e-7), (name, u0)
        # Fenchel-Young holds with equality at t = f'(u0).
        assert div.conjugate(t64([t])).item() == pytest.approx(t * u0 - f(u0), abs=1e-10), (name, u0)


@pytest.mark.parametrize("name", sorted(F_PRIME))
def test_fenchel_young_inequality_on_a_grid(name):
    div = L.F_DIVERGENCES[name]
    u = torch.logspace(-3, 3, 61, dtype=torch.float64)[:, None]
    t = div.activation(torch.linspace(-6, 6, 49, dtype=torch.float64))[None, :]  # inside dom f*
    gap = div.conjugate(t) - (t * u - div.f(u))
    assert gap.min().item() >= -1e-9


@pytest.mark.parametrize("name", sorted(F_PRIME))
def test_stable_conjugate_of_activation_matches_composition(name):
    div = L.F_DIVERGENCES[name]
    v = torch.linspace(-5, 5, 41, dtype=torch.float64)
    assert torch.allclose(div.conjugate_at_score(v), div.conjugate(div.activation(v)), rtol=1e-10, atol=1e-10)
    large = torch.tensor([-30.0, 30.0]) if name not in ("kl", "hellinger") else torch.tensor([-30.0, 10.0])
    assert torch.isfinite(div.conjugate_at_score(large)).all(), name


def _js_times_two_by_quadrature(p, q):
    integrand = lambda x: p(x) * np.log(2 * p(x) / (p(x) + q(x))) + q(x) * np.log(2 * q(x) / (p(x) + q(x)))  # noqa: E731
    return integrate.quad(integrand, -15, 16, epsabs=1e-12)[0]


@pytest.fixture(scope="module")
def gaussian_samples():
    """P = N(0, 1) ("real") and Q = N(1, 1) ("fake"), 2^18 samples each, drawn by
    randomised quasi-Monte Carlo (scrambled Sobol points through the inverse normal CDF).

    Each point is still an unbiased draw from its Gaussian; the stratification removes most
    of the Monte Carlo noise, which matters for Pearson chi^2: its estimator has a
    per-sample std of ~20 (the E_Q[(p/q)^2] term lives in Q's left tail), so plain Monte
    Carlo would need ~4M samples to be reliably within 2%.
    """
    sobol = torch.quasirandom.SobolEngine(dimension=2, scramble=True, seed=0)
    normal = torch.special.ndtri(sobol.draw(2**18, dtype=torch.float64))
    return normal[:, 0], normal[:, 1] + 1.0


@pytest.fixture(scope="module")
def true_divergences():
    """D_f(N(0,1) || N(1,1)) in closed form, or by quadrature where there is none."""
    js2 = _js_times_two_by_quadrature(stats.norm(0, 1).pdf, stats.norm(1, 1).pdf)
    return {
        "kl": 0.5,  # (mu_p - mu_q)^2 / 2
        "reverse-kl": 0.5,
        "pearson": math.e - 1.0,  # exp((mu_p - mu_q)^2) - 1
        "hellinger": 2 * (1 - math.exp(-1 / 8)),  # int (sqrt p - sqrt q)^2
        "js": js2,  # the paper's JS f gives 2 * JSD
        "gan": js2 - math.log(4.0),
    }


# Pearson's estimator is tail-dominated (see gaussian_samples); the others come out within 0.05%.
BOUND_TOLERANCE = {"pearson": 0.02}


@pytest.mark.parametrize("name", sorted(F_PRIME))
def test_variational_bound_at_optimal_critic_equals_true_divergence(name, gaussian_samples, true_divergences):
    x_p, x_q = gaussian_samples
    true_value = true_divergences[name]

    def optimal_scores(x):
        """V*(x) = g_f^{-1}(T*(x)) with T*(x) = f'(p(x) / q(x))."""
        density_ratio = np.exp(-x.numpy() + 0.5)  # p(x) / q(x) for N(0,1) vs N(1,1)
        return torch.from_numpy(ACTIVATION_INVERSE[name](F_PRIME[name](density_ratio)))

    v_real, v_fake = optimal_scores(x_p), optimal_scores(x_q)
    bound = L.fgan_variational_bound(v_real, v_fake, name).item()
    assert bound == pytest.approx(true_value, rel=BOUND_TOLERANCE.get(name, 0.005))
    assert L.fgan_d_loss(v_real, v_fake, name).item() == pytest.approx(-bound)
    # A worse critic gives a smaller estimate: it is a lower bound.
    assert L.fgan_variational_bound(0.5 * v_real, 0.5 * v_fake, name).item() < true_value - 0.01


def test_quadrature_reference_agrees_with_closed_forms():
    """The scipy integration used for JS reproduces the closed-form KL, so it is trusted for JS."""
    p, q = stats.norm(0, 1).pdf, stats.norm(1, 1).pdf
    kl = integrate.quad(lambda x: p(x) * np.log(p(x) / q(x)), -15, 16)[0]
    assert kl == pytest.approx(0.5, rel=1e-8)
    # 2 JSD is between 0 and 2 log 2.
    assert 0 < _js_times_two_by_quadrature(p, q) < 2 * math.log(2)


def test_fgan_gan_divergence_reproduces_standard_gan(scores):
    real, fake = (t64(s) for s in scores)
    assert L.fgan_d_loss(real, fake, "gan").item() == pytest.approx(L.minimax_d_loss(real, fake).item(), rel=1e-12)
    assert L.fgan_g_loss(fake, "gan").item() == pytest.approx(L.nonsaturating_g_loss(fake).item(), rel=1e-12)
    assert L.fgan_g_loss(fake, "gan", saturating=True).item() == pytest.approx(
        L.minimax_g_loss(fake).item(), rel=1e-12
    )


def test_fgan_generator_forms(scores):
    _, fake = scores
    v = t64(fake)
    # KL: g_f(v) = v, f*(t) = exp(t - 1).
    assert L.fgan_g_loss(v, "kl").item() == pytest.approx(-fake.mean(), rel=1e-12)
    assert L.fgan_g_loss(v, "kl", saturating=True).item() == pytest.approx(-np.exp(fake - 1).mean(), rel=1e-12)


def test_unknown_divergence_is_a_value_error():
    with pytest.raises(ValueError, match="'hellinger'"):
        L.fgan_d_loss(torch.zeros(2), torch.zeros(2), "helinger")


# ----------------------------------------------------------------------------- table and get_loss

EXPECTED_NAMES = [
    "minimax", "nonsaturating", "wasserstein", "hinge", "lsgan", "rsgan", "rasgan", "ralsgan", "rahinge",
    "fgan-kl", "fgan-reverse-kl", "fgan-pearson", "fgan-hellinger", "fgan-js", "fgan-gan",
]  # fmt: skip


def test_table_names_and_calling_convention(scores):
    assert list(L.LOSSES) == EXPECTED_NAMES
    real, fake = (t64(s) for s in scores)
    for name, entry in L.LOSSES.items():
        assert entry.name == name and entry.description
        assert entry.relativistic == (name in {"rsgan", "rasgan", "ralsgan", "rahinge"})
        assert entry.discriminator(real, fake).ndim == 0
        assert entry.generator(real, fake).ndim == 0
        if not entry.relativistic:  # d_real may be skipped in the G step
            assert entry.generator(None, fake).item() == entry.generator(real, fake).item()


def test_table_entries_are_the_plain_functions(scores):
    real, fake = (t64(s) for s in scores)
    table = L.LOSSES
    assert table["hinge"].generator(None, fake).item() == L.hinge_g_loss(fake).item()
    assert table["rasgan"].generator(real, fake).item() == L.rasgan_g_loss(real, fake).item()
    assert table["fgan-pearson"].discriminator(real, fake).item() == L.fgan_d_loss(real, fake, "pearson").item()


def test_table_pickles():
    restored = pickle.loads(pickle.dumps((L.LOSSES, L.get_loss("nonsaturating", real_label=0.9))))
    assert restored[1].discriminator(torch.zeros(2), torch.zeros(2)).item() == pytest.approx(
        L.minimax_d_loss(torch.zeros(2), torch.zeros(2), real_label=0.9).item()
    )


def test_get_loss_binds_options(scores):
    real, fake = (t64(s) for s in scores)
    smoothed = L.get_loss("nonsaturating", real_label=0.9)
    assert smoothed.discriminator(real, fake).item() == L.minimax_d_loss(real, fake, real_label=0.9).item()
    assert smoothed.generator(None, fake).item() == L.nonsaturating_g_loss(fake).item()
    lsgan = L.get_loss("lsgan", a=-1.0, b=1.0, c=0.0)
    assert lsgan.discriminator(real, fake).item() == L.lsgan_d_loss(real, fake, a=-1.0, b=1.0).item()
    assert lsgan.generator(None, fake).item() == L.lsgan_g_loss(fake, c=0.0).item()
    saturating = L.get_loss("fgan-kl", saturating=True)
    assert saturating.generator(None, fake).item() == L.fgan_g_loss(fake, "kl", saturating=True).item()
    assert L.get_loss("hinge") is L.LOSSES["hinge"]


def test_get_loss_unknown_name_suggests_close_match():
    with pytest.raises(ValueError, match=r"'hinje'.*'hinge'"):
        L.get_loss("hinje")
    with pytest.raises(ValueError, match=r"'fgan-kl'"):
        L.get_loss("fgan_kl")


def test_get_loss_unknown_or_bad_option():
    with pytest.raises(ValueError, match=r"'real_lable'.*'real_label'"):
        L.get_loss("minimax", real_lable=0.9)
    with pytest.raises(ValueError, match="real_label"):  # Wasserstein has no labels
        L.get_loss("wasserstein", real_label=0.9)
    with pytest.raises(ValueError, match="1.5"):
        L.get_loss("minimax", real_label=1.5)
    with pytest.raises(ValueError, match="label_noise"):
        L.minimax_d_loss(torch.zeros(2), torch.zeros(2), label_noise=-0.1)


# ----------------------------------------------------------------------------- shapes


def test_column_scores_are_squeezed(scores):
    real, fake = (t64(s) for s in scores)
    for name, entry in L.LOSSES.items():
        flat = entry.discriminator(real, fake)
        column = entry.discriminator(real[:, None], fake[:, None])
        assert column.item() == pytest.approx(flat.item(), rel=1e-12), name
        assert entry.generator(real[:, None], fake[:, None]).item() == pytest.approx(
            entry.generator(real, fake).item(), rel=1e-12
        ), name


@pytest.mark.parametrize("bad", [torch.zeros(4, 2), torch.zeros(2, 1, 1), torch.tensor(1.0), torch.zeros(0)])
def test_bad_shapes_are_value_errors(bad):
    good = torch.zeros(4)
    for entry in L.LOSSES.values():
        with pytest.raises(ValueError, match="d_real|v_real"):
            entry.discriminator(bad, good)
        with pytest.raises(ValueError, match="d_fake|v_fake"):
            entry.generator(good, bad)


def test_paired_loss_needs_equal_batch_sizes():
    with pytest.raises(ValueError, match="same size"):
        L.rsgan_d_loss(torch.zeros(3), torch.zeros(4))
    # Average-relativistic losses compare with a batch mean, so sizes may differ.
    assert torch.isfinite(L.rasgan_d_loss(torch.zeros(3), torch.zeros(4)))


def test_integer_scores_are_refused():
    with pytest.raises(ValueError, match="floating"):
        L.hinge_d_loss(torch.zeros(3, dtype=torch.long), torch.zeros(3))
