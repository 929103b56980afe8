"""Reliability of long runs: exact resume after a kill, atomic checkpoints, the divergence guard,
hostile inputs and a failing DDP worker. ``docs/reliability.md`` maps each guarantee to its test.

Processes are really killed: a forked child trains and sends itself SIGKILL (no clean shutdown,
no ``finally`` blocks, no Lightning teardown). ``fork`` rather than a fresh interpreter keeps each
child's start in milliseconds (it inherits the imported torch/Lightning).
"""
import errno
import hashlib
import io
import json
import multiprocessing
import os
import random
import signal
import threading
import time
import traceback
import warnings
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from lightning.pytorch import LightningDataModule
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.strategies import DDPStrategy
from PIL import Image
from safetensors.torch import save_file

import ganzoo
from ganzoo.callbacks import GeneratorIterationCheckpoint
from ganzoo.data import DataNotFoundError, GlobalBatchSampler, ImageFolderDataModule, ToyDataModule
from ganzoo.data.base import ResumableDataLoader, TensorPairDataset, collate_fetched
from ganzoo.gans import GAN, WGANGP
from ganzoo.nn import MLPGenerator, ProGANGenerator
from ganzoo.callbacks import DivergenceError, DivergenceGuard, RNGStateCheckpoint, SaveOnInterrupt
from ganzoo.checkpoints import (
    AtomicCheckpointIO,
    CheckpointError,
    CheckpointSaveError,
    UnsafeCheckpointError,
    load_checkpoint_safely,
)
from ganzoo.zoo import WeightsError, load_gan_from_folder, save_gan, save_generator
from ganzoo.zoo import serialization
from ganzoo.zoo.load import HUB_REPO_PATTERN
from ganzoo.zoo.publish import export_run, gan_from_checkpoint
from ganzoo.zoo.registry import registry

from conftest import TOY_D, TOY_G

BATCHES_PER_EPOCH = 5  # 80 samples / global batch 16: checkpoints fall mid-epoch


def toy_data():
    return ToyDataModule("ring", n_samples=80, batch_size=16, seed=1)


def resumable_gan(max_generator_iterations):
    """Every piece of state a resume must restore: 2 optimizers with Adam moments, a linear LR
    schedule, EMA, n_critic > 1 (checkpoints between D and G steps), a gradient penalty (its own
    seeded stream) and instance noise (its own seeded stream too)."""
    return WGANGP(generator=TOY_G, discriminator=TOY_D, n_critic=2, ema_decay=0.9, lr_schedule="linear",
                  instance_noise_std=0.1, instance_noise_anneal=100,
                  max_generator_iterations=max_generator_iterations, sample_every_n_iterations=0)


def make_trainer(root, callbacks=(), checkpoint_every=None, save_on_exception=False, guard=None, **kwargs):
    """A quiet CPU Trainer with the reliability pieces ``ganzoo fit`` installs by default."""
    callbacks = [guard or DivergenceGuard(), RNGStateCheckpoint(), *callbacks]
    if checkpoint_every is not None:
        callbacks.append(GeneratorIterationCheckpoint(every_n_generator_iterations=checkpoint_every,
                                                      dirpath=str(root / "checkpoints"),
                                                      save_on_exception=save_on_exception))
    kwargs.setdefault("plugins", [AtomicCheckpointIO()])
    return L.Trainer(accelerator="cpu", devices=kwargs.pop("devices", 1), max_epochs=-1, logger=False,
                     enable_checkpointing=checkpoint_every is not None, enable_progress_bar=False,
                     enable_model_summary=False, default_root_dir=str(root), callbacks=callbacks, **kwargs)


def run_forked(target, *args, timeout=120):
    """Run ``target(*args)`` in a forked child; returns its exit code (-9 when SIGKILLed)."""

    def child():
        try:
            target(*args)
        except BaseException:  # noqa: BLE001 - report and leave without pytest's cleanup
            traceback.print_exc()
            os._exit(1)
        os._exit(0)

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(timeout)
    if process.is_alive():
        process.kill()
        pytest.fail(f"forked child still running after {timeout} s")
    return process.exitcode


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


class RecordBatches(Callback):
    """(epoch, first value of the batch) of every real batch the discriminator trains on.

    One training step takes n_critic batches from the loader: they are recorded where the loop
    fetches them (``next_real_batches``), not per Lightning batch."""

    def __init__(self):
        self.seen = []

    def on_fit_start(self, trainer, pl_module):
        fetch = pl_module.next_real_batches

        def recording(dataloader_iter):
            reals = fetch(dataloader_iter)
            self.seen += [(trainer.current_epoch, float(real[0, 0])) for real in reals]
            return reals

        pl_module.next_real_batches = recording


class KillAtIteration(Callback):
    """SIGKILL this process in the middle of the first optimizer step after iteration N was saved."""

    def __init__(self, iteration):
        self.iteration = iteration

    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        if pl_module.generator_iterations >= self.iteration:
            os.kill(os.getpid(), signal.SIGKILL)


# ================================================================================ exact resume
SEED, KILLED_AT, TOTAL = 123, 3, 7


def _train_until_killed(root):
    L.seed_everything(SEED, verbose=False)
    trainer = make_trainer(root, [KillAtIteration(KILLED_AT)], checkpoint_every=1)
    trainer.fit(resumable_gan(TOTAL), datamodule=toy_data())


def global_rng_states():
    return torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy()


def test_killed_run_resumes_bit_identical_to_uninterrupted_run(tmp_path):
    L.seed_everything(SEED, verbose=False)
    full_batches = RecordBatches()
    full_trainer = make_trainer(tmp_path / "full", [full_batches])
    full = resumable_gan(TOTAL)
    full_trainer.fit(full, datamodule=toy_data())
    full_rng = global_rng_states()

    assert run_forked(_train_until_killed, tmp_path / "killed") == -signal.SIGKILL
    last = tmp_path / "killed" / "checkpoints" / "last.ckpt"
    checkpoint = load_checkpoint_safely(last)
    assert int(checkpoint["state_dict"]["generator_iterations_t"]) == KILLED_AT
    # 5 global batches per epoch, 2 per iteration: epoch 0 = iterations 1-2 (its 5th batch is dropped,
    # like drop_last), iteration 3 = the first 2 batches of epoch 1. The kill lands mid-epoch.
    assert checkpoint["loops"]["fit_loop"]["state_dict"]["combined_loader"] == [{"epoch": 1, "batches_done": 2}]

    L.seed_everything(SEED + 1, verbose=False)  # a different start: everything must come from the checkpoint
    resumed_batches = RecordBatches()
    resumed_trainer = make_trainer(tmp_path / "resumed", [resumed_batches])
    resumed = resumable_gan(TOTAL)
    resumed_trainer.fit(resumed, datamodule=toy_data(), ckpt_path=str(last))

    assert resumed.generator_iterations == full.generator_iterations == TOTAL
    # Same data order: the resumed run continues the interrupted epoch where it stopped.
    assert resumed_batches.seen == full_batches.seen[-len(resumed_batches.seen):]
    assert len(full_batches.seen) - len(resumed_batches.seen) == KILLED_AT * 2
    # Weights, EMA, counters, fixed sample latents: every tensor of the module, bit for bit.
    for name, tensor in full.state_dict().items():
        assert torch.equal(resumed.state_dict()[name], tensor), name
    for full_opt, resumed_opt in zip(full_trainer.optimizers, resumed_trainer.optimizers):
        full_state, resumed_state = full_opt.state_dict(), resumed_opt.state_dict()
        assert [g["lr"] for g in full_state["param_groups"]] == [g["lr"] for g in resumed_state["param_groups"]]
        for index, slots in full_state["state"].items():
            for slot, value in slots.items():
                assert torch.equal(resumed_state["state"][index][slot], value), (index, slot)
    for full_config, resumed_config in zip(full_trainer.lr_scheduler_configs, resumed_trainer.lr_scheduler_configs):
        assert full_config.scheduler.state_dict() == resumed_config.scheduler.state_dict()
    # RNG streams: the global ones (instance noise) and the loop's seeded latent stream.
    resumed_rng = global_rng_states()
    assert torch.equal(resumed_rng[0], full_rng[0]) and resumed_rng[1] == full_rng[1]
    assert np.array_equal(resumed_rng[2], full_rng[2])
    assert torch.equal(resumed._latents(4, stream=2), full._latents(4, stream=2))
    # The run moved: an untrained model would not match the weights above by accident.
    assert not torch.equal(full.generator.net[0].weight, resumable_gan(TOTAL).generator.net[0].weight)


def test_sampler_resume_skips_the_global_batches_already_used():
    dataset = TensorPairDataset(torch.arange(40.0).unsqueeze(1), torch.zeros(40))
    for rank in (0, 1):
        sampler = GlobalBatchSampler(dataset, global_batch_size=8, num_replicas=2, rank=rank, seed=3)
        sampler.set_epoch(1)
        full_epoch = list(sampler)
        sampler.resume_at(epoch=1, batches_done=2)
        assert list(sampler) == full_epoch[2 * 4:]  # 2 global batches = 2 local batches of 4
        assert list(sampler) == full_epoch  # only the first pass after resuming is shortened
        sampler.resume_at(epoch=0, batches_done=2)  # a checkpoint from another epoch: no skip
        assert list(sampler) == full_epoch
    with pytest.raises(ValueError, match="outside an epoch of 5"):
        sampler.resume_at(epoch=1, batches_done=6)

    def loader_for(dataset):
        return ResumableDataLoader(dataset, sampler=GlobalBatchSampler(dataset, 8, seed=3), batch_size=8,
                                   collate_fn=collate_fetched)

    loader = loader_for(dataset)
    batches = iter(loader)
    first_two = [next(batches)[0], next(batches)[0]]
    assert loader.state_dict() == {"epoch": 0, "batches_done": 2}
    fresh = loader_for(dataset)
    fresh.load_state_dict(loader.state_dict())
    rest = [x for x, _ in fresh]
    assert fresh.state_dict() == {"epoch": 0, "batches_done": 5}
    assert torch.equal(torch.cat(first_two + rest), torch.cat([x for x, _ in loader]))


# ================================================================================ atomic checkpoints
class NaiveCheckpointIO(TorchCheckpointIO):
    """The control: writes straight into the destination file."""

    def save_checkpoint(self, checkpoint, path, storage_options=None):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            torch.save(checkpoint, handle)


def _killed_while_saving_second_checkpoint(root, checkpoint_io):
    real_save, saves_of_last = torch.save, []

    def dies_halfway(obj, handle, *args, **kwargs):
        if "last.ckpt" in str(getattr(handle, "name", handle)):
            saves_of_last.append(1)
            if len(saves_of_last) == 2:  # the first save of last.ckpt completes, the second is cut
                buffer = io.BytesIO()
                real_save(obj, buffer, *args, **kwargs)
                handle.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
                handle.flush()
                os.kill(os.getpid(), signal.SIGKILL)
        return real_save(obj, handle, *args, **kwargs)

    torch.save = dies_halfway  # this is the forked child: the patch dies with it
    L.seed_everything(0, verbose=False)
    trainer = make_trainer(root, checkpoint_every=1, plugins=[checkpoint_io])
    trainer.fit(GAN(generator=TOY_G, discriminator=TOY_D, max_generator_iterations=5, sample_every_n_iterations=0),
                datamodule=toy_data())


@pytest.mark.parametrize("checkpoint_io", [AtomicCheckpointIO(), NaiveCheckpointIO()], ids=["atomic", "naive-control"])
def test_kill_during_save_leaves_previous_checkpoint_loadable(tmp_path, checkpoint_io):
    assert run_forked(_killed_while_saving_second_checkpoint, tmp_path, checkpoint_io) == -signal.SIGKILL
    last = tmp_path / "checkpoints" / "last.ckpt"
    if isinstance(checkpoint_io, AtomicCheckpointIO):
        assert int(load_checkpoint_safely(last)["state_dict"]["generator_iterations_t"]) == 1
        assert list(last.parent.glob(".last.ckpt.*.tmp")), "the kill happened mid-write of the temporary file"
    else:  # writing in place leaves half a file: the test can tell the two apart
        with pytest.raises(CheckpointError, match="truncated"):
            load_checkpoint_safely(last)


# ================================================================================ divergence guard
class PoisonWeights(Callback):
    """Set a discriminator weight to NaN at the start of the batch that begins a given iteration."""

    def __init__(self, after_iteration):
        self.after_iteration, self.last_ckpt_hash = after_iteration, None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if pl_module.generator_iterations == self.after_iteration and self.last_ckpt_hash is None:
            last = trainer.checkpoint_callback.last_model_path
            self.last_ckpt_hash = sha256(Path(last)) if last else "none"
            with torch.no_grad():
                next(pl_module.discriminator.parameters()).view(-1)[0] = float("nan")


def test_nan_stops_the_run_naming_iteration_term_and_last_good_checkpoint(tmp_path):
    poison = PoisonWeights(after_iteration=3)
    # save_on_exception=True would write the diverged weights over last.ckpt; the guard prevents it.
    trainer = make_trainer(tmp_path, [poison], checkpoint_every=1, save_on_exception=True)
    model = GAN(generator=TOY_G, discriminator=TOY_D, max_generator_iterations=10, sample_every_n_iterations=0)
    with pytest.raises(DivergenceError) as caught:
        trainer.fit(model, datamodule=toy_data())
    error, last = caught.value, tmp_path / "checkpoints" / "last.ckpt"
    assert model.generator_iterations == 4  # stopped in the very batch that diverged
    assert error.generator_iteration == 4 and error.term == "discriminator loss" and error.value != error.value
    assert error.last_good_checkpoint == str(last)
    message = str(error)
    assert "generator iteration 4" in message and "discriminator loss = nan" in message and str(last) in message
    assert sha256(last) == poison.last_ckpt_hash  # not overwritten
    state = load_checkpoint_safely(last)["state_dict"]
    assert int(state["generator_iterations_t"]) == 3
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
    assert sorted(p.name for p in last.parent.iterdir()) == [f"giter-000000{i}.ckpt" for i in (1, 2, 3)] + ["last.ckpt"]


class PoisonTerm(Callback):
    """Make one recorded loss term non-finite at a given iteration (tests the naming of every term)."""

    def __init__(self, term, at_iteration):
        self.term, self.at_iteration = term, at_iteration

    def setup(self, trainer, pl_module, stage):
        record = pl_module.watch_term

        def poisoned(value, term):
            if term == self.term and pl_module.generator_iterations == self.at_iteration:
                value = value * float("inf")
            record(value, term)

        pl_module.watch_term = poisoned


@pytest.mark.parametrize("term, kwargs", [
    ("generator loss", {}),
    ("gradient penalty", {"gp_weight": 10.0}),
    ("r1 penalty", {"r1_gamma": 1.0}),
    ("drift", {"drift_weight": 1e-3}),
])
def test_every_watched_term_is_named(tmp_path, term, kwargs):
    model = GAN(generator=TOY_G, discriminator=TOY_D, max_generator_iterations=6, sample_every_n_iterations=0, **kwargs)
    with pytest.raises(DivergenceError, match=f"generator iteration 3 .*{term} = (nan|inf).*no checkpoint was saved"):
        make_trainer(tmp_path, [PoisonTerm(term, at_iteration=2)]).fit(model, datamodule=toy_data())


def test_exploding_gradient_norm_is_flagged(tmp_path):
    model = GAN(generator=TOY_G, discriminator=TOY_D, max_generator_iterations=6, sample_every_n_iterations=0)
    trainer = make_trainer(tmp_path, guard=DivergenceGuard(max_grad_norm=1e-6))
    with pytest.raises(DivergenceError, match=r"generator iteration 1 .*discriminator gradient norm = .* > max_grad_norm = 1e-06"):
        trainer.fit(model, datamodule=toy_data())


def test_gradient_norm_is_the_total_two_norm_over_the_optimizer():
    discriminator = torch.nn.Linear(2, 1)
    discriminator.weight.grad = torch.tensor([[3.0, 4.0]])
    discriminator.bias.grad = torch.tensor([12.0])  # total norm sqrt(9 + 16 + 144) = 13
    module = torch.nn.Module()
    module.discriminator, module.watched_terms = discriminator, {}
    trainer = type("FakeTrainer", (), {"checkpoint_callbacks": [], "global_step": 0})()
    optimizer = torch.optim.SGD(discriminator.parameters(), lr=0.1)
    for limit, diverges in ((13.5, False), (12.5, True)):
        guard = DivergenceGuard(max_grad_norm=limit)
        guard.on_before_optimizer_step(trainer, module, optimizer)
        if diverges:
            with pytest.raises(DivergenceError) as caught:
                guard.on_train_batch_end(trainer, module, None, None, 0)
            assert caught.value.term == "discriminator gradient norm" and caught.value.value == pytest.approx(13.0)
        else:
            guard.on_train_batch_end(trainer, module, None, None, 0)


def test_batched_checks_still_never_save_a_diverged_state(tmp_path):
    # Host syncs batched over 1000 batches: the checkpoint save itself must check what is pending.
    trainer = make_trainer(tmp_path, [PoisonWeights(after_iteration=2)], checkpoint_every=1,
                           guard=DivergenceGuard(check_every_n_batches=1000))
    model = GAN(generator=TOY_G, discriminator=TOY_D, max_generator_iterations=10, sample_every_n_iterations=0)
    with pytest.raises(DivergenceError, match="generator iteration 3 "):
        trainer.fit(model, datamodule=toy_data())
    assert int(load_checkpoint_safely(tmp_path / "checkpoints" / "last.ckpt")["state_dict"]["generator_iterations_t"]) == 2


def test_guard_arguments_are_checked():
    with pytest.raises(ValueError, match="max_grad_norm=-1"):
        DivergenceGuard(max_grad_norm=-1)
    with pytest.raises(ValueError, match="check_every_n_batches=0"):
        DivergenceGuard(check_every_n_batches=0)


# ================================================================================ ganzoo fit defaults
def cli(*arguments):
    from ganzoo.training_cli import GanzooCLI

    return GanzooCLI(GAN, LightningDataModule, subclass_mode_model=True, subclass_mode_data=True, run=False,
                     auto_configure_optimizers=False,
                     args=["--config", "recipes/toy/wgan_gp_ring.yaml", "--trainer.logger", "false", *arguments])


@pytest.fixture
def in_repo_root(monkeypatch):
    monkeypatch.chdir(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_ganzoo_fit_installs_guard_rng_checkpoint_and_atomic_io_by_default(in_repo_root):
    trainer = cli("--divergence_guard.max_grad_norm", "1000").trainer
    guards = [c for c in trainer.callbacks if isinstance(c, DivergenceGuard)]
    assert len(guards) == 1 and guards[0].max_grad_norm == 1000.0
    assert any(isinstance(c, RNGStateCheckpoint) for c in trainer.callbacks)
    assert isinstance(trainer.strategy.checkpoint_io, AtomicCheckpointIO)


@pytest.mark.parametrize("flag, value, kwargs, message", [
    ("--model.init_args.g_lr", "-0.001", {"g_lr": -0.001}, "g_lr=-0.001: learning rate must be a finite number > 0"),
    ("--model.init_args.n_critic", "0", {"n_critic": 0}, "n_critic=0: must be an integer >= 1"),
])
def test_out_of_range_hyperparameters_are_refused_with_their_name(in_repo_root, flag, value, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cli(flag, value)  # from a recipe / the command line
    with pytest.raises(ValueError, match=message):
        GAN(generator=TOY_G, discriminator=TOY_D, **kwargs)  # from Python


# ================================================================================ hostile inputs
class OpensAFile:
    """A pickle payload: unpickling it calls ``open(marker, "w")``, creating the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def payload_checkpoint(tmp_path):
    marker, path = tmp_path / "payload-ran", tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "ganzoo": {"variant": "gan"}, "hyper_parameters": OpensAFile(marker)}, path)
    # The payload is live: an unsafe load runs it.
    unsafe = torch.load(path, weights_only=False)
    unsafe["hyper_parameters"].close()
    assert marker.exists()
    marker.unlink()
    return path, marker


def test_pickle_payload_checkpoint_is_refused_everywhere(payload_checkpoint, tmp_path):
    path, marker = payload_checkpoint
    readers = {
        "load_checkpoint_safely": lambda: load_checkpoint_safely(path),
        "AtomicCheckpointIO": lambda: AtomicCheckpointIO().load_checkpoint(path),
        "gan_from_checkpoint (ganzoo publish)": lambda: gan_from_checkpoint(path),
        "Trainer.fit(ckpt_path=...)": lambda: make_trainer(tmp_path / "run").fit(
            GAN(generator=TOY_G, discriminator=TOY_D, sample_every_n_iterations=0), datamodule=toy_data(),
            ckpt_path=str(path)),
    }
    for name, read in readers.items():
        with pytest.raises(UnsafeCheckpointError, match=r"refusing to load .*evil\.ckpt.*GLOBAL io\.open was not an allowed global"):
            read()
        assert not marker.exists(), name


def test_truncated_or_foreign_checkpoint_gives_clear_error(tmp_path):
    good = tmp_path / "good.ckpt"
    torch.save({"state_dict": {"w": torch.ones(1000)}}, good)
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated.ckpt is not a readable checkpoint"):
        load_checkpoint_safely(truncated)
    listed = tmp_path / "list.ckpt"
    torch.save([1, 2], listed)
    with pytest.raises(CheckpointError, match="holds a list"):
        load_checkpoint_safely(listed)
    with pytest.raises(FileNotFoundError, match="missing.ckpt"):
        load_checkpoint_safely(tmp_path / "missing.ckpt")


def small_generator_folder(tmp_path):
    torch.manual_seed(0)
    return save_generator(MLPGenerator(latent_dim=2, out_dim=2, hidden_dim=8, n_layers=2), tmp_path / "g")


def test_weights_of_the_wrong_dtype_or_format_are_refused(tmp_path, payload_checkpoint):
    folder = small_generator_folder(tmp_path)
    weights = folder / "model.safetensors"
    state = serialization.read_weights(weights)
    save_file({k: v.to(torch.int32) for k, v in state.items()}, str(weights))
    with pytest.raises(WeightsError, match=r"dtype mismatch: .*file torch.int32 vs model torch.float32"):
        ganzoo.load(str(folder))
    # A pickle named model.safetensors is never unpickled.
    path, marker = payload_checkpoint
    weights.write_bytes(path.read_bytes())
    with pytest.raises(WeightsError, match="not a readable safetensors file"):
        ganzoo.load(str(folder))
    assert not marker.exists()


def edit_config(folder, edit):
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text())
    edit(config)
    config_path.write_text(json.dumps(config))


@pytest.mark.parametrize("edit, message", [
    (lambda c: c["hparams"].update(g_lr=-1.0), "g_lr=-1.0"),
    (lambda c: c["hparams"].update(n_critic=0), "n_critic=0"),
    (lambda c: c["hparams"].update(evil=1), "evil"),
    (lambda c: c.update(variant="../../gan"), "unknown GAN variant"),
    (lambda c: c["generator"].update(name="../../../etc/passwd"), "unknown network"),
], ids=["negative-lr", "n_critic-0", "unknown-key", "variant-path", "network-path"])
def test_config_json_with_bad_values_is_refused(tmp_path, edit, message):
    folder = save_gan(GAN(generator=TOY_G, discriminator=TOY_D, sample_every_n_iterations=0), tmp_path / "gan")
    edit_config(folder, edit)
    with pytest.raises(WeightsError, match=message):
        load_gan_from_folder(folder)


def test_progan_resolution_not_a_power_of_two_is_refused(tmp_path):
    # ProGANGenerator(resolution=24) itself: tests/test_progan.py::test_bad_configurations_are_named.
    folder = save_generator(ProGANGenerator(latent_dim=8, resolution=8, fmap_base=32, fmap_max=8), tmp_path / "pg")
    edit_config(folder, lambda c: c["generator"]["kwargs"].update(resolution=24))
    with pytest.raises(WeightsError, match="power of two .*got 24"):
        ganzoo.load(str(folder))


def test_load_reads_only_the_fixed_file_names_inside_the_folder(tmp_path, monkeypatch):
    folder = small_generator_folder(tmp_path)
    outside = save_generator(MLPGenerator(latent_dim=2, out_dim=2, hidden_dim=8, n_layers=2), tmp_path / "outside")
    # Path-like fields a hostile config might try: none of them is ever used as a path.
    edit_config(folder, lambda c: c.update(weights="../outside/model.safetensors",
                                           weights_path=str(outside / "model.safetensors")))
    opened = []
    for reader in ("read_config", "read_weights"):
        original = getattr(serialization, reader)
        monkeypatch.setattr(serialization, reader, lambda path, _f=original: opened.append(path) or _f(path))
    generator = ganzoo.load(str(folder))
    assert opened == [folder / "config.json", folder / "model.safetensors"]
    expected = serialization.read_weights(folder / "model.safetensors")
    assert all(torch.equal(generator.state_dict()[k], v) for k, v in expected.items())


def test_registry_names_and_repo_ids_cannot_form_paths():
    # Registry names become file names (weights/<name>.safetensors); repo ids go to the Hub.
    for name, entry in registry().items():
        assert name == os.path.basename(name) and ".." not in name and not name.startswith("."), name
        if entry.hf_repo_id is not None:
            assert HUB_REPO_PATTERN.match(entry.hf_repo_id) and ".." not in entry.hf_repo_id, name


@pytest.mark.parametrize("layout", ["class-folders", "flat"])
def test_image_folder_skips_non_images_with_a_warning_and_names_corrupt_images(tmp_path, layout):
    folder = tmp_path / "images" / ("cats" if layout == "class-folders" else "")
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("a.png", "b.png"):
        Image.new("RGB", (8, 8), (10, 20, 30)).save(folder / name)
    (folder / "notes.txt").write_text("not an image")
    (folder / ".DS_Store").write_bytes(b"\x00\x01")
    (folder / "broken.png").write_bytes(b"this is not a PNG")
    data = ImageFolderDataModule(str(tmp_path / "images"), batch_size=2, resolution=8)
    with pytest.warns(UserWarning, match=r"skipping 2 file\(s\) that are not images.*\.DS_Store.*notes\.txt"):
        dataset = data.get_dataset()
    assert len(dataset) == 3  # a, b and broken (it has an image extension)
    assert dataset[0][0].shape == (3, 8, 8)
    with pytest.raises(ValueError, match=r"broken\.png is not a readable image"):
        dataset[2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=r"broken\.png is not a readable image"):
            ImageFolderDataModule(str(tmp_path / "images"), batch_size=2, resolution=8, in_memory=True).setup("fit")
        for name in ("a.png", "b.png", "broken.png"):
            (folder / name).unlink()
        with pytest.raises((DataNotFoundError, FileNotFoundError)):
            ImageFolderDataModule(str(tmp_path / "images"), batch_size=2, resolution=8).setup("fit")


# ================================================================================ DDP fault
FAULT_AT = 3


class FailOnRankOne(Callback):
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_rank == 1 and pl_module.generator_iterations >= FAULT_AT:
            raise RuntimeError(f"simulated worker failure on rank 1 at generator iteration {FAULT_AT}")


class CheckRestoredState(Callback):
    def __init__(self, expected):
        self.expected, self.matched = expected, None

    def on_train_start(self, trainer, pl_module):
        state = pl_module.state_dict()
        self.matched = all(torch.equal(state[k], v) for k, v in self.expected.items())


def test_ddp_worker_failure_ends_the_run_and_the_last_checkpoint_resumes(tmp_path):
    model = GAN(generator=TOY_G, discriminator=TOY_D, max_generator_iterations=8, sample_every_n_iterations=0)
    trainer = make_trainer(tmp_path / "ddp", [FailOnRankOne()], checkpoint_every=1, devices=2,
                           strategy=DDPStrategy(start_method="fork", find_unused_parameters=True))
    hung = threading.Event()

    def kill_workers():  # only if the run hangs: the assertion below then fails instead of CI timing out
        hung.set()
        for process in getattr(trainer.strategy.launcher, "procs", []):
            if process.is_alive():
                os.kill(process.pid, signal.SIGKILL)

    watchdog = threading.Timer(90, kill_workers)
    watchdog.start()
    start = time.monotonic()
    try:
        with pytest.raises(Exception, match="simulated worker failure on rank 1"):
            trainer.fit(model, datamodule=toy_data())
    finally:
        watchdog.cancel()
    assert not hung.is_set(), "the surviving worker hung instead of ending with the run"
    assert time.monotonic() - start < 60

    last = tmp_path / "ddp" / "checkpoints" / "last.ckpt"
    checkpoint = load_checkpoint_safely(last)
    assert int(checkpoint["state_dict"]["generator_iterations_t"]) == FAULT_AT
    restored = CheckRestoredState(checkpoint["state_dict"])
    resumed = GAN(generator=TOY_G, discriminator=TOY_D, max_generator_iterations=FAULT_AT + 2,
                  sample_every_n_iterations=0)
    make_trainer(tmp_path / "resumed", [restored]).fit(resumed, datamodule=toy_data(), ckpt_path=str(last))
    assert restored.matched
    assert resumed.generator_iterations == FAULT_AT + 2


def test_generator_iteration_checkpoints_do_not_warn_about_manual_optimization(tmp_path):
    # Lightning warns on every checkpoint of a manual-optimization module that it holds the
    # post-step state; for "after generator iteration N" that is the intent, so ganzoo hides it.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make_trainer(tmp_path, checkpoint_every=2).fit(resumable_gan(4), datamodule=toy_data())
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
    assert not [w for w in caught if "manual optimization" in str(w.message)]


# ================================================================================ issue 16: hostile files, disk, Ctrl-C
def assert_one_line(error_info, *fragments):
    message = str(error_info.value)
    assert "\n" not in message and len(message) < 600, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_pickle_payload_names_the_refused_global_in_one_line(tmp_path):
    # torch 2.14 words this refusal "Trying to load unsupported GLOBAL posix.system whose module ... is blocked".
    marker, path = tmp_path / "payload-ran", tmp_path / "system.ckpt"

    class RunsAShell:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save({"state_dict": {}, "hyper_parameters": RunsAShell()}, path)
    for read in (lambda: load_checkpoint_safely(path), lambda: gan_from_checkpoint(path)):
        with pytest.raises(UnsafeCheckpointError) as error:
            read()
        assert_one_line(error, "refusing to load", "system.ckpt", f"global {os.system.__module__}.system")
        assert "weights_only` set to `False" not in str(error.value)  # torch's advice to load it unsafely
    assert not marker.exists()


def _foreign_files(root):
    root.mkdir()
    save_file({"w": torch.ones(3)}, str(root / "model.safetensors"))
    (root / "notes.txt").write_text("hello, this is not a checkpoint\n" * 10)
    (root / "empty.ckpt").write_bytes(b"")
    return {"model.safetensors": "safetensors weights file", "notes.txt": "not a checkpoint written by torch.save",
            "empty.ckpt": "is empty"}


def test_foreign_files_given_to_the_checkpoint_loader_or_publish_give_one_line_errors(tmp_path):
    for name, fragment in _foreign_files(tmp_path / "files").items():
        path = tmp_path / "files" / name
        readers = {
            "load_checkpoint_safely": lambda: load_checkpoint_safely(path),
            "AtomicCheckpointIO": lambda: AtomicCheckpointIO().load_checkpoint(path),
            "gan_from_checkpoint": lambda: gan_from_checkpoint(path),
            "export_run (ganzoo publish)": lambda: export_run(path, tmp_path / "out"),
        }
        for reader, read in readers.items():
            with pytest.raises(CheckpointError) as error:
                read()
            assert_one_line(error, name, fragment)


def _toy_checkpoint(path, edit=lambda checkpoint: None):
    """What a `ganzoo fit` checkpoint holds for publish: state_dict, hyper_parameters, the ganzoo section."""
    gan = GAN(generator=TOY_G, discriminator=TOY_D, sample_every_n_iterations=0)
    checkpoint = {"state_dict": gan.state_dict(), "hyper_parameters": dict(gan.hparams)}
    gan.on_save_checkpoint(checkpoint)
    edit(checkpoint)
    torch.save(checkpoint, path)
    return path


def _resize(checkpoint, key, shape):
    checkpoint["state_dict"][key] = torch.zeros(shape)


@pytest.mark.parametrize("edit, fragments", [
    (lambda c: c["hyper_parameters"].update(evil=1), ["does not describe a valid GAN", "evil"]),
    (lambda c: c["hyper_parameters"].update(n_critic="abc"), ["n_critic='abc'"]),
    (lambda c: _resize(c, "generator.net.0.weight", (3, 3)), ["shape mismatch", "generator.net.0.weight"]),
    (lambda c: c["state_dict"]["discriminator.net.0.bias"].fill_(float("nan")), ["'discriminator.net.0.bias'", "NaN"]),
    (lambda c: c["hyper_parameters"]["generator"]["init_args"].update(hidden_dim=10**6),
     ["parameters", "over the limit"]),
    (lambda c: c["hyper_parameters"].update(num_sample_images=10**9), ["num_sample_images=1000000000"]),
], ids=["unknown-hparam", "bad-hparam", "wrong-shape", "nan-weights", "huge-network", "huge-sample-grid"])
def test_publish_refuses_checkpoints_that_do_not_fit_in_one_line(tmp_path, edit, fragments):
    path = _toy_checkpoint(tmp_path / "run.ckpt", edit)
    with pytest.raises(WeightsError) as error:
        export_run(path, tmp_path / "out")
    assert_one_line(error, "run.ckpt", *fragments)
    assert not (tmp_path / "out").exists()


def test_publish_of_a_good_checkpoint_still_works(tmp_path):
    folder = export_run(_toy_checkpoint(tmp_path / "run.ckpt"), tmp_path / "out")
    assert ganzoo.load(str(folder)).sample(3, seed=0).shape == (3, 2)


def test_stale_temp_files_of_killed_saves_are_removed_at_the_next_start(tmp_path):
    assert run_forked(_killed_while_saving_second_checkpoint, tmp_path, AtomicCheckpointIO()) == -signal.SIGKILL
    folder = tmp_path / "checkpoints"
    (stale,) = folder.glob(".last.ckpt.*.tmp")  # about one checkpoint's size, left by the kill
    # Not ours to delete: other names, and a temporary file whose writer (this process) is alive.
    keep = [folder / "notes.tmp", folder / ".last.ckpt.tmp", folder / "giter-x.ckpt.1.tmp",
            folder / f".last.ckpt.{os.getpid()}.tmp"]
    for path in keep:
        path.write_text("keep")
    trainer = make_trainer(tmp_path, checkpoint_every=1)
    trainer.fit(GAN(generator=TOY_G, discriminator=TOY_D, max_generator_iterations=2, sample_every_n_iterations=0),
                datamodule=toy_data())
    assert not stale.exists()
    assert all(path.read_text() == "keep" for path in keep)
    assert load_checkpoint_safely(folder / "last.ckpt")["global_step"] > 0


def test_disk_full_during_save_names_the_path_and_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    checkpoint_io, last = AtomicCheckpointIO(), tmp_path / "checkpoints" / "last.ckpt"
    checkpoint_io.save_checkpoint({"state_dict": {"w": torch.ones(10)}}, last)
    previous = sha256(last)
    real_save = torch.save

    def fills_the_disk(obj, handle, *args, **kwargs):
        buffer = io.BytesIO()
        real_save(obj, buffer, *args, **kwargs)
        handle.write(buffer.getvalue()[:100])  # part of it reached the disk
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", fills_the_disk)
    with pytest.raises(CheckpointSaveError) as error:
        checkpoint_io.save_checkpoint({"state_dict": {"w": torch.zeros(1000)}}, last)
    assert_one_line(error, "no space left on device", str(last))
    assert error.value.errno == errno.ENOSPC and isinstance(error.value, OSError)
    assert sha256(last) == previous
    assert sorted(p.name for p in last.parent.iterdir()) == ["last.ckpt"]  # the partial temporary file is gone


class InterruptAtStep(Callback):
    """Ctrl-C as Lightning sees it: a KeyboardInterrupt in the middle of fit."""

    def __init__(self, step):
        self.step = step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step >= self.step:
            raise KeyboardInterrupt


@pytest.fixture
def restore_sigint():
    # On KeyboardInterrupt Lightning ignores further Ctrl-C (SIG_IGN) and exits: undo that for pytest.
    handler = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, handler)


@pytest.mark.parametrize("save_on_interrupt", [True, False], ids=["SaveOnInterrupt", "control"])
def test_ctrl_c_before_the_first_periodic_checkpoint_saves_last_ckpt(tmp_path, restore_sigint, save_on_interrupt):
    callbacks = [InterruptAtStep(3)] + ([SaveOnInterrupt()] if save_on_interrupt else [])
    trainer = make_trainer(tmp_path, callbacks, checkpoint_every=1000)  # no periodic checkpoint yet
    with pytest.raises(SystemExit):  # Lightning's answer to KeyboardInterrupt, after on_exception
        trainer.fit(GAN(generator=TOY_G, discriminator=TOY_D, max_generator_iterations=6,
                        sample_every_n_iterations=0), datamodule=toy_data())
    last = tmp_path / "checkpoints" / "last.ckpt"
    if not save_on_interrupt:  # without it the run is lost: the test can tell the two apart
        assert not last.exists()
        return
    checkpoint = load_checkpoint_safely(last)
    assert checkpoint["global_step"] >= 3 and checkpoint["ganzoo"]["generator_iterations"] >= 1
    resumed = GAN(generator=TOY_G, discriminator=TOY_D, max_generator_iterations=6, sample_every_n_iterations=0)
    make_trainer(tmp_path / "resume").fit(resumed, datamodule=toy_data(), ckpt_path=str(last))
    assert resumed.generator_iterations == 6


class TerminateAtStep(Callback):
    """``kill PID`` as the process sees it: a real SIGTERM, sent to itself once, at the end of a step."""

    def __init__(self, step):
        self.step = step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGTERM)


@pytest.mark.parametrize("save_on_interrupt", [True, False], ids=["SaveOnInterrupt", "control"])
def test_sigterm_between_periodic_checkpoints_saves_last_ckpt(tmp_path, save_on_interrupt):
    # A background run (`ganzoo fit ... &`) ignores Ctrl-C's SIGINT; `kill` sends SIGTERM, which Lightning
    # turns into a SIGTERMException (a SystemExit) at the end of the step.
    callbacks = [TerminateAtStep(4)] + ([SaveOnInterrupt()] if save_on_interrupt else [])
    trainer = make_trainer(tmp_path, callbacks, checkpoint_every=1000)
    handler_before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit):
        trainer.fit(GAN(generator=TOY_G, discriminator=TOY_D, max_generator_iterations=6,
                        sample_every_n_iterations=0), datamodule=toy_data())
    assert signal.getsignal(signal.SIGTERM) == handler_before  # Lightning put the previous handler back
    last = tmp_path / "checkpoints" / "last.ckpt"
    if not save_on_interrupt:
        assert not last.exists()
        return
    checkpoint = load_checkpoint_safely(last)
    # n_critic 1: steps 1-2 are iteration 1, steps 3-4 iteration 2; the signal stops it at a whole iteration
    assert checkpoint["global_step"] == 4 and checkpoint["ganzoo"]["generator_iterations"] == 2
    resumed = GAN(generator=TOY_G, discriminator=TOY_D, max_generator_iterations=6, sample_every_n_iterations=0)
    make_trainer(tmp_path / "resume").fit(resumed, datamodule=toy_data(), ckpt_path=str(last))
    assert resumed.generator_iterations == 6


class InterruptBeforeGeneratorStep(Callback):
    """Ctrl-C after iteration N's discriminator step and before its generator step: Lightning's
    global_step then counts one optimizer step more than whole iterations do."""

    def __init__(self, iteration):
        self.iteration = iteration

    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        if optimizer is trainer.optimizers[1] and pl_module.generator_iterations == self.iteration - 1:
            raise KeyboardInterrupt


def test_periodic_checkpoints_go_on_after_resuming_a_ctrl_c_between_d_and_g_steps(tmp_path, restore_sigint):
    # Found in a zoo run: resumed from a Ctrl-C between the two steps, it wrote no periodic checkpoint for
    # hours, as a period counted in optimizer steps no longer fell on the end of an iteration.
    trainer = make_trainer(tmp_path, [InterruptBeforeGeneratorStep(4), SaveOnInterrupt()], checkpoint_every=2)
    with pytest.raises(SystemExit):
        trainer.fit(GAN(generator=TOY_G, discriminator=TOY_D, max_generator_iterations=10,
                        sample_every_n_iterations=0), datamodule=toy_data())
    checkpoints = tmp_path / "checkpoints"
    interrupted = load_checkpoint_safely(checkpoints / "last.ckpt")
    assert interrupted["ganzoo"]["generator_iterations"] == 3 and interrupted["global_step"] == 2 * 3 + 1
    resumed = GAN(generator=TOY_G, discriminator=TOY_D, max_generator_iterations=10, sample_every_n_iterations=0)
    make_trainer(tmp_path, checkpoint_every=2).fit(resumed, datamodule=toy_data(),
                                                   ckpt_path=str(checkpoints / "last.ckpt"))
    assert resumed.generator_iterations == 10
    assert sorted(path.name for path in checkpoints.glob("giter-*.ckpt")) == [
        f"giter-{iteration:07d}.ckpt" for iteration in (2, 4, 6, 8, 10)]


class StopAfterIteration(Callback):
    """What the Trainer's ``max_time`` does when time is up: ``should_stop`` at a batch's end."""

    def __init__(self, iteration):
        self.iteration = iteration

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if pl_module.generator_iterations >= self.iteration:
            trainer.should_stop = True


@pytest.mark.parametrize("save_on_interrupt", [True, False], ids=["SaveOnInterrupt", "control"])
def test_a_run_stopped_between_periodic_checkpoints_saves_its_last_iterations(tmp_path, save_on_interrupt):
    callbacks = [StopAfterIteration(3)] + ([SaveOnInterrupt()] if save_on_interrupt else [])
    trainer = make_trainer(tmp_path, callbacks, checkpoint_every=2)  # periodic checkpoint at iteration 2 only
    trainer.fit(GAN(generator=TOY_G, discriminator=TOY_D, max_generator_iterations=10, sample_every_n_iterations=0),
                datamodule=toy_data())
    saved = load_checkpoint_safely(tmp_path / "checkpoints" / "last.ckpt")["ganzoo"]["generator_iterations"]
    # Without it Lightning leaves last.ckpt at the periodic checkpoint: the test can tell the two apart.
    assert saved == (3 if save_on_interrupt else 2)


def test_the_private_lightning_api_ganzoo_uses_is_all_there():
    from ganzoo.lightning_compat import check_private_api

    # If this fails after a Lightning upgrade, adapt ganzoo/lightning_compat.py (the only place that uses it).
    assert check_private_api() == []
