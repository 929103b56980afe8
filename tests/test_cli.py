"""The `ganzoo` command: recipes parse and train, sampling, one-line errors, DDP through the CLI."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import ganzoo
from ganzoo.cli import main
from ganzoo.training_cli import run_lightning_cli

ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted((ROOT / "recipes").rglob("*.yaml"))
TOY_RECIPES = sorted((ROOT / "recipes" / "toy").glob("*.yaml"))
QUICK = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


def test_there_is_a_recipe_for_every_variant_and_data_set():
    names = {p.name for p in RECIPES}
    for variant in ("vanilla", "dcgan", "wgan", "wgan_gp", "sngan", "rasgan", "progan"):
        assert f"{variant}_cifar10.yaml" in names, variant
        assert f"{variant}_fashion_mnist.yaml" in names, variant
    for variant in ("vanilla", "dcgan", "wgan", "wgan_gp", "sngan", "rasgan"):
        assert {f"{variant}_ring.yaml", f"{variant}_grid.yaml"} <= names, variant


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: str(p.relative_to(ROOT / "recipes")))
def test_every_recipe_parses(recipe, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_lightning_cli(["fit", "--config", str(recipe), "--print_config"])
    assert exit_info.value.code == 0
    assert "class_path: ganzoo.gans." in capsys.readouterr().out


@pytest.mark.parametrize("recipe", TOY_RECIPES, ids=lambda p: p.stem)
def test_toy_recipe_trains_to_completion(recipe, tmp_path, monkeypatch, small_fashion_mnist_root):
    monkeypatch.chdir(tmp_path)  # recipes log under ./runs
    args = ["fit", "--config", str(recipe), "--model.init_args.max_generator_iterations", "6"]
    if "progan" in recipe.stem:  # a Fashion-MNIST recipe: a small stand-in, so no data set need be installed
        args += ["--data.init_args.data_dir", str(small_fashion_mnist_root)]
    else:
        args += ["--data.init_args.n_samples", "2048"]
    cli = run_lightning_cli(args + QUICK)
    assert cli.model.generator_iterations == 6
    assert list(tmp_path.rglob("last.ckpt")), "no checkpoint written"
    assert list(tmp_path.rglob("samples/*.png")), "no sample image written"


def test_resume_from_last_checkpoint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    recipe = str(ROOT / "recipes" / "toy" / "wgan_gp_ring.yaml")
    base = ["fit", "--config", recipe, "--data.init_args.n_samples", "2048"] + QUICK
    run_lightning_cli(base + ["--model.init_args.max_generator_iterations", "4"])
    cli = run_lightning_cli(base + ["--model.init_args.max_generator_iterations", "8", "--ckpt_path", "last"])
    assert cli.model.generator_iterations == 8
    assert cli.model.discriminator_steps == 8 * 5  # continued, not restarted


def test_resume_applies_new_learning_rates_in_the_same_run_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    recipe = str(ROOT / "recipes" / "toy" / "wgan_gp_ring.yaml")
    base = ["fit", "--config", recipe, "--data.init_args.n_samples", "2048", "--trainer.log_every_n_steps", "1"] + QUICK
    run_lightning_cli(base + ["--model.init_args.max_generator_iterations", "4"])
    cli = run_lightning_cli(base + ["--model.init_args.max_generator_iterations", "8", "--ckpt_path", "last",
                                    "--model.init_args.d_lr", "1e-5", "--model.init_args.g_betas", "[0.5, 0.99]"])
    d_opt, g_opt = cli.trainer.optimizers
    assert d_opt.param_groups[0]["lr"] == 1e-5  # not the checkpoint's 1e-4
    assert g_opt.param_groups[0]["betas"] == (0.5, 0.99)
    assert "d_lr 0.0001 -> 1e-05" in capsys.readouterr().out
    run_folders = [path.parent.parent for path in tmp_path.rglob("last.ckpt")]
    assert len(set(run_folders)) == 1, "resume must continue in the same version_N folder"
    logged = (run_folders[0] / "metrics.csv").read_text()
    assert ",4.0," in logged and ",8.0," in logged  # both parts of the run in one log


def test_resume_from_a_named_checkpoint_continues_in_its_run_folder(tmp_path, monkeypatch):
    """--ckpt_path naming one of the recipe's checkpoints resumes like `last`: same folder, one joined log."""
    monkeypatch.chdir(tmp_path)
    recipe = str(ROOT / "recipes" / "toy" / "wgan_gp_ring.yaml")
    base = ["fit", "--config", recipe, "--data.init_args.n_samples", "2048", "--trainer.log_every_n_steps", "1"] + QUICK
    run_lightning_cli(base + ["--model.init_args.max_generator_iterations", "4"])
    (checkpoint,) = tmp_path.rglob("last.ckpt")
    cli = run_lightning_cli(base + ["--model.init_args.max_generator_iterations", "8",
                                    "--ckpt_path", str(checkpoint.relative_to(tmp_path))])
    assert cli.model.generator_iterations == 8
    assert cli.model.discriminator_steps == 8 * 5  # continued, not restarted
    run_folders = {path.parent.parent for path in tmp_path.rglob("last.ckpt")}
    assert run_folders == {checkpoint.parent.parent}, "resume must continue in the checkpoint's version_N folder"
    logged = (checkpoint.parent.parent / "metrics.csv").read_text()
    assert ",4.0," in logged and ",8.0," in logged  # both parts of the run in one log


def test_resume_from_a_remote_checkpoint_passes_its_url_unchanged(tmp_path, monkeypatch):
    """Only local checkpoints are matched to a run folder; a URL must reach Lightning as given."""
    monkeypatch.chdir(tmp_path)
    recipe = str(ROOT / "recipes" / "toy" / "wgan_gp_ring.yaml")
    with pytest.raises(FileNotFoundError, match="memory://nowhere/last.ckpt"):
        run_lightning_cli(["fit", "--config", recipe, "--data.init_args.n_samples", "2048",
                           "--ckpt_path", "memory://nowhere/last.ckpt"] + QUICK)


def test_resume_refuses_a_length_already_reached(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    recipe = str(ROOT / "recipes" / "toy" / "wgan_gp_ring.yaml")
    base = ["fit", "--config", recipe, "--data.init_args.n_samples", "2048"] + QUICK
    run_lightning_cli(base + ["--model.init_args.max_generator_iterations", "4"])
    with pytest.raises(ValueError, match="already at 4 generator iterations"):
        run_lightning_cli(base + ["--model.init_args.max_generator_iterations", "3", "--ckpt_path", "last"])


def test_two_process_ddp_through_the_cli(tmp_path):
    """The real user path: `ganzoo fit` re-launches itself for rank 1 (popen launcher)."""
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "ganzoo.cli", "fit", "--config", str(ROOT / "recipes/toy/vanilla_ring.yaml"),
               "--trainer.accelerator", "cpu", "--trainer.devices", "2",
               "--trainer.strategy", "ddp_find_unused_parameters_true",
               "--model.init_args.max_generator_iterations", "5", "--data.init_args.n_samples", "2048", *QUICK]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert list(tmp_path.rglob("last.ckpt"))


def test_sample_writes_png(tmp_path, capsys):
    from ganzoo.nn import DCGANGenerator

    torch.manual_seed(0)
    ganzoo.save(DCGANGenerator(latent_dim=8, resolution=28, channels=1, base_width=4), tmp_path / "model")
    out = tmp_path / "grid.png"
    assert main(["sample", str(tmp_path / "model"), "-n", "9", "-o", str(out)]) == 0
    from PIL import Image

    with Image.open(out) as image:
        assert image.size[0] > 28 * 2


@pytest.mark.parametrize(
    "argv, message",
    [
        (["sample", "no-such-model"], "unknown model 'no-such-model'"),
        (["sample", "dcgan-fashion-mnst"], "Did you mean: dcgan-fashion-mnist"),
        (["sample", "dcgan-fashion-mnist", "-n", "0"], "-n must be a positive number"),
        (["sample", "dcgan-fashion-mnist", "-o", "/no/such/folder/x.png"], "does not exist"),
        (["sample", "dcgan-fashion-mnist", "-o", "grid.txt"], "must end in .png"),
        (["sample", "dcgan-fashion-mnist", "--device", "cuda:7"], "--device cuda:7"),
        (["sample", "dcgan-fashion-mnist", "--device", "tpu-ish"], "is not a device name"),
        (["eval", "dcgan-fashion-mnist", "--device", "cuda:7"], "--device cuda:7"),
        (["eval", "dcgan-fashion-mnist", "--n", "100"], "needs --n above 256 fakes"),
        (["info", "dcgan-fashion-mnst"], "Did you mean: dcgan-fashion-mnist"),
        (["publish", "run", "--repo-id", "bad"], "is not a Hub repository id"),
    ],
)
def test_bad_sample_flags_give_one_line_errors(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


def test_bundled_model_samples_offline_and_deterministically():
    import ganzoo

    generator = ganzoo.load("dcgan-fashion-mnist")
    a, b = generator.sample(16, seed=0), generator.sample(16, seed=0)
    assert a.shape == (16, 1, 28, 28) and torch.equal(a, b)
    assert a.min() >= -1 and a.max() <= 1
    assert not torch.equal(a, generator.sample(16, seed=1))


def test_list_shows_registry(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "dcgan-fashion-mnist" in out and "sngan-cifar10" in out
    row = next(line for line in out.splitlines() if "dcgan-fashion-mnist" in line)
    assert "1x28x28" in row and "(in-domain)" in row and "Fashion-MNIST" in row
    assert all(len(line) <= 120 for line in out.splitlines())  # one line per model, readable
    assert main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {row["name"] for row in rows} >= {"dcgan-fashion-mnist", "sngan-cifar10"}


def test_info_prints_the_entry_with_its_protocol(capsys):
    assert main(["info", "dcgan-fashion-mnist"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("dcgan-fashion-mnist") and "FID" in out and "60000" in out and "10000 fakes" in out


def test_sample_and_publish_from_a_training_checkpoint_or_run_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    recipe = str(ROOT / "recipes" / "toy" / "vanilla_ring.yaml")
    run_lightning_cli(["fit", "--config", recipe, "--data.init_args.n_samples", "2048",
                       "--model.init_args.max_generator_iterations", "2"] + QUICK)
    checkpoint = next(tmp_path.rglob("last.ckpt"))
    for source in (checkpoint, checkpoint.parent.parent):
        out = tmp_path / f"from-{source.name}.png"
        assert main(["sample", str(source), "-n", "16", "-o", str(out)]) == 0, capsys.readouterr().err
        assert out.is_file()
    # publish --dry-run from the same run: the card names the Hub repository, not the local folder.
    assert main(["publish", str(checkpoint), "--repo-id", "me/ring-gan", "--dry-run", str(tmp_path / "pub")]) == 0
    card = (tmp_path / "pub" / "README.md").read_text()
    assert "# me/ring-gan" in card and 'load("me/ring-gan")' in card and "# pub" not in card


def test_hub_ids_fail_at_once_when_the_hub_cannot_be_reached(monkeypatch):
    import socket
    import time

    import huggingface_hub
    from huggingface_hub import constants

    from ganzoo.zoo import ModelNotAvailableError, load

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)

    def no_network(*args, **kwargs):
        raise OSError("no route to host")

    monkeypatch.setattr(socket, "create_connection", no_network)
    calls = []
    real_download = huggingface_hub.hf_hub_download

    def recording_download(*args, **kwargs):
        calls.append(kwargs.get("local_files_only"))
        return real_download(*args, **kwargs)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", recording_download)
    start = time.perf_counter()
    with pytest.raises(ModelNotAvailableError, match="not in the local cache"):
        load("some-org/not-cached-model")
    assert time.perf_counter() - start < 5 and calls == [True]  # the cache only: no retries against the network


def test_fit_shows_one_progress_bar_in_generator_iterations(tmp_path, monkeypatch, capsys):
    from ganzoo.callbacks import GeneratorIterationProgressBar

    monkeypatch.chdir(tmp_path)
    recipe = str(ROOT / "recipes" / "toy" / "vanilla_ring.yaml")
    cli = run_lightning_cli(["fit", "--config", recipe, "--data.init_args.n_samples", "2048",
                             "--model.init_args.max_generator_iterations", "3"])
    bars = [c for c in cli.trainer.callbacks if isinstance(c, GeneratorIterationProgressBar)]
    assert len(bars) == 1 and cli.trainer.progress_bar_callback is bars[0]
    out = capsys.readouterr().out
    assert "train (G iterations)" in out and "3/3" in out
    assert "Epoch 0/-2" not in out and "v_num" not in out and "Tip:" not in out and "FLOPs" not in out


@pytest.mark.parametrize("native", [False, True], ids=["emulated", "native"])
def test_fit_warns_when_the_cpu_only_emulates_bfloat16(native, tmp_path, monkeypatch, capsys):
    # Without AVX512_BF16 / AMX, bf16-mixed trains 12-16x slower than float32 (ganzoo/devices.py):
    # a user of a bf16 recipe on such a CPU is told, with the flag that fixes it.
    from ganzoo.devices import slow_cpu_bfloat16_warning

    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: native)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    monkeypatch.chdir(tmp_path)
    recipe = str(ROOT / "recipes" / "toy" / "vanilla_ring.yaml")
    run_lightning_cli(["fit", "--config", recipe, "--data.init_args.n_samples", "2048", "--trainer.precision",
                       "bf16-mixed", "--model.init_args.max_generator_iterations", "1"])
    warned = "--trainer.precision 32-true" in capsys.readouterr().err
    assert warned is not native
    assert slow_cpu_bfloat16_warning("32-true", on_cpu=True) is None
    assert slow_cpu_bfloat16_warning("bf16-mixed", on_cpu=False) is None


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("fit", "validate", "sample", "list", "eval", "bench", "publish", "theory"):
        assert command in out


def test_wandb_logger_goes_offline_without_credentials(tmp_path, monkeypatch):
    from ganzoo.callbacks import SafeWandbLogger

    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc
    logger = SafeWandbLogger(save_dir=str(tmp_path), project="test")
    assert logger._offline


def test_sample_grids_reach_the_projects_own_wandb_logger(tmp_path, monkeypatch):
    # SafeWandbLogger is a subclass of WandbLogger: grids must be sent to it too (not only to a
    # logger whose class is literally named WandbLogger).
    from types import SimpleNamespace

    from ganzoo.callbacks import SafeWandbLogger
    from ganzoo.gans.sample_logging import _send_to_logger

    sent = []

    class RecordingLogger(SafeWandbLogger):
        @property
        def experiment(self):
            return None

        def log_image(self, key, images, **kwargs):
            sent.append((key, images, kwargs))

    monkeypatch.setenv("HOME", str(tmp_path))
    logger = RecordingLogger(save_dir=str(tmp_path), project="test", offline=True)
    module = SimpleNamespace(trainer=SimpleNamespace(loggers=[logger]), generator_iterations=7)
    _send_to_logger(module, torch.zeros(3, 8, 8), tmp_path / "grid.png")
    assert sent == [("samples", [str(tmp_path / "grid.png")], {"caption": ["G iter 7"]})]


@pytest.mark.parametrize("flags, message", [
    (["--model.init_args.nope", "3"], "Option 'nope' is not accepted"),
    (["--trainer.max_stepz", "3"], "unrecognized arguments: --trainer.max_stepz"),
    (["--trainer.accelerator", "gpu"], "no usable GPU"),
    (["--data.init_args.n_samples", "10"], "lower --data.init_args.batch_size"),
    (["--config", str(ROOT / "recipes" / "finetune" / "dcgan_fashion_mnist_to_imagefolder.yaml"),
      "--data.init_args.root", "/no/such/images"], "image folder for split 'train' not found"),
])
def test_fit_errors_are_one_line_with_exit_code_2(flags, message, tmp_path, monkeypatch, capsys):
    if "gpu" in flags and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    monkeypatch.chdir(tmp_path)
    recipe = ["--config", str(ROOT / "recipes" / "toy" / "wgan_gp_ring.yaml")] if "--config" not in flags else []
    argv = ["fit", *recipe] + flags + QUICK
    assert main(argv) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(errors) == 1 and message in errors[0], errors
