"""Saving, loading, the registry, model cards and the offline Hub path."""
import importlib
import importlib.util
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
ROOT = Path(__file__).resolve().parents[1]

SMALL_G = {"name": "DCGANGenerator", "kwargs": {"latent_dim": 8, "resolution": 28, "channels": 1, "base_width": 4}}
SMALL_D = {"name": "DCGANDiscriminator", "kwargs": {"resolution": 28, "channels": 1, "base_width": 4, "norm": "none"}}


def small_generator():
    torch.manual_seed(0)
    return DCGANGenerator(latent_dim=8, resolution=28, channels=1, base_width=4).eval()


def test_generator_round_trip_is_bit_exact(tmp_path):
    generator = small_generator()
    ganzoo.save(generator, tmp_path / "g")
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
    ganzoo.save(gan, tmp_path / "gan")
    restored = load_gan_from_folder(tmp_path / "gan")
    assert type(restored) is WGANGP and restored.hparams.gp_weight == 10.0
    for name, tensor in gan.state_dict().items():
        if not name.endswith("n_averaged"):
            assert torch.equal(restored.state_dict()[name], tensor), name
    assert torch.equal(ganzoo.load(str(tmp_path / "gan")).sample(3, seed=0), gan.sample(3, seed=0))
    assert torch.equal(ganzoo.load(str(tmp_path / "gan"), ema=False).sample(3, seed=0), gan.sample(3, seed=0, ema=False))


def test_export_with_standing_statistics_recomputes_only_the_ema_generators(tmp_path):
    """export_run(..., standing_statistics_batches=N): the published EMA generator's BatchNorm statistics are
    its own activations' (as Generator.recompute_batchnorm_statistics gives them), the trained generator keeps
    its running statistics, and the config says what was done."""
    from ganzoo.zoo.publish import export_run

    gan = WGANGP(generator=SMALL_G, discriminator=SMALL_D)
    ema_norm = next(m for m in gan.generator_ema.module.modules() if isinstance(m, torch.nn.BatchNorm2d))
    ema_norm.running_mean.fill_(3.0)  # stale: what averaging other weights' statistics leaves
    checkpoint = {"state_dict": gan.state_dict(), "hyper_parameters": dict(gan.hparams)}
    gan.on_save_checkpoint(checkpoint)
    torch.save(checkpoint, tmp_path / "run.ckpt")
    folder = export_run(tmp_path / "run.ckpt", tmp_path / "out", standing_statistics_batches=2)
    config = json.loads((folder / "config.json").read_text())
    assert config["batchnorm_statistics"] == {"recomputed_for": "generator_ema", "batches": 2, "batch_size": 256,
                                              "first_seed": 123}
    expected = gan.generator_ema.module
    expected.recompute_batchnorm_statistics(batches=2, batch_size=256, seed=123)
    exported = load_gan_from_folder(folder)
    for key, value in expected.state_dict().items():
        assert torch.equal(exported.generator_ema.module.state_dict()[key], value), key
    for key, value in gan.generator.state_dict().items():
        assert torch.equal(exported.generator.state_dict()[key], value), key
    plain = json.loads((export_run(tmp_path / "run.ckpt", tmp_path / "plain") / "config.json").read_text())
    assert "batchnorm_statistics" not in plain


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


@pytest.mark.parametrize("key, value, message", [("base_width", 8, "shape mismatch"), ("evil", 1, "evil")],
                         ids=["config-weights-mismatch", "unknown-config-key"])
def test_bad_config_is_refused(tmp_path, key, value, message):
    save_generator(small_generator(), tmp_path / "g")
    config_path = tmp_path / "g" / "config.json"
    config = json.loads(config_path.read_text())
    config["generator"]["kwargs"][key] = value
    config_path.write_text(json.dumps(config))
    with pytest.raises(WeightsError, match=message):
        ganzoo.load(str(tmp_path / "g"))


def test_missing_tensor_is_refused(tmp_path):
    generator = small_generator()
    save_generator(generator, tmp_path / "g")
    state = {k: v for k, v in generator.state_dict().items() if not k.endswith("bias")}
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "g" / "model.safetensors"))
    with pytest.raises(WeightsError, match="missing"):
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
    assert "Inception rows" not in card_text
    inception = {"features": "Inception-v3 pool3, TF 2015-12-05 FID weights", "reference_split": "train",
                 "reference_count": 10000, "num_fakes": 5000}
    card_text = render_model_card({"name": "m", "variant": "sngan", "dataset": "d",
                                   "metrics": [{"name": "fid", "value": 40.0, "protocol": inception}]})
    assert "5000 fakes against 10000 reference images" in card_text and "never with published FIDs" in card_text


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


def test_every_registered_model_samples_offline_deterministically_and_loads_for_fine_tuning():
    import ganzoo
    from ganzoo.zoo import registry
    from ganzoo.zoo.registry import BUNDLED_DIR

    for name, entry in registry().items():
        generator = ganzoo.load(name)
        first, again = generator.sample(16, seed=0), generator.sample(16, seed=0)
        assert torch.equal(first, again), name
        assert first.min() >= -1 and first.max() <= 1 and torch.isfinite(first).all(), name
        if entry.kind == "gan":  # G, EMA G and D bundled: fine-tunable
            gan = ganzoo.load_gan(name)
            # A model trained on from an earlier export counts only its own run's iterations; its bundled
            # config records the earlier runs' (scripts/bundle_run.py --continues), and the registry both.
            earlier = entry.training.get("generator_iterations_before_continuing", 0)
            assert gan.generator_iterations + earlier == entry.training["generator_iterations"], name
            config = json.loads((BUNDLED_DIR / f"{name}.json").read_text())
            assert config.get("generator_iterations_before_continuing", 0) == earlier, name


def test_bundled_weights_fit_size_budget():
    from ganzoo.zoo.registry import BUNDLED_DIR

    total = sum(p.stat().st_size for p in BUNDLED_DIR.glob("*")) if BUNDLED_DIR.exists() else 0
    assert total < 80 * 10**6  # the project's budget for all bundled weights: under 80 MB


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


# ---------------------------------------------------------------- hostile files (issue 16)
MLP_G = {"name": "MLPGenerator", "kwargs": {"latent_dim": 2, "out_dim": 2, "hidden_dim": 8, "n_layers": 2}}
MLP_D = {"name": "MLPDiscriminator", "kwargs": {"in_dim": 2, "hidden_dim": 8, "n_layers": 2}}
serialization = importlib.import_module("ganzoo.zoo.serialization")


def mlp_gan_folder(path):
    from ganzoo.gans import GAN

    torch.manual_seed(0)
    return save_gan(GAN(generator=MLP_G, discriminator=MLP_D, sample_every_n_iterations=0), path)


def edit_config(folder, edit):
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text())
    edit(config)
    config_path.write_text(json.dumps(config))


def assert_one_line(error_info, *fragments):
    message = str(error_info.value)
    assert "\n" not in message and len(message) < 600, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_bundled_model_load_writes_nothing_and_follows_no_planted_symlink(tmp_path, monkeypatch):
    # The bundled config used to be copied to <shared tmp>/ganzoo-bundled/<name>/config.json, through
    # whatever symlink another user had planted there. Plant one wherever a cache could be.
    name = "sngan-cifar10"
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "shared-tmp"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    outside = tmp_path / "victim.txt"
    outside.write_text("precious")
    for planted in (tmp_path / "shared-tmp" / "ganzoo-bundled" / name / "config.json",
                    tmp_path / "cache" / "ganzoo" / "bundled" / name / "config.json"):
        planted.parent.mkdir(parents=True)
        planted.symlink_to(outside)
    before = sorted(p for p in tmp_path.rglob("*"))
    generator = ganzoo.load(name)
    assert generator.sample(2, seed=0).shape == (2, 3, 32, 32)
    assert outside.read_text() == "precious"
    assert sorted(p for p in tmp_path.rglob("*")) == before  # loading writes no file at all


def test_every_network_class_is_sized_exactly_on_the_meta_device():
    from ganzoo.nn import NETWORKS, build_network
    from ganzoo.nn.base import check_network_size

    for name in NETWORKS:
        meta, real = check_network_size(name), build_network(name)
        assert all(p.is_meta for p in meta.parameters()), name
        for tensors in ("parameters", "buffers"):
            assert [t.shape for t in getattr(meta, tensors)()] == [t.shape for t in getattr(real, tensors)()], name


def _never_built(*args, **kwargs):
    raise AssertionError("the network was built before its size was checked")


@pytest.mark.parametrize("kind, edit, fragments", [
    ("generator", lambda c: c["generator"]["kwargs"].update(hidden_dim=10**6), ["1,000,006,000,002 parameters"]),
    ("gan", lambda c: c["generator"]["kwargs"].update(hidden_dim=10**6), ["1,000,006,000,002 parameters"]),
    ("gan", lambda c: c["discriminator"]["kwargs"].update(n_layers=10**7), ["more than 10,000", "tensors"]),
    ("generator", lambda c: c["generator"]["kwargs"].update(latent_dim=10**9), ["parameters", "over the limit"]),
    ("gan", lambda c: c["hparams"].update(num_sample_images=10**9), ["num_sample_images=1000000000"]),
], ids=["generator-hidden", "gan-hidden", "layer-count", "latent-size", "sample-images"])
def test_oversized_configs_are_refused_before_anything_is_allocated(tmp_path, monkeypatch, kind, edit, fragments):
    folder = mlp_gan_folder(tmp_path / "m") if kind == "gan" else save_generator(
        MLPGenerator(**MLP_G["kwargs"]), tmp_path / "m")
    edit_config(folder, edit)
    monkeypatch.setattr(serialization, "build_network", _never_built)
    monkeypatch.setattr("ganzoo.gans.base.build_network", _never_built)
    with pytest.raises(WeightsError) as error:
        load_gan_from_folder(folder) if kind == "gan" else ganzoo.load(str(folder))
    assert_one_line(error, "config.json", *fragments)


@pytest.mark.parametrize("content, fragment", [
    (b"[1, 2]", "holds a JSON list"),
    (b'"a string"', "holds a JSON str"),
    (b"[" * 10_000 + b"]" * 10_000, "nested too deeply"),
    (b"{\"kind\": \"gan\xff\"}", "not valid JSON"),
], ids=["list", "string", "nested-10000", "not-utf8"])
def test_config_json_that_is_not_an_object_gives_one_line(tmp_path, content, fragment):
    folder = save_generator(MLPGenerator(**MLP_G["kwargs"]), tmp_path / "g")
    (folder / "config.json").write_bytes(content)
    with pytest.raises(WeightsError) as error:
        ganzoo.load(str(folder))
    assert_one_line(error, "config.json", fragment)


@pytest.mark.parametrize("value", ["abc", -1, 10**30, 1.5, True], ids=["string", "negative", "huge", "float", "bool"])
def test_bad_training_counters_in_config_json_are_refused(tmp_path, value):
    folder = mlp_gan_folder(tmp_path / "gan")
    edit_config(folder, lambda c: c.update(generator_iterations=value))
    with pytest.raises(WeightsError) as error:
        load_gan_from_folder(folder)
    assert_one_line(error, "config.json", "'generator_iterations' must be an integer")


def test_overlong_model_name_is_refused_briefly_and_typos_still_get_suggestions():
    with pytest.raises(UnknownModelError) as error:
        ganzoo.load("a" * 5000)
    assert_one_line(error, "5,000 characters", "too long")
    with pytest.raises(UnknownModelError, match="Did you mean: dcgan-fashion-mnist"):
        ganzoo.load("dcgan-fashion-mnst")


@pytest.mark.parametrize("bad", [float("nan"), float("inf")], ids=["nan", "inf"])
def test_non_finite_weights_are_refused_naming_the_tensor(tmp_path, bad):
    folder = save_generator(MLPGenerator(**MLP_G["kwargs"]), tmp_path / "g")
    state = serialization.read_weights(folder / "model.safetensors")
    state["net.2.weight"][0, 0] = bad
    save_file(state, str(folder / "model.safetensors"))
    with pytest.raises(WeightsError) as error:
        ganzoo.load(str(folder))
    assert_one_line(error, "'net.2.weight'", "NaN/inf")
    gan_folder = mlp_gan_folder(tmp_path / "gan")
    state = serialization.read_weights(gan_folder / "model.safetensors")
    state["discriminator.net.0.bias"].fill_(bad)
    save_file(state, str(gan_folder / "model.safetensors"))
    with pytest.raises(WeightsError) as error:
        load_gan_from_folder(gan_folder)
    assert_one_line(error, "[discriminator]", "'net.0.bias'", "8 NaN/inf values")


def test_save_takes_generators_and_gans_only(tmp_path):
    from ganzoo.nn import build_network

    discriminator = build_network("MLPDiscriminator", in_dim=2, hidden_dim=8, n_layers=1)
    with pytest.raises(TypeError, match="save the GAN that holds it"):
        ganzoo.save(discriminator, tmp_path / "d")
    with pytest.raises(TypeError, match="got Linear"):
        ganzoo.save(torch.nn.Linear(2, 2), tmp_path / "x")
    assert not (tmp_path / "d").exists() and not (tmp_path / "x").exists()


def test_package_version_matches_pyproject():
    import re
    from pathlib import Path

    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1) == ganzoo.__version__


def _finetune_demo():
    spec = importlib.util.spec_from_file_location("finetune_demo", ROOT / "scripts" / "finetune_demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fine_tuning_recipe_moves_the_bundled_dcgan_to_a_new_domain(tmp_path):
    # The case a user reported: 24 circles, batch 8; with the old recipe (lr 5e-5, EMA 0.999,
    # FreezeD) 400 iterations left the samples clothing (distance 0.83 -> 0.83).
    demo = _finetune_demo()
    circles = demo.make_circles(24, seed=0)
    demo.write_folder(circles, tmp_path / "circles")
    before = demo.nearest_pixel_distance(ganzoo.load("dcgan-fashion-mnist").sample(200, seed=0), circles)
    checkpoint = demo.fine_tune(tmp_path / "circles", tmp_path, iterations=150, extra=[])
    from ganzoo.zoo.publish import find_checkpoint, gan_from_checkpoint

    tuned = gan_from_checkpoint(find_checkpoint(checkpoint)).sampling_generator.eval()
    after = demo.nearest_pixel_distance(tuned.sample(200, seed=0).float(), circles)
    # Held-out circles sit at 0.40 from the training ones; clothing at 0.83.
    assert before > 0.75 and after < 0.6, (before, after)


@pytest.mark.parametrize("reset_ema", [True, False])
def test_fine_tuning_keeps_or_restarts_the_pretrained_ema_as_asked(tmp_path, tiny_trainer_kwargs, reset_ema):
    # reset_ema=False once restarted the average anyway: the fresh module's n_averaged was 0,
    # so the first update copied G over the loaded EMA. One step with decay d must give
    # d * loaded_ema + (1 - d) * G_after_step (kept) or G_after_step itself (restarted).
    import lightning as L
    from torch.utils.data import DataLoader, TensorDataset

    from ganzoo.callbacks import FineTuneFrom
    from ganzoo.gans import GAN

    decay = 0.9
    torch.manual_seed(0)
    pretrained = GAN(generator=MLP_G, discriminator=MLP_D, ema_decay=decay, sample_every_n_iterations=0)
    with torch.no_grad():  # an EMA clearly apart from G, as after a long run
        for parameter in pretrained.generator_ema.module.parameters():
            parameter.add_(1.0)
    save_gan(pretrained, tmp_path / "gan")
    loaded_ema = {k: v.clone() for k, v in ganzoo.load_gan(str(tmp_path / "gan")).sampling_generator.state_dict().items()}

    fresh = GAN(generator=MLP_G, discriminator=MLP_D, ema_decay=decay, sample_every_n_iterations=0,
                max_generator_iterations=1)
    L.Trainer(**tiny_trainer_kwargs, callbacks=[FineTuneFrom(str(tmp_path / "gan"), reset_ema=reset_ema)]).fit(
        fresh, DataLoader(TensorDataset(torch.randn(8, 2)), batch_size=8))
    trained, averaged = fresh.generator.state_dict(), fresh.generator_ema.module.state_dict()
    for name, value in trained.items():
        expected = value if reset_ema else decay * loaded_ema[name] + (1 - decay) * value
        torch.testing.assert_close(averaged[name], expected, msg=name)


@pytest.mark.parametrize("recipe, channels, size", [("dcgan_fashion_mnist_to_imagefolder", 1, 28),
                                                    ("rasgan_cifar10_to_imagefolder", 3, 32)])
def test_every_fine_tuning_recipe_loads_its_bundled_model_and_takes_a_step(tmp_path, monkeypatch, recipe, channels, size):
    # FineTuneFrom refuses networks that differ from the pretrained model's, so a recipe left
    # behind when its bundled model is replaced fails here.
    from PIL import Image

    from ganzoo.cli import main

    folder = tmp_path / "images"
    folder.mkdir()
    generator = torch.Generator().manual_seed(0)
    for index in range(4):
        pixels = torch.randint(0, 256, (size, size, channels), generator=generator, dtype=torch.uint8).squeeze(-1)
        Image.fromarray(pixels.numpy()).save(folder / f"{index}.png")
    monkeypatch.chdir(tmp_path)
    argv = ["fit", "--config", str(ROOT / "recipes" / "finetune" / f"{recipe}.yaml"), "--data.init_args.root",
            str(folder), "--data.init_args.batch_size", "4", "--data.init_args.num_workers", "0",
            "--model.init_args.max_generator_iterations", "1", "--trainer.enable_progress_bar", "false",
            "--trainer.enable_model_summary", "false"]
    assert main(argv) == 0
    assert list((tmp_path / "runs").rglob("last.ckpt")), "no checkpoint written"
