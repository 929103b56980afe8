"""Tests of the theory lab (ganzoo.theory): each experiment's key claim, on its quick budget.

Every quick experiment runs once per test module (module-scoped fixtures), with its figure
written to a temporary directory, and the tests assert on its numbers. The assertions are
chosen so that a wrong formula, loss, penalty or update rule would fail them: closed forms
are compared to 1e-9, trained estimates with tolerances a few times their seed-to-seed
spread.
"""
from __future__ import annotations

import argparse
import cmath
import math

import numpy as np
import pytest
import torch

from ganzoo.theory import EXPERIMENTS, PredictionStep, add_theory_arguments, get_experiment, run_theory

LOG2, LOG4 = math.log(2.0), math.log(4.0)
PNG_MAGIC = b"\x89PNG"


def _run_quick(name: str, tmp_path_factory) -> tuple:
    path = tmp_path_factory.mktemp(name) / f"theory_{name}.png"
    result = EXPERIMENTS[name].run(plot=str(path), quick=True)
    return result, path


def _assert_png(path) -> None:
    assert path.exists(), f"no figure written at {path}"
    assert path.read_bytes()[:4] == PNG_MAGIC


# --------------------------------------------------------------------------- registry and CLI


def test_registry_lists_every_experiment() -> None:
    assert list(EXPERIMENTS) == ["optimal-discriminator", "saturation", "dirac-gan", "saddle", "mode-collapse",
                                 "f-divergence", "spectral-norm"]
    for name, experiment in EXPERIMENTS.items():
        assert experiment.name == name and experiment.title and callable(experiment.run)


def test_cli_list_and_unknown_name(capsys) -> None:
    parser = add_theory_arguments(argparse.ArgumentParser())
    assert run_theory(parser.parse_args(["--list"])) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in EXPERIMENTS)
    assert run_theory(parser.parse_args(["dirac-ganz"])) == 2
    assert "dirac-gan" in capsys.readouterr().err  # suggests the close match
    with pytest.raises(ValueError, match="unknown theory experiment"):
        get_experiment("nope")


def test_cli_runs_an_experiment_and_writes_its_figure(tmp_path, capsys) -> None:
    parser = add_theory_arguments(argparse.ArgumentParser())
    figure = tmp_path / "saddle.png"
    assert run_theory(parser.parse_args(["saddle", "--quick", "--plot", str(figure)])) == 0
    out = capsys.readouterr().out
    assert "| alternating SGD + prediction |" in out
    _assert_png(figure)


# --------------------------------------------------------------------------- 1. optimal discriminator


@pytest.fixture(scope="module")
def optimal_discriminator(tmp_path_factory):
    return _run_quick("optimal-discriminator", tmp_path_factory)


def test_optimal_discriminator_formula() -> None:
    from ganzoo.theory.optimal_discriminator import optimal_discriminator as d_star

    p, q = np.array([1.0, 0.2, 0.0, 3.0]), np.array([1.0, 0.6, 0.0, 1.0])
    np.testing.assert_allclose(d_star(p, q), [0.5, 0.25, 0.5, 0.75])


def test_trained_discriminator_matches_d_star(optimal_discriminator) -> None:
    result, figure = optimal_discriminator
    _assert_png(figure)
    pairs = ["p_g_eq_p_data", "shifted", "bimodal_vs_wide"]
    for pair in pairs:
        n = result.numbers
        assert n[f"{pair}/d_mean_abs_error"] < 0.03, pair
        # V(D*, G) by quadrature is C(G) = -log 4 + 2 JSD (the identity itself) ...
        assert n[f"{pair}/value_of_d_star"] == pytest.approx(n[f"{pair}/c_of_g"], abs=1e-9)
        # ... and the trained D's value gets there (from below, up to sampling noise).
        assert n[f"{pair}/trained_value"] == pytest.approx(n[f"{pair}/c_of_g"], abs=0.01)
    assert result.numbers["p_g_eq_p_data/c_of_g"] == pytest.approx(-LOG4, abs=1e-12)
    assert result.numbers["shifted/jsd"] > 0.2  # a real gap, not a degenerate pair


# --------------------------------------------------------------------------- 2. saturation


@pytest.fixture(scope="module")
def saturation(tmp_path_factory):
    return _run_quick("saturation", tmp_path_factory)


def test_jsd_saturates_and_its_gradient_vanishes(saturation) -> None:
    result, figure = saturation
    _assert_png(figure)
    n = result.numbers
    jsds = [n[f"jsd/mu={mu:g}"] for mu in (0, 1, 2, 4, 6, 8)]
    assert jsds[0] == pytest.approx(0.0, abs=1e-12)
    assert all(a < b for a, b in zip(jsds, jsds[1:]))
    assert LOG2 - n["jsd/mu=6"] < 5e-3 and LOG2 - n["jsd/mu=8"] < 1e-4
    assert n["dC_dmu/mu=8"] < 1e-3 < n["dC_dmu/mu=2"]
    # Instance noise restores overlap: a larger slope where the clean JSD is saturated.
    assert n["dC_dmu_noise/mu=6"] > 5 * n["dC_dmu/mu=6"]
    # Envelope theorem: the minimax gradient against a fixed D* is dC/dmu.
    assert n["optimal_d/grad_minimax"] == pytest.approx(n["dC_dmu/mu=6"], rel=1e-3)


def test_minimax_gradient_vanishes_while_alternatives_keep_one(saturation) -> None:
    n = saturation[0].numbers
    # N(0,1) vs N(6,1): the trained D drives the minimax gradient to the optimal-D value ...
    assert n["gaussians/grad_minimax_final"] == pytest.approx(n["optimal_d/grad_minimax"], rel=0.5)
    assert n["gaussians/grad_minimax_final"] < 0.01 * n["gaussians/grad_nonsaturating_final"]
    assert n["gaussians/grad_minimax_noise_final"] > 3 * n["gaussians/grad_minimax_final"]
    # ... while a WGAN-GP critic delivers the soft-penalty optimum's slope 1 + W1/(2 lambda) = 1.3.
    assert n["gaussians/grad_wgan_gp_final"] == pytest.approx(n["gaussians/grad_wgan_gp_optimal"], abs=0.15)
    # Disjoint segments: D's JSD bound approaches log 2 and the minimax gradient is tiny next to
    # the non-saturating one; the WGAN-GP gradient stays near dW1/ddelta = 1.
    assert n["segments/jsd_lower_bound_final"] > 0.65
    assert n["segments/grad_minimax_final"] < 0.02 * n["segments/grad_nonsaturating_final"]
    assert n["segments/grad_wgan_gp_final"] == pytest.approx(1.0, abs=0.15)
    assert n["segments/grad_minimax_noise_final"] > 5 * n["segments/grad_minimax_final"]


# --------------------------------------------------------------------------- 3. Dirac-GAN


@pytest.fixture(scope="module")
def dirac(tmp_path_factory):
    return _run_quick("dirac-gan", tmp_path_factory)


def _method(label: str):
    from ganzoo.theory.dirac_gan import METHODS

    return next(m for m in METHODS if m.label == label)


def test_dirac_vector_field_is_the_gan_gradient_field() -> None:
    from ganzoo.theory.dirac_gan import Method, vector_field

    rng = np.random.default_rng(0)
    for theta_value, psi_value in rng.normal(size=(5, 2)):
        theta = torch.tensor(theta_value, dtype=torch.float64, requires_grad=True)
        psi = torch.tensor(psi_value, dtype=torch.float64, requires_grad=True)
        s = 1.0 / (1.0 + math.exp(-psi_value * theta_value))  # sigmoid(psi * theta)
        v_theta, v_psi = vector_field(Method("GAN"), theta, psi)
        assert v_theta.item() == pytest.approx(s * psi_value, abs=1e-12)
        assert v_psi.item() == pytest.approx(-s * theta_value, abs=1e-12)
        _, v_psi_r1 = vector_field(Method("R1", penalty="r1", gamma=0.7), theta, psi)
        assert v_psi_r1.item() == pytest.approx(-s * theta_value - 0.7 * psi_value, abs=1e-12)


def test_dirac_jacobian_eigenvalues_match_closed_forms(dirac) -> None:
    result, figure = dirac
    _assert_png(figure)
    errors = {k: v for k, v in result.numbers.items() if k.endswith("/eigenvalue_error")}
    assert len(errors) == 12  # every method but WGAN-GP, whose penalty has no Jacobian at psi = 0
    assert max(errors.values()) < 1e-9
    assert result.numbers["GAN/max_real_part"] == pytest.approx(0.0, abs=1e-12)
    assert result.numbers["GAN + R1 gamma=0.3/max_real_part"] == pytest.approx(-0.15, abs=1e-9)


def test_dirac_critical_gamma_is_twice_f_prime() -> None:
    from ganzoo.theory.dirac_gan import Method, jacobian_at_equilibrium

    for gamma, kind in ((0.6, "complex"), (1.0, "double"), (1.6, "real")):
        eigenvalues = np.linalg.eigvals(jacobian_at_equilibrium(Method("R1", penalty="r1", gamma=gamma)))
        if kind == "complex":
            assert abs(eigenvalues[0].imag) > 0.1
        else:
            assert np.abs(eigenvalues.imag).max() < 1e-6
            expected = [-gamma / 2 + cmath.sqrt(gamma**2 / 4 - 0.25).real, -gamma / 2 - cmath.sqrt(gamma**2 / 4 - 0.25).real]
            np.testing.assert_allclose(sorted(eigenvalues.real), sorted(expected), atol=1e-6)


def test_dirac_update_map_spectral_radii(dirac) -> None:
    n, h = dirac[0].numbers, 0.2
    # Simultaneous: |1 + h * 0.5i| > 1; alternating: exactly 1; with prediction: sqrt(1 - h^2/4) < 1.
    assert n["GAN/simultaneous/update_spectral_radius"] == pytest.approx(math.sqrt(1 + h * h / 4), abs=1e-8)
    assert n["GAN/alternating/update_spectral_radius"] == pytest.approx(1.0, abs=1e-8)
    assert n["GAN/alternating+prediction/update_spectral_radius"] == pytest.approx(math.sqrt(1 - h * h / 4), abs=1e-8)
    assert n["GAN + R1 gamma=1 (critical)/simultaneous/update_spectral_radius"] == pytest.approx(1 - h * 0.5, abs=1e-6)


def test_dirac_convergence_in_the_notebook_settings() -> None:
    """h = 0.2, 500 steps from (1, 1): the unregularised GAN does not shrink, R1 gamma=1
    shrinks the radius by more than 99%, WGAN-GP does not converge."""
    from ganzoo.theory.dirac_gan import simulate

    def ratio(label: str, scheme: str) -> float:
        trajectory = simulate(_method(label), scheme, steps=500)
        return float(np.hypot(*trajectory[-1]) / np.hypot(*trajectory[0]))

    assert ratio("GAN", "simultaneous") > 1.5          # spirals out
    assert ratio("GAN", "alternating") > 0.99          # orbits
    assert ratio("GAN + R1 gamma=1 (critical)", "simultaneous") < 0.01
    assert ratio("GAN + R1 gamma=1 (critical)", "alternating") < 0.01
    trajectory = simulate(_method("WGAN-GP (0.35, target 1)"), "alternating", steps=200)
    assert np.hypot(*trajectory[-1]) / np.hypot(*trajectory[0]) > 0.5


# --------------------------------------------------------------------------- 4. saddle / prediction


@pytest.fixture(scope="module")
def saddle(tmp_path_factory):
    return _run_quick("saddle", tmp_path_factory)


def test_prediction_converges_where_alternating_sgd_orbits(saddle) -> None:
    result, figure = saddle
    _assert_png(figure)
    n = result.numbers
    assert n["simultaneous_SGD/distance_ratio"] > 1e3
    assert 0.5 < n["alternating_SGD/distance_ratio"] < 2.0
    assert n["alternating_SGD/max_distance_ratio"] < 2.0
    assert n["alternating_SGD_plus_prediction/distance_ratio"] < 1e-2
    for scheme in ("simultaneous_SGD", "alternating_SGD", "alternating_SGD_plus_prediction"):
        assert n[f"{scheme}/measured_rate"] == pytest.approx(n[f"{scheme}/closed_form_rate"], abs=2e-3)


def _two_steps(optimizer_cls, **kwargs):
    parameter = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    optimizer = PredictionStep(optimizer_cls([parameter], **kwargs))
    values = [parameter.detach().clone()]
    for target in (torch.tensor([3.0, 1.0]), torch.tensor([0.0, 0.5])):
        optimizer.zero_grad()
        ((parameter - target) ** 2).sum().backward()
        optimizer.step()
        values.append(parameter.detach().clone())
    return parameter, optimizer, values


@pytest.mark.parametrize("optimizer_cls, kwargs", [(torch.optim.SGD, {"lr": 0.1}), (torch.optim.Adam, {"lr": 0.05})])
def test_prediction_step_lookahead(optimizer_cls, kwargs) -> None:
    parameter, optimizer, values = _two_steps(optimizer_cls, **kwargs)
    with optimizer.lookahead():
        torch.testing.assert_close(parameter.detach(), 2 * values[2] - values[1])
        other_player_loss = (parameter * torch.tensor([1.0, 2.0])).sum()
        other_player_loss.backward()  # backward inside the block works
    torch.testing.assert_close(parameter.detach(), values[2], rtol=0, atol=0)  # restored exactly
    with optimizer.lookahead():
        late = (parameter**2).sum()
    with pytest.raises(RuntimeError, match="inplace"):
        late.backward()  # after the block: refused, not silently wrong


def test_prediction_step_options_and_state() -> None:
    parameter, optimizer, values = _two_steps(torch.optim.SGD, lr=0.1)
    optimizer.extrapolation = 0.0
    with optimizer.lookahead():
        torch.testing.assert_close(parameter.detach(), values[2])
    state = optimizer.state_dict()
    fresh = PredictionStep(torch.optim.SGD([parameter], lr=0.1), extrapolation=1.0)
    fresh.load_state_dict(state)
    assert fresh.extrapolation == 0.0 and fresh.param_groups[0]["lr"] == 0.1
    with pytest.raises(ValueError, match="extrapolation"):
        PredictionStep(torch.optim.SGD([parameter], lr=0.1), extrapolation=-1.0)
    with pytest.raises(ValueError, match="Optimizer"):
        PredictionStep([parameter])


# --------------------------------------------------------------------------- 5. mode collapse


def test_packing_concatenates_consecutive_samples() -> None:
    from ganzoo.theory.mode_collapse import pack

    x = torch.arange(12.0).reshape(6, 2)
    packed = pack(x, 3)
    assert packed.shape == (2, 6)
    torch.testing.assert_close(packed[1], torch.tensor([6.0, 7.0, 8.0, 9.0, 10.0, 11.0]))
    with pytest.raises(ValueError, match="multiple"):
        pack(x, 4)


def test_mode_scores_of_true_and_collapsed_samplers() -> None:
    from ganzoo.data.toy import sample_mixture
    from ganzoo.theory.mode_collapse import datasets, score

    for data in datasets():
        true = score(sample_mixture(data.means, data.std, 2500, 0)[0], data)
        assert true["modes"] == len(data.means)
        assert true["high_quality"] == pytest.approx(100 * (1 - math.exp(-4.5)), abs=1.0)  # 98.9%
        collapsed = data.means[3] + data.std * torch.randn(2500, 2, generator=torch.Generator().manual_seed(0))
        collapsed_score = score(collapsed, data)
        assert collapsed_score["modes"] == 1
        assert collapsed_score["reverse_kl"] == pytest.approx(math.log(len(data.means)), rel=1e-9)


def test_mode_collapse_experiment_runs(tmp_path_factory) -> None:
    from ganzoo.theory.mode_collapse import VARIANTS

    result, figure = _run_quick("mode-collapse", tmp_path_factory)
    _assert_png(figure)
    for data, k in (("ring", 8), ("grid", 25)):
        assert result.numbers[f"{data}/true/modes"] == k
        for variant in VARIANTS:
            assert 0 <= result.numbers[f"{data}/{variant.label}/modes"] <= k
    assert "PacGAN2 (PacGAN Table 1)" in result.table and "± " in result.table


# --------------------------------------------------------------------------- 6. f-divergences


@pytest.fixture(scope="module")
def f_divergence(tmp_path_factory):
    return _run_quick("f-divergence", tmp_path_factory)


def test_fenchel_equality_at_the_optimal_critic(f_divergence) -> None:
    result, figure = f_divergence
    _assert_png(figure)
    n = result.numbers
    for name in ("kl", "reverse-kl", "pearson", "hellinger", "js", "gan"):
        assert n[f"{name}/bound_at_optimum"] == pytest.approx(n[f"{name}/quadrature"], rel=1e-6, abs=1e-9)
        assert n[f"{name}/quadrature"] == pytest.approx(n[f"{name}/true"], rel=1e-6)
    assert n["kl/true"] == pytest.approx(0.5) and n["pearson/true"] == pytest.approx(math.e - 1)


def test_variational_estimates_converge_to_the_divergence(f_divergence) -> None:
    n = f_divergence[0].numbers
    tolerance = {"kl": 0.03, "reverse-kl": 0.05, "hellinger": 0.03, "js": 0.03, "gan": 0.03, "pearson": 0.15}
    for name, tol in tolerance.items():
        # the exact bound the trained critic attains: below D_f (a lower bound) and close to it
        assert n[f"{name}/critic_bound"] <= n[f"{name}/true"] + 1e-6, name
        assert abs(n[f"{name}/relative_error"]) < tol, name
        # the sample estimate differs from it by sampling noise only
        assert n[f"{name}/estimate"] == pytest.approx(n[f"{name}/critic_bound"], rel=0.1), name


# --------------------------------------------------------------------------- 7. spectral norm


@pytest.fixture(scope="module")
def spectral(tmp_path_factory):
    return _run_quick("spectral-norm", tmp_path_factory)


def test_power_iteration_converges_to_sigma_from_below(spectral) -> None:
    result, figure = spectral
    _assert_png(figure)
    n = result.numbers
    for label in ("Gaussian 64x32", "gap sigma2/sigma1 = 0.5"):
        assert n[f"{label}/max_overshoot"] < 1e-12 * n[f"{label}/sigma"]
        assert n[f"{label}/relative_error@1"] > n[f"{label}/relative_error@10"]
        assert n[f"{label}/relative_error@100"] < 1e-9
    # the rate follows the gap: (sigma2/sigma1)^(4k) = 0.4855^40 ~ 3e-13 at k = 10
    assert n["gap sigma2/sigma1 = 0.5/relative_error@10"] < 1e-10
    assert n["Gaussian 64x32/relative_error@10"] > 1e-4


def test_spectral_norm_bounds_the_lipschitz_constant(spectral) -> None:
    n = spectral[0].numbers
    assert n["sn/torch_estimate_vs_svd_converged"] < 1e-3
    assert n["sn/max_layer_sigma"] < 1.01
    assert n["sn/lipschitz_bound"] < 1.02
    assert n["sn/max_gradient_norm"] <= n["sn/lipschitz_bound"] + 1e-6
    assert n["sn/max_difference_quotient"] <= n["sn/lipschitz_bound"] + 1e-6
    # without normalisation the bound still holds, but it is far above 1
    assert n["plain/max_gradient_norm"] <= n["plain/lipschitz_bound"] + 1e-6
    assert n["plain/lipschitz_bound"] > 2.0
