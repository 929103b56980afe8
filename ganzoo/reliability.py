"""Reliability for long GAN runs: atomic checkpoints, safe loading, exact resume, a divergence guard.

A GAN run is hours to days of compute. This module holds the pieces that make it survive
interruption and fail loudly (``docs/reliability.md`` lists each guarantee and its test):

* :class:`AtomicCheckpointIO` - a Lightning ``CheckpointIO`` that writes each checkpoint to a
  temporary file, fsyncs it and renames it over the old one, so a process killed during a save
  leaves the previous checkpoint intact; and that reads checkpoints with ``weights_only=True``
  only, so a checkpoint carrying a pickled code payload is refused, never executed.
* :func:`load_checkpoint_safely` - the same safe reading for code outside the Trainer.
* :class:`RNGStateCheckpoint` - puts the global RNG states (torch, CUDA, numpy, Python) into every
  checkpoint and restores them on resume, so random draws that do not come from the loop's own
  seeded streams (instance noise, dropout) continue exactly where the interrupted run stopped.
* :class:`DivergenceGuard` - stops training within one batch when a loss or penalty term becomes
  NaN/inf (or, optionally, a gradient norm explodes), with a message naming the generator
  iteration, the term, its value and the last good checkpoint, which it keeps from being
  overwritten.

``ganzoo fit`` installs all of them by default (``ganzoo/training_cli.py``). The data order is
made resumable by ``ganzoo.data.base.ResumableDataLoader``.
"""
from __future__ import annotations

import os
import pickle
import random
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO
from torch import Tensor

__all__ = [
    "AtomicCheckpointIO",
    "CheckpointError",
    "DivergenceError",
    "DivergenceGuard",
    "RNGStateCheckpoint",
    "UnsafeCheckpointError",
    "atomic_torch_save",
    "load_checkpoint_safely",
]


# ---------------------------------------------------------------------- errors
class CheckpointError(ValueError):
    """A checkpoint file that cannot be read as it is (missing, truncated, not a checkpoint)."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint whose pickle would import or call arbitrary Python objects when loaded."""


class DivergenceError(RuntimeError):
    """Training produced a NaN/inf loss or penalty, or an exploding gradient norm.

    Attributes: ``generator_iteration``, ``term``, ``value`` and ``last_good_checkpoint``
    (a path, or None when no checkpoint had been saved yet).
    """

    def __init__(self, message: str, *, generator_iteration: int, term: str, value: float,
                 last_good_checkpoint: Optional[str]) -> None:
        super().__init__(message)
        self.generator_iteration = generator_iteration
        self.term = term
        self.value = value
        self.last_good_checkpoint = last_good_checkpoint


# ---------------------------------------------------------------------- safe loading
def load_checkpoint_safely(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """Read a ``torch.save`` checkpoint with ``weights_only=True``: tensors and plain containers only.

    A checkpoint whose pickle names any other Python object (the classic ``os.system`` payload,
    a class, a function) raises :class:`UnsafeCheckpointError` before anything is called; a
    truncated or non-checkpoint file raises :class:`CheckpointError`. Both name the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file at {path}")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        # torch's message ends with advice to pass weights_only=False; that advice is exactly
        # what must not be followed for a file of unknown origin, so keep only the reason.
        reason = _unpickling_reason(str(error))
        raise UnsafeCheckpointError(
            f"refusing to load {path}: its pickle refers to Python objects beyond tensors and plain "
            f"containers ({reason}). Loading it could run arbitrary code. ganzoo only reads checkpoints "
            "with weights_only=True; if you wrote this file yourself with extra objects, save plain "
            "tensors/dicts instead."
        ) from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as error:
        raise CheckpointError(
            f"{path} is not a readable checkpoint (truncated, corrupted or not written by torch.save): {error}"
        ) from None
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"{path} holds a {type(checkpoint).__name__}, not a checkpoint dictionary")
    return checkpoint


def _unpickling_reason(message: str) -> str:
    # Keep torch's first sentence naming the offending global ("Unsupported global: GLOBAL os.system was
    # not an allowed global by default"), not its advice on how to allow-list it.
    for line in message.splitlines():
        if "Unsupported global" in line or "Unsupported operand" in line or "not an allowed global" in line:
            return line.strip().removeprefix("WeightsUnpickler error:").strip().split(". ")[0].rstrip(".")
    return message.strip().splitlines()[0] if message.strip() else "unpickling error"


# ---------------------------------------------------------------------- atomic saving
def atomic_torch_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` to ``path`` so that a crash at any moment leaves either the old file or the new one.

    Write a temporary file in the same folder (same file system, so the rename is atomic),
    flush and fsync it (the bytes are on disk before the name points at them), ``os.replace``
    it over ``path`` and fsync the folder (the rename itself survives a power cut).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open folders; the rename is still atomic there
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _is_local(path: Any) -> bool:
    return "://" not in str(path) or str(path).startswith("file://")


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning checkpoint I/O: atomic local writes, ``weights_only=True`` reads.

    Install with ``Trainer(plugins=[AtomicCheckpointIO()])`` (``ganzoo fit`` does by default).
    Remote paths (``s3://`` ...) keep Lightning's fsspec writing.
    """

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Optional[Any] = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} does not take storage_options, got {storage_options!r}")
        if not _is_local(path):
            return super().save_checkpoint(checkpoint, path)
        atomic_torch_save(checkpoint, str(path).removeprefix("file://"))

    def load_checkpoint(self, path, map_location: Optional[Callable] = lambda storage, loc: storage,
                        weights_only: Optional[bool] = None) -> dict[str, Any]:
        # weights_only is forced: a resumed run must never execute code found in a checkpoint.
        if not _is_local(path):
            return super().load_checkpoint(path, map_location=map_location, weights_only=True)
        return load_checkpoint_safely(str(path).removeprefix("file://"), map_location=map_location)


# ---------------------------------------------------------------------- RNG state
class RNGStateCheckpoint(Callback):
    """Saves the global RNG states in every checkpoint and restores them when training resumes.

    The loop's latents come from its own per-step seeded generators, which survive resume by
    construction; anything drawing from the *global* RNGs (instance noise, dropout, user code)
    needs this callback to continue the same stream. The states are restored in
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


# ---------------------------------------------------------------------- divergence guard
@dataclass
class _BatchRecord:
    """The watched values of one batch, kept on the device until the next check."""

    generator_iteration: int
    discriminator_step: int
    names: list[str]
    limits: list[float]  # inf for loss terms (finiteness only), max_grad_norm for gradient norms
    values: Tensor


class DivergenceGuard(Callback):
    """Stop the run with a :class:`DivergenceError` when training diverges.

    Checks every term the GAN records with ``check_finite`` (``pl_module.watched_terms``:
    discriminator and generator losses, gradient / R1 / R2 penalties, drift) and, when
    ``max_grad_norm`` is set, the total gradient norm of each optimizer step (computed in
    ``on_before_optimizer_step``, i.e. after AMP unscaling and DDP gradient averaging).

    Cost: the values stay on the device; one host-device sync per check moves them all to the
    host at once. ``check_every_n_batches`` > 1 batches the syncs; every pending value is still
    checked (nothing is skipped) and always before a checkpoint is written, so a diverged state
    never reaches disk. The error names the generator iteration, the term, its value and the
    last good checkpoint; after a divergence, ``save_on_exception`` of the run's
    ``ModelCheckpoint`` callbacks is switched off so that checkpoint is not overwritten.

    Args:
        max_grad_norm: flag a total gradient norm above this (None: gradients are not checked).
        check_every_n_batches: batches between host syncs (1: stop within the diverging batch).
    """

    def __init__(self, max_grad_norm: Optional[float] = None, check_every_n_batches: int = 1) -> None:
        if max_grad_norm is not None and not (isinstance(max_grad_norm, (int, float)) and max_grad_norm > 0):
            raise ValueError(f"max_grad_norm={max_grad_norm!r}: must be a number > 0 or None (gradients unchecked)")
        if not isinstance(check_every_n_batches, int) or check_every_n_batches < 1:
            raise ValueError(f"check_every_n_batches={check_every_n_batches!r}: must be an integer >= 1")
        self.max_grad_norm = None if max_grad_norm is None else float(max_grad_norm)
        self.check_every_n_batches = check_every_n_batches
        self._pending: list[_BatchRecord] = []
        self._grad_norms: dict[str, Tensor] = {}
        self._optimizer_roles: dict[int, str] = {}
        self._batch_position = (0, 0)  # (generator iteration, discriminator step) this batch works on

    # ---- collecting (no host sync)
    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx) -> None:
        # A batch works on generator iteration (completed + 1), whether it is one of the n_critic
        # discriminator-only batches or the one that ends with the generator update.
        self._batch_position = (int(getattr(pl_module, "generator_iterations", trainer.global_step)) + 1,
                                int(getattr(pl_module, "discriminator_steps", batch_idx)) + 1)

    def on_before_optimizer_step(self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer) -> None:
        if self.max_grad_norm is None:
            return
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if grads:
            role = self._role(trainer, pl_module, optimizer)
            self._grad_norms[f"{role} gradient norm"] = torch.nn.utils.get_total_norm(grads)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch, batch_idx) -> None:
        terms = dict(getattr(pl_module, "watched_terms", {}) or {})
        limits = [float("inf")] * len(terms)
        terms.update(self._grad_norms)
        limits += [self.max_grad_norm] * len(self._grad_norms)  # type: ignore[list-item]
        self._grad_norms = {}
        if terms:
            # sum() of a scalar is itself; of a larger tensor it is non-finite if any entry is.
            values = torch.stack([value.detach().float().sum() for value in terms.values()])
            iteration, step = self._batch_position
            self._pending.append(_BatchRecord(generator_iteration=iteration, discriminator_step=step,
                                              names=list(terms), limits=limits, values=values))
        if len(self._pending) >= self.check_every_n_batches:
            self.check(trainer)

    # ---- checking (one host sync)
    def check(self, trainer: L.Trainer) -> None:
        """Check every pending value now; raise :class:`DivergenceError` on the first bad one."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        values = torch.cat([record.values for record in pending]).cpu()  # the one host sync
        limits = torch.tensor([limit for record in pending for limit in record.limits])
        if bool(torch.isfinite(values).all()) and bool((values <= limits).all()):
            return
        offset = 0
        for record in pending:
            for name, limit in zip(record.names, record.limits):
                value = float(values[offset])
                offset += 1
                if not (value == value and abs(value) != float("inf") and value <= limit):  # NaN != NaN
                    raise self._error(trainer, record, name, value, limit)

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
        # With check_every_n_batches > 1 some values may be unchecked: check them before the
        # checkpoint is written (raising here aborts the save), so no diverged state is saved.
        self.check(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.check(trainer)

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if isinstance(exception, DivergenceError):
            # Checkpoint callbacks come after this one; keep them from saving the diverged weights.
            for callback in trainer.checkpoint_callbacks:
                if isinstance(callback, ModelCheckpoint):
                    callback.save_on_exception = False
        self._pending, self._grad_norms = [], {}

    # ---- helpers
    def _role(self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer) -> str:
        key = id(optimizer)
        if key not in self._optimizer_roles:
            first = next((p for group in optimizer.param_groups for p in group["params"]), None)
            role = f"optimizer {len(self._optimizer_roles)}"
            for name in ("generator", "discriminator"):
                network = getattr(pl_module, name, None)
                if network is not None and first is not None and any(p is first for p in network.parameters()):
                    role = name
            self._optimizer_roles[key] = role
        return self._optimizer_roles[key]

    def _error(self, trainer: L.Trainer, record: _BatchRecord, term: str, value: float, limit: float) -> DivergenceError:
        checkpoint = last_good_checkpoint(trainer)
        problem = f"{term} = {value:g}" + (f" > max_grad_norm = {limit:g}" if limit != float("inf") else "")
        where = ("no checkpoint was saved before the divergence" if checkpoint is None else
                 f"the last good checkpoint is {checkpoint} (left as it was; resume from it, e.g. with "
                 f"--ckpt_path {checkpoint}, after lowering the learning rates or strengthening the regularization)")
        message = (f"training diverged in generator iteration {record.generator_iteration} "
                   f"(discriminator step {record.discriminator_step}): {problem}. No checkpoint is written "
                   f"after this point; {where}.")
        return DivergenceError(message, generator_iteration=record.generator_iteration, term=term, value=value,
                               last_good_checkpoint=checkpoint)


def last_good_checkpoint(trainer: L.Trainer) -> Optional[str]:
    """The most recently written checkpoint of the trainer's ModelCheckpoint callbacks, or None."""
    candidates = []
    for callback in trainer.checkpoint_callbacks:
        for attribute in ("last_model_path", "best_model_path"):
            path = getattr(callback, attribute, "")
            if path and _is_local(path) and os.path.isfile(path):
                candidates.append(path)
    return max(candidates, key=os.path.getmtime) if candidates else None
