"""Callbacks around checkpoints: every N generator iterations, the global RNG states, Ctrl-C and SIGTERM."""
from __future__ import annotations

import os
import random
import warnings
from typing import Any, Optional

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.utilities.exceptions import SIGTERMException
from lightning.pytorch.utilities.rank_zero import rank_zero_info, rank_zero_warn

from ganzoo.lightning_compat import save_checkpoint_now, set_every_n_train_steps


class GeneratorIterationCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` every N *generator* iterations, always keeping ``last.ckpt``.

    The period is counted in generator iterations, not in Lightning's ``global_step`` (optimizer
    steps, D and G together): a run resumed from a Ctrl-C checkpoint taken between a discriminator
    and a generator step has a ``global_step`` ahead of ``(n_critic + 1)`` x its iterations, and a
    period in optimizer steps would never again fall on the end of an iteration (found when a
    resumed zoo run wrote no checkpoint for hours).
    """

    def __init__(self, every_n_generator_iterations: int = 1000, dirpath: Optional[str] = None,
                 filename: str = "giter-{g_iter:07.0f}", save_top_k: int = -1, **kwargs: Any) -> None:
        if every_n_generator_iterations < 1:
            raise ValueError(f"every_n_generator_iterations={every_n_generator_iterations}: must be >= 1")
        self.every_n_generator_iterations = every_n_generator_iterations
        kwargs["auto_insert_metric_name"] = False
        super().__init__(dirpath=dirpath, filename=filename, save_last=True, save_top_k=save_top_k,
                         every_n_train_steps=every_n_generator_iterations, **kwargs)

    def _monitor_candidates(self, trainer) -> dict:  # private hook: listed in ganzoo/lightning_compat.py
        # The file name shows the generator iteration even between logging steps.
        candidates = super()._monitor_candidates(trainer)
        candidates["g_iter"] = torch.tensor(float(trainer.lightning_module.generator_iterations))
        return candidates

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        iteration = int(pl_module.generator_iterations)
        if iteration > 0 and iteration % self.every_n_generator_iterations == 0:
            save_checkpoint_now(self, trainer)  # skipped when this very step was saved already

    def setup(self, trainer, pl_module, stage: str) -> None:
        super().setup(trainer, pl_module, stage)
        # The batch ends are ours (on_train_batch_end); Lightning's period in optimizer steps is still set
        # because the callback's state key contains it: earlier runs' checkpoints must keep restoring
        # this callback's state on resume.
        steps_per_iteration = pl_module.hparams.get("n_critic", 1) + 1
        set_every_n_train_steps(self, self.every_n_generator_iterations * steps_per_iteration)
        # Under manual optimization Lightning warns (a screenful, on every run) that the checkpoint
        # holds the state AFTER the optimizer step. That is exactly what a checkpoint "after
        # generator iteration N" should hold, so the warning only confuses. One filter, installed
        # once: a catch_warnings around every batch would reset Python's once-only warning registry.
        warnings.filterwarnings("ignore", message="Using ModelCheckpoint with manual optimization")


# ---------------------------------------------------------------------- RNG state
class RNGStateCheckpoint(Callback):
    """Saves the global RNG states in every checkpoint and restores them when training resumes.

    The loop's latents come from its own per-step seeded generators, which survive resume by
    construction; anything drawing from the *global* RNGs (dropout, user code; the
    loop's instance noise and label noise use its own streams too) needs this callback to continue the same stream. The states are restored in
    ``on_train_start``, i.e. after Lightning has built the resumed dataloader iterator (which
    itself draws a seed from the global RNG), so the first training step after resume draws
    exactly what it would have drawn in the uninterrupted run.

    Under DDP only rank 0's states are written to the checkpoint; they are restored on rank 0
    and the other ranks keep their fresh seeding (exact resume is guaranteed for one process).
    """

    def __init__(self) -> None:
        self._states_to_restore: Optional[dict[str, Any]] = None

    def state_dict(self) -> dict[str, Any]:
        return {"rng_states": _collect_rng_states()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._states_to_restore = state_dict.get("rng_states")

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        states, self._states_to_restore = self._states_to_restore, None
        if states is not None and trainer.global_rank == 0:
            _set_rng_states(states)


def _collect_rng_states() -> dict[str, Any]:
    """Global RNG states as tensors, ints and tuples only, so ``weights_only=True`` can read them back."""
    version, mt_state, gauss = random.getstate()
    np_kind, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "torch.cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "python": (version, tuple(mt_state), gauss),
        "numpy": (np_kind, torch.from_numpy(np_keys.astype(np.int64)), int(np_pos), int(np_has_gauss), float(np_gauss)),
    }


def _set_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    if states.get("torch.cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["torch.cuda"])
    version, mt_state, gauss = states["python"]
    random.setstate((version, tuple(mt_state), gauss))
    np_kind, np_keys, np_pos, np_has_gauss, np_gauss = states["numpy"]
    np.random.set_state((np_kind, np_keys.numpy().astype(np.uint32), np_pos, np_has_gauss, np_gauss))


# ---------------------- save on Ctrl-C or SIGTERM, and at the end of a run stopped between periodic checkpoints
class SaveOnInterrupt(Callback):
    """Write ``last.ckpt`` when the run is stopped with Ctrl-C (KeyboardInterrupt) or SIGTERM, or ends
    between periodic checkpoints (the Trainer's ``max_time``, a length that is not a multiple of the period).

    SIGTERM is how ``kill PID``, ``timeout``, ``docker stop`` and cluster schedulers stop a run, and the
    only way to stop one started in the background with ``&``: shells start background jobs with SIGINT
    ignored, so Ctrl-C's signal never reaches them (found when a zoo run sent SIGINT ran on, and the
    SIGTERM that stopped it lost the 1,600 iterations since its last periodic checkpoint). Lightning's
    own handler notes the signal and raises ``SIGTERMException`` at the end of the current batch, a
    whole training step, then calls ``on_exception``: this callback saves there.

    Periodic checkpoints come every N generator iterations; a Ctrl-C before the first one would
    lose the whole run. Lightning catches the KeyboardInterrupt inside ``fit``, calls every
    callback's ``on_exception`` and then exits with ``SystemExit(1)``; this callback saves there,
    through ``trainer.save_checkpoint`` (the strategy writes on rank 0 only, through the
    Trainer's CheckpointIO, so atomically with :class:`AtomicCheckpointIO`).

    The file is ``<dirpath>/last.ckpt``; ``dirpath`` defaults to the folder of the Trainer's
    checkpoint callback, else ``<default_root_dir>/checkpoints``, so ``--ckpt_path last`` finds it.
    Nothing is written when no optimizer step was taken, when a checkpoint callback already saved
    this step, or when the weights are no longer finite (the interrupt landed in a diverging batch:
    the last good checkpoint stays). The state is the one at the moment of the interrupt, possibly
    between a discriminator and a generator step: resuming from it continues the run, but not bit for
    bit like an uninterrupted one (periodic checkpoints are batch boundaries and are exact).
    Other exceptions (a DivergenceError, a crash) are left to the checkpoint callbacks.

    At the end of training Lightning writes ``last.ckpt`` only if it never wrote one, so a run stopped
    by ``max_time`` would resume from its last periodic checkpoint and lose the iterations since (found
    when a 90-minute zoo run stopped 448 iterations past its last one): ``on_train_end`` saves them.
    """

    def __init__(self, dirpath: Optional[str] = None, filename: str = "last.ckpt") -> None:
        self.dirpath = dirpath
        self.filename = filename
        self.saved_path: Optional[str] = None

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if isinstance(exception, KeyboardInterrupt):
            why = "Ctrl-C"
        elif isinstance(exception, SIGTERMException):
            why = "SIGTERM"
        else:
            return
        if self._worth_saving(trainer, pl_module):
            self._save(trainer, pl_module, "interrupted", why)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.checkpoint_callbacks and self._worth_saving(trainer, pl_module):
            self._save(trainer, pl_module, "stopped", "end of training")

    def _save(self, trainer: L.Trainer, pl_module: L.LightningModule, stopped: str, why: str) -> None:
        path = os.path.join(self._folder(trainer), self.filename)
        try:
            trainer.save_checkpoint(path)
        except Exception as error:  # noqa: BLE001 - the stop is what the user must see
            rank_zero_warn(f"{why}: could not save {path}: {error}")
            return
        self.saved_path = path
        iteration = getattr(pl_module, "generator_iterations", None)
        where = f"generator iteration {iteration}" if iteration is not None else f"step {trainer.global_step}"
        rank_zero_info(f"{stopped}: saved {path} ({where}); resume with --ckpt_path {path}")

    def _worth_saving(self, trainer: L.Trainer, pl_module: L.LightningModule) -> bool:
        if trainer.global_step == 0 or trainer.sanity_checking or trainer.fast_dev_run:
            return False
        if any(getattr(callback, "_last_global_step_saved", None) == trainer.global_step
               for callback in trainer.checkpoint_callbacks):
            return False  # a periodic checkpoint of this very step exists
        finite = all(bool(torch.isfinite(p).all()) for p in pl_module.parameters() if p.is_floating_point())
        if not finite:
            rank_zero_warn("the weights hold NaN/inf values; not saving them over the last good checkpoint")
        return finite

    def _folder(self, trainer: L.Trainer) -> str:
        if self.dirpath is not None:
            return str(self.dirpath)
        callback = trainer.checkpoint_callback
        if getattr(callback, "dirpath", None):
            return str(callback.dirpath)
        return os.path.join(trainer.default_root_dir, "checkpoints")
