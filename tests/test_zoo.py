"""Saving, loading, the registry, model cards and the offline Hub path."""
import importlib
import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

import ganzoo
from ganzoo.gans import SNGAN, WGANGP
from ganzoo.nn import DCGANGenerator, MLPGenerator
from ganzoo.zoo import (
    ModelNotAvailableError,
    UnknownModelError,
    WeightsError,
    load_gan_from_folder,
    render_model_card,
    save_gan,
    save_generator,
)

# The package re-exports functions named like its modules (load, registry): fetch the modules.
zoo_load = importlib.import_module("ganzoo.zoo.load")
registry_module = importlib.import_module("ganzoo.zoo.registry")

SMALL_G = {"name": "DCGANGenerator", "kwargs": {"latent_dim": 8, "resolution": 28, "channels": 1, "base_width": 4}}
SMALL_D = {"name": "DCGANDiscriminator", "kwargs": {"resolution": 28, "channels": 1, "base_width": 4, "norm": "none"}}


def small_generator():
    torch.manual_seed(0)
    return DCGANGenerator(latent_dim=8, resolution=28, channels=1, base_width=4).eval()


def test_generator_round_trip_is_bit_exact(tmp_path):
    generator = small_generator()
    generator.save_pretrained(tmp_path / "g")
    loaded = ganzoo.load(str(tmp_path / "g"))
    for (key, a), (_, b) in zip(generator.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), key
    assert torch.equal(generator.sample(6, seed=1), loaded.sample(6, seed=1))
    assert not loaded.training


def test_fp16_export_stays_close(tmp_path):
    generator = small_generator()
    save_generator(generator, tmp_path / "g16", dtype="float16")
    loaded = ganzoo.load(str(tmp_path / "g16"))
    assert next(loaded.parameters()).dtype == torch.float32  # cast back for sampling
    assert (generator.sample(6, seed=1) - loaded.sample(6, seed=1)).abs().max() < 2e-2


def test_full_gan_round_trip_for_fine_tuning(tmp_path):
    gan = WGANGP(generator=SMALL_G, discriminator=SMALL_D)
    with torch.no_grad():
        for p in gan.generator_ema.module.parameters():
            p.add_(0.5)  # make EMA differ from the raw weights
    gan.save_pretrained(tmp_path / "gan")
    restored = load_gan_from_folder(tmp_path / "gan")
    assert type(restored) is WGANGP and restored.hparams.gp_weight == 10.0
    for name, tensor in gan.state_dict().items():
        if not name.endswith("n_averaged"):
            assert torch.equal(restored.state_dict()[name], tensor), name
    assert torch.equal(ganzoo.load(str(tmp_path / "gan")).sample(3, seed=0), gan.sample(3, seed=0))
    assert torch.equal(ganzoo.load(str(tmp_path / "gan"), ema=False).sample(3, seed=0), gan.sample(3, seed=0, ema=False))


def test_generator_only_folder_refuses_fine_tuning(tmp_path):
    save_generator(small_generator(), tmp_path / "g")
    with pytest.raises(WeightsError, match="discriminator"):
        load_gan_from_folder(tmp_path / "g")


def test_truncated_weights_give_clear_error(tmp_path):
    save_generator(small_generator(), tmp_path / "g")
    weights = tmp_path / "g" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(WeightsError, match="corrupted or truncated"):
        ganzoo.load(str(tmp_path / "g"))


def test_config_weights_mismatch_is_refused(tmp_path):
    save_generator(small_generator(), tmp_path / "g")
    config_path = tmp_path / "g" / "config.json"
    config = json.loads(config_path.read_text())
    config["generator"]["kwargs"]["base_width"] = 8
    config_path.write_text(json.dumps(config))
    with pytest.raises(WeightsError, match="shape mismatch"):
        ganzoo.load(str(tmp_path / "g"))


def test_missing_tensor_is_refused(tmp_path):
    generator = small_generator()
    save_generator(generator, tmp_path / "g")
    state = {k: v for k, v in generator.state_dict().items() if not k.endswith("bias")}
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "g" / "model.safetensors"))
    with pytest.raises(WeightsError, match="missing"):
        ganzoo.load(str(tmp_path / "g"))


def test_unknown_config_keys_are_refused(tmp_path):
    save_generator(small_generator(), tmp_path / "g")
    config_path = tmp_path / "g" / "config.json"
    config = json.loads(config_path.read_text())
    config["generator"]["kwargs"]["evil"] = 1
    config_path.write_text(json.dumps(config))
    with pytest.raises(WeightsError, match="evil"):
        ganzoo.load(str(tmp_path / "g"))


def test_unknown_name_suggests_close_matches(monkeypatch):
    monkeypatch.setattr(registry_module, "registry", lambda: {"dcgan-fashion-mnist": object()})
    monkeypatch.setattr(zoo_load, "registry", lambda: {"dcgan-fashion-mnist": object()})
    with pytest.raises(UnknownModelError, match="dcgan-fashion-mnist"):
        ganzoo.load("dcgan-fashion-mnst")


def _fake_hub_cache(cache: Path, repo_id: str, folder: Path, revision_sha: str = "a" * 40) -> None:
    """The on-disk layout huggingface_hub reads offline: refs/<rev> -> snapshots/<sha>/files."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / revision_sha
    snapshot.mkdir(parents=True)
    for name in ("model.safetensors", "config.json"):
        shutil.copy(folder / name, snapshot / name)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision_sha)


def test_hub_repo_served_offline_from_local_cache(tmp_path, monkeypatch):
    from huggingface_hub import constants

    generator = small_generator()
    save_generator(generator, tmp_path / "export")
    cache = tmp_path / "hub"
    _fake_hub_cache(cache, "someone/tiny-dcgan", tmp_path / "export")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    loaded = ganzoo.load("someone/tiny-dcgan")
    assert torch.equal(loaded.sample(4, seed=0), generator.sample(4, seed=0))


def test_hub_repo_missing_offline_gives_actionable_message(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelNotAvailableError, match="someone/not-here.*huggingface-cli download"):
        ganzoo.load("someone/not-here")


def test_model_card_has_valid_hub_metadata():
    from huggingface_hub import ModelCard
    from huggingface_hub.repocard_data import model_index_to_eval_results

    card_text = render_model_card({
        "name": "sngan-cifar10", "variant": "sngan", "dataset": "CIFAR-10 (JPEG q75 re-encoding)",
        "dataset_id": "cifar10",
        "metrics": [{"name": "fid", "value": 30.5, "protocol": {"features": "ganzoo-cifar10-jpeg classifier",
                                                              "reference_split": "train"}}],
        "paper": [{"source": "Miyato et al. 2018", "metric": "FID (Inception)", "value": 21.7}],
    })
    card = ModelCard(card_text)
    assert card.data.library_name == "ganzoo"
    assert "sngan" in card.data.tags
    name, results = model_index_to_eval_results(card.data.to_dict()["model-index"])
    assert name == "sngan-cifar10" and results[0].metric_value == 30.5
    assert "NOT the original" in card_text or "not the original" in card_text  # the JPEG caveat is stated


def test_registry_entries_are_consistent():
    """Every registered model: bundled files present and sha256-pinned, metrics carry a protocol."""
    from ganzoo.zoo import registry, sha256_of

    for name, entry in registry().items():
        assert entry.bundled or entry.hf_repo_id, name
        if entry.bundled:
            assert sha256_of(entry.bundled_weights) == entry.sha256, name
            assert entry.bundled_config.exists(), name
        for metric in entry.metrics:
            assert {"features", "reference_split", "num_fakes"} <= set(metric["protocol"]), (name, metric)


def test_bundled_weights_fit_size_budget():
    from ganzoo.zoo.registry import BUNDLED_DIR

    total = sum(p.stat().st_size for p in BUNDLED_DIR.glob("*")) if BUNDLED_DIR.exists() else 0
    assert total < 60 * 2**20


@pytest.mark.parametrize("bad_name", ["../escape", "a/b", "..", ".hidden", "Upper", "a\\b", ""])
def test_registry_refuses_names_that_are_not_plain_file_names(bad_name):
    # Registry names become file names under the bundled-weights folder.
    with pytest.raises(ValueError, match="invalid registry model name"):
        registry_module.ModelEntry(name=bad_name, variant="dcgan", dataset="-", description="-", sha256="0" * 64)


def test_registry_json_with_a_traversal_name_is_refused(tmp_path, monkeypatch):
    registry_file = tmp_path / "registry.json"
    registry_file.write_text(json.dumps({"../../etc/x": {"variant": "dcgan", "dataset": "-", "description": "-",
                                                         "sha256": "0" * 64}}))
    monkeypatch.setattr(registry_module, "REGISTRY_PATH", registry_file)
    registry_module.registry.cache_clear()
    try:
        with pytest.raises(ValueError, match="invalid registry model name"):
            registry_module.registry()
    finally:
        registry_module.registry.cache_clear()
