"""The benchmark harness compares like with like (run by the test command: pyproject's testpaths).

* The hand-written loop ends with bit-identical weights to ganzoo's Trainer run, so its time
  ratio measures framework overhead only.
* A partial run's results are merged into the recorded ones; the FLOP counter counts like torch's.
"""
import json

import pytest
import torch

from benchmarks.report import write_results
from benchmarks.specs import TINY_DCGAN, TINY_SNGAN, TINY_WGAN_GP, ModelSpec
from benchmarks.training import StepSettings, random_images, run_ganzoo, run_hand_written
from ganzoo.gans import DCGAN, WGANGP

CPU = torch.device("cpu")


def _states(run):
    return {role: getattr(run, role).state_dict() for role in ("generator", "discriminator", "generator_ema")}


# fp32 (the CPU benchmark) and bf16 autocast + channels_last (the GPU benchmark's settings, run on the CPU).
SETTINGS = [StepSettings(), StepSettings("bf16-mixed", channels_last=True)]
CASES = [(spec, SETTINGS[0]) for spec in (TINY_DCGAN, TINY_WGAN_GP, TINY_SNGAN)] + \
        [(spec, SETTINGS[1]) for spec in (TINY_DCGAN, TINY_WGAN_GP)]


@pytest.mark.parametrize("spec, settings", CASES, ids=lambda x: x.name if isinstance(x, ModelSpec) else x.label())
def test_hand_written_baseline_does_exactly_ganzoos_work(spec, settings):
    images = random_images(spec)
    ganzoo = run_ganzoo(spec, images, CPU, settings, warmup=1, measured=2)
    hand = run_hand_written(spec, images, CPU, settings, warmup=1, measured=2)
    ganzoo_states, hand_states = _states(ganzoo), _states(hand)
    for role, state in ganzoo_states.items():
        assert state.keys() == hand_states[role].keys()
        for name, tensor in state.items():
            assert torch.equal(tensor, hand_states[role][name]), f"{role}.{name} differs"
    # Training moved the weights, so equality is not the trivial one of two untouched networks.
    torch.manual_seed(0)
    untouched = DCGAN if spec.variant == "dcgan" else WGANGP
    fresh = untouched(generator=spec.generator, discriminator=spec.discriminator)
    assert not torch.equal(next(fresh.generator.parameters()), next(ganzoo.generator.parameters()))


def test_results_of_a_partial_run_are_merged_not_replaced(tmp_path):
    machine = {"date": "d", "device_type": "cpu", "cpu": "x", "cpu_cores": 2, "torch_threads": 1,
               "cpu_capability": "AVX2", "python": "3", "torch": "t", "lightning": "l", "torchmetrics": "m",
               "torch_fidelity": "f"}
    sampling = [{"model": "m", "generator": "G", "size": "s", "count": 8, "batch_size": 8,
                 "ganzoo_images_per_second": 1.0, "raw_images_per_second": 1.0, "ratio": 1.0}]
    write_results({"machine": machine, "mode": "quick", "command": "first", "sections": {"sampling": sampling}},
                  tmp_path, "cpu-x")
    path = write_results({"machine": machine, "mode": "quick", "command": "second", "sections": {}}, tmp_path, "cpu-x")
    merged = json.loads(path.read_text())
    assert merged["sections"]["sampling"] == sampling and merged["runs"]["sampling"]["command"] == "first"
    assert "| m (G) |" in path.with_suffix(".md").read_text()


def test_total_flop_counter_counts_like_torchs_and_survives_a_gradient_penalty():
    from torch.utils.flop_counter import FlopCounterMode

    from benchmarks.hardware import total_flop_counter
    from ganzoo.nn import build_network
    from ganzoo.regularizers import gradient_penalty

    torch.manual_seed(0)
    critic = build_network(**TINY_WGAN_GP.discriminator)
    real, fake = torch.randn(4, 3, 32, 32), torch.randn(4, 3, 32, 32)
    stock, ours = FlopCounterMode(display=False), total_flop_counter()
    for counter in (stock, ours):
        with counter:
            critic(real).mean().backward()
    assert ours.get_total_flops() == stock.get_total_flops() > 0
    with total_flop_counter() as with_penalty:  # the stock counter raises here (module backward hooks)
        (critic(real).mean() + gradient_penalty(critic, real, fake)).backward()
    # The penalty adds a forward, an input-gradient backward and its double backward.
    assert with_penalty.get_total_flops() > 2 * stock.get_total_flops()


def test_paper_size_section_reports_a_fraction_of_the_peak_measured_in_the_same_run(monkeypatch):
    import benchmarks.hardware as hardware
    from benchmarks.report import _paper_size

    # The real peak measurement multiplies 1024x1024 matrices; a stand-in keeps the test fast.
    monkeypatch.setattr(hardware, "peak_flops", lambda device, dtype, channels_last: {
        "matmul_flops_per_second": 2e11, "conv_flops_per_second": 1e11, "dtype": str(dtype).replace("torch.", ""),
        "channels_last": channels_last, "matmul_shape": "s", "conv_shape": "c"})
    settings = StepSettings("bf16-mixed", channels_last=True)
    saved = []  # what a device call cut by its time limit would keep: the section after each model
    section = hardware.paper_size_use([TINY_DCGAN, TINY_WGAN_GP], CPU, settings, warmup=1, measured=1,
                                      log=lambda _: None,
                                      on_model=lambda so_far: saved.append([row["model"] for row in so_far["models"]]))
    assert saved == [["tiny-dcgan"], ["tiny-dcgan", "tiny-wgan-gp"]]
    for row in section["models"]:
        assert row["flops_per_iteration"] > 0 and row["seconds_per_iteration"] > 0
        assert row["fraction_of_conv_peak"] == pytest.approx(row["flops_per_iteration"] / row["seconds_per_iteration"] / 1e11)
    assert section["models"][1]["n_critic"] == 5 and section["peak"]["dtype"] == "bfloat16"
    table = "\n".join(_paper_size(section))
    assert "tiny-wgan-gp" in table and "% of conv peak" in table


def test_overhead_rows_report_the_pairs_difference_and_the_probe_is_not_judged():
    from dataclasses import replace

    from benchmarks.report import OVERHEAD_LIMIT, _training
    from benchmarks.specs import OVERHEAD_PROBE
    from benchmarks.training import measure_overhead

    probe = replace(OVERHEAD_PROBE, iterations_scale=2)
    row = measure_overhead(probe, CPU, StepSettings(), warmup=1, measured=3, repeats=2, log=lambda _: None)
    assert row["measured"] == 6 and row["overhead_probe"]  # the probe's iterations are scaled
    # With two pairs the median difference is the mean one, i.e. the difference of the median times.
    ganzoo, hand = row["ganzoo_seconds_per_iteration"]["median"], row["hand_seconds_per_iteration"]["median"]
    assert row["overhead_ms_per_iteration"]["median"] == pytest.approx((ganzoo - hand) * 1e3)
    table = "\n".join(_training([row, {**row, "model": "real", "overhead_probe": False,
                                       "ratio": {**row["ratio"], "median": OVERHEAD_LIMIT + 0.01}}]))
    assert "(probe)" in table and f"(over {OVERHEAD_LIMIT})" in table


def test_cpus_of_one_name_with_different_vector_units_keep_separate_results():
    # VMs name AVX2 and AVX-512 hosts alike ("AMD EPYC"); their results must not merge into one file.
    from benchmarks.machine import device_slug

    machine = {"device_type": "cpu", "cpu": "AMD EPYC", "cpu_cores": 2}
    slugs = {device_slug({**machine, "cpu_capability": capability}) for capability in ("AVX2", "AVX512")}
    assert slugs == {"cpu-amd-epyc-2cores-avx2", "cpu-amd-epyc-2cores-avx512"}


def test_the_overhead_summary_is_read_from_every_machines_results():
    # RESULTS.md's prose quotes no ratio by hand: its summary table is generated, one row per machine.
    from benchmarks.report import HEADER, OVERHEAD_LIMIT, overhead_summary

    def machine(cpu, ratios, probe_ms):
        rows = [{"model": name, "ratio": {"median": r, "min": r - 0.1, "max": r + 0.2}} for name, r in ratios.items()]
        rows.append({"model": "probe", "overhead_probe": True, "ratio": {"median": 1.0, "min": 0.5, "max": 3.0},
                     "overhead_ms_per_iteration": {"median": probe_ms}})
        return {"machine": {"cpu": cpu, "cpu_cores": 2, "cpu_capability": "AVX2"}, "sections": {"training": rows},
                "runs": {"training": {"date": "2026-12-03", "torch_threads": 1}}}

    machines = [machine("cpu-a", {"m1": OVERHEAD_LIMIT + 0.01, "m2": 0.99}, -0.2), machine("cpu-b", {"m1": 1.0}, 0.4)]
    summary = "\n".join(overhead_summary(machines))
    assert "{overhead_summary}" in HEADER
    assert f"| CPU: cpu-a (2 cores, AVX2) | 2026-12-03 | 1 | **{OVERHEAD_LIMIT + 0.01:.3f}** | 0.990 | -0.20 |" in summary
    assert "| CPU: cpu-b (2 cores, AVX2) | 2026-12-03 | 1 | 1.000 | - | +0.40 |" in summary
    assert "Single pairs of these runs range from 0.89 to 1.23." in summary  # the probe's pairs are left out
