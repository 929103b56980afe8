"""The combination study's driver (scripts/combined_study.py): sharding over processes and resuming.

The training runs themselves are ganzoo's loop, tested elsewhere; here each run is replaced by a
record of its configuration, because what is under test is which process runs which configuration.
"""
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def study(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    import combined_study

    ran = []

    def record(**config):
        ran.append(config)
        return {**config, "modes": 8, "high_quality": 50.0, "num_modes": 8, "failed": False, "curve": []}

    monkeypatch.setattr(combined_study, "toy_run", record)
    return combined_study, ran


def run_main(module, monkeypatch, *args):
    monkeypatch.setattr(sys, "argv", ["combined_study.py", "--part", "toy", "--seeds", "2", "--lrs", "1e-3",
                                      "--iterations", "5", *args])
    module.main()


def test_shards_split_the_grid_into_disjoint_parts_that_cover_it(study, monkeypatch, tmp_path):
    module, ran = study
    for shard in range(3):
        run_main(module, monkeypatch, "--out", str(tmp_path), "--shard", f"{shard}/3")
    keys = [json.dumps(config, sort_keys=True) for config in ran]
    assert len(keys) == 16 == len(set(keys))  # 2 data sets x SN x prediction x 2 seeds, each once
    assert sorted(p.name for p in tmp_path.glob("toy.shard-*.json")) == [
        "toy.shard-0-of-3.json", "toy.shard-1-of-3.json", "toy.shard-2-of-3.json"]
    assert len(module.saved_runs(tmp_path, "toy")) == 16


def test_a_second_pass_runs_nothing_that_any_shard_finished(study, monkeypatch, tmp_path):
    module, ran = study
    run_main(module, monkeypatch, "--out", str(tmp_path), "--shard", "1/2")
    first = len(ran)
    run_main(module, monkeypatch, "--out", str(tmp_path))  # unsharded: only what shard 1 left
    assert first == 8 and len(ran) == 16
    assert len(json.loads((tmp_path / "toy.json").read_text())) == 8


@pytest.mark.parametrize("text", ["3/3", "1", "a/b", "-1/2"])
def test_a_bad_shard_is_refused_in_one_line(study, monkeypatch, tmp_path, text, capsys):
    module, _ = study
    with pytest.raises(SystemExit):
        run_main(module, monkeypatch, "--out", str(tmp_path), "--shard", text)
    assert "--shard" in capsys.readouterr().err


def test_first_seed_adds_later_seeds_without_repeating_the_first(study, monkeypatch, tmp_path):
    module, ran = study
    run_main(module, monkeypatch, "--out", str(tmp_path))  # seeds 0 and 1
    run_main(module, monkeypatch, "--out", str(tmp_path), "--first-seed", "1", "--seeds", "2",
             "--shard", "0/1")  # seeds 1 and 2: seed 1 is already done
    assert len(ran) == 24
    assert sorted({config["seed"] for config in ran[16:]}) == [2]
    assert len(module.saved_runs(tmp_path, "toy")) == 24


def test_combinations_runs_only_the_named_cells_and_refuses_unknown_names(study, monkeypatch, tmp_path, capsys):
    module, ran = study
    run_main(module, monkeypatch, "--out", str(tmp_path), "--combinations", "plain", "SN + prediction")
    assert len(ran) == 8  # 2 data sets x 2 seeds x the 2 named cells
    assert {(c["spectral_norm"], c["prediction"]) for c in ran} == {(False, False), (True, True)}
    with pytest.raises(SystemExit):
        run_main(module, monkeypatch, "--out", str(tmp_path), "--combinations", "SN+prediction")
    assert "no cell named ['SN+prediction']" in capsys.readouterr().err
