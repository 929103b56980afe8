"""Reliability for long GAN runs: atomic checkpoints, safe loading, exact resume, a divergence guard.

A GAN run is hours to days of compute. This module holds the pieces that make it survive
interruption and fail loudly (``docs/reliability.md`` lists each guarantee and its test):

* :class:`AtomicCheckpointIO` - a Lightning ``CheckpointIO`` that writes each checkpoint to a
  temporary file, fsyncs it and renames it over the old one, so a process killed during a save
  leaves the previous checkpoint intact; and that reads checkpoints with ``weights_only=True``
  only, so a checkpoint carrying a pickled code payload is refused, never executed.
  It also removes the temporary files that earlier killed saves left in its folders, and turns a
  full disk into one clear :class:`CheckpointSaveError`.
* :func:`load_checkpoint_safely` - the same safe reading for code outside the Trainer.
* :class:`SaveOnInterrupt` - writes ``last.ckpt`` when the run is stopped with Ctrl-C, so an
  interrupt before the first periodic checkpoint does not lose the run.
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

import errno
import os
import pickle
import random
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.utilities.rank_zero import rank_zero_info, rank_zero_warn
from torch import Tensor

__all__ = [
    "AtomicCheckpointIO",
    "CheckpointError",
    "CheckpointSaveError",
    "DivergenceError",
    "DivergenceGuard",
    "RNGStateCheckpoint",
    "SaveOnInterrupt",
    "UnsafeCheckpointError",
    "atomic_torch_save",
    "load_checkpoint_safely",
    "remove_stale_temp_files",
]


# ---------------------------------------------------------------------- errors
class CheckpointError(ValueError):
    """A checkpoint file that cannot be read as it is (missing, truncated, not a checkpoint)."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint whose pickle would import or call arbitrary Python objects when loaded."""


class CheckpointSaveError(OSError):
    """A checkpoint that could not be written (disk full); the previous one is left intact.

    An ``OSError`` (``errno`` is set) so code that handles I/O failures still catches it.
    """


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
    truncated or non-checkpoint file (a text file, a ``.safetensors`` export) raises
    :class:`CheckpointError`. Both name the file, in one line.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file at {path}")
    _check_checkpoint_header(path)
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        refused = _refused_global(str(error))
        if refused is None:  # a damaged pickle, not a refused object
            raise CheckpointError(f"{path} is not a readable checkpoint (corrupted?): {_first_line(error)}") from None
        # torch's message ends with advice to pass weights_only=False; that advice is exactly
        # what must not be followed for a file of unknown origin, so keep only the reason.
        name, reason = refused
        raise UnsafeCheckpointError(
            f"refusing to load {path}: its pickle refers to Python objects beyond tensors and plain "
            f"containers ({name}: {reason}). Loading it could run arbitrary code. ganzoo only reads checkpoints "
            "with weights_only=True; if you wrote this file yourself with extra objects, save plain "
            "tensors/dicts instead."
        ) from None
    except Exception as error:  # noqa: BLE001 - torch raises RuntimeError, KeyError, EOFError ... on bad files
        raise CheckpointError(
            f"{path} is not a readable checkpoint (truncated, corrupted or not written by torch.save): "
            f"{_first_line(error)}"
        ) from None
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"{path} holds a {type(checkpoint).__name__}, not a checkpoint dictionary")
    return checkpoint


def _check_checkpoint_header(path: Path) -> None:
    """torch.save writes a zip archive (or, legacy, a pickle). Refuse anything else by its first bytes:
    torch.load would read a .safetensors file as if it were a checkpoint, and fail on text with a bare KeyError."""
    with open(path, "rb") as handle:
        head = handle.read(16)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\x80"):
        return
    if not head:
        raise CheckpointError(f"{path} is empty: not a checkpoint (a save was interrupted? use an earlier checkpoint)")
    if len(head) > 8 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < path.stat().st_size:
        raise CheckpointError(
            f"{path} is a safetensors weights file (an export such as model.safetensors), not a training "
            "checkpoint: pass the run's .ckpt file (ganzoo.load reads a folder with model.safetensors + config.json)"
        )
    raise CheckpointError(
        f"{path} is not a checkpoint written by torch.save / Lightning (it starts with {head[:8]!r}); pass a .ckpt file"
    )


_REFUSED_GLOBAL = re.compile(r"GLOBAL\s+([\w.]+)")


def _refused_global(message: str) -> Optional[tuple[str, str]]:
    """(the global torch refused, its reason) from an UnpicklingError message, or None.

    torch <= 2.13 says "Unsupported global: GLOBAL io.open was not an allowed global by default";
    torch 2.14 says "Trying to load unsupported GLOBAL posix.system whose module posix is blocked".
    Keep that sentence, not torch's advice on how to allow-list it.
    """
    for line in message.splitlines():
        lower = line.lower()
        if "unsupported global" in lower or "not an allowed global" in lower or "unsupported operand" in lower:
            reason = line.strip().removeprefix("WeightsUnpickler error:").strip().split(". ")[0].rstrip(".")
            found = _REFUSED_GLOBAL.search(line)
            return (f"global {found.group(1)}" if found else "refused pickle operation"), reason
    return None


def _first_line(error: BaseException, limit: int = 300) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    text = text if len(text) <= limit else text[:limit] + "..."
    return f"{type(error).__name__}: {text}" if len(text) < 20 else text


# ---------------------------------------------------------------------- atomic saving
def atomic_torch_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` to ``path`` so that a crash at any moment leaves either the old file or the new one.

    Write a temporary file in the same folder (same file system, so the rename is atomic),
    flush and fsync it (the bytes are on disk before the name points at them), ``os.replace``
    it over ``path`` and fsync the folder (the rename itself survives a power cut). A full disk
    raises :class:`CheckpointSaveError` (one line, naming the path); the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_path(path)
    try:
        with open(tmp, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        tmp.unlink(missing_ok=True)
        code = _disk_full_errno(error)
        if code is not None:
            raise _disk_full_error(path, code) from None
        raise
    _fsync_directory(path.parent)


# ".<name>.<pid>.tmp": hidden, and the pid says whether its writer can still be alive.
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<pid>[0-9]+)\.tmp$")
STALE_TEMP_AGE_S = 3600.0  # a live save keeps touching its file; an hour untouched is abandoned


def _temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def remove_stale_temp_files(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files of saves that were killed (``.<name>.<pid>.tmp``, one checkpoint's
    size each, that would otherwise pile up). Only files of that exact naming are touched, and only
    when their writer is gone: another process's pid that no longer runs, or an hour without a write
    (pids are reused, e.g. after a container restart). Returns the removed paths."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:  # no folder yet: nothing left over
        return removed
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        if match is None or not entry.is_file(follow_symlinks=False):
            continue
        pid = int(match["pid"])
        try:
            age = time.time() - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        if pid == os.getpid() or (_pid_alive(pid) and age < STALE_TEMP_AGE_S):
            continue
        try:
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            pass
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    except (OSError, OverflowError):  # not a pid this system can have
        return False
    return True


def _disk_full_errno(error: BaseException) -> Optional[int]:
    """ENOSPC / EDQUOT anywhere in the exception chain (torch may wrap the write's OSError)."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return error.errno
        error = error.__cause__ or error.__context__
    return None


def _disk_full_error(path: Path, code: int) -> CheckpointSaveError:
    why = "no space left on device" if code == errno.ENOSPC else "no space left on device (disk quota exceeded)"
    error = CheckpointSaveError(
        f"{why} while saving checkpoint {path}: the partial file was removed and the previous checkpoint there, "
        f"if any, is intact. Free space on the disk holding {path.parent} (or save elsewhere) and resume from it."
    )
    error.errno = code
    return error


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
    Remote paths (``s3://`` ...) keep Lightning's fsspec writing. The first save into a folder
    removes the temporary files that killed saves left there (:func:`remove_stale_temp_files`).
    """

    def __init__(self) -> None:
        super().__init__()
        self._swept: set[str] = set()

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Optional[Any] = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} does not take storage_options, got {storage_options!r}")
        if not _is_local(path):
            return super().save_checkpoint(checkpoint, path)
        path = str(path).removeprefix("file://")
        folder = os.path.dirname(os.path.abspath(path))
        if folder not in self._swept:
            self._swept.add(folder)
            removed = remove_stale_temp_files(folder)
            if removed:
                rank_zero_info(f"removed {len(removed)} temporary file(s) of interrupted checkpoint saves in {folder}")
        atomic_torch_save(checkpoint, path)

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


# ---------------------------------------------------------------------- save on Ctrl-C
class SaveOnInterrupt(Callback):
    """Write ``last.ckpt`` when the run is stopped with Ctrl-C (KeyboardInterrupt).

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
    """

    def __init__(self, dirpath: Optional[str] = None, filename: str = "last.ckpt") -> None:
        self.dirpath = dirpath
        self.filename = filename
        self.saved_path: Optional[str] = None

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if not isinstance(exception, KeyboardInterrupt) or not self._worth_saving(trainer, pl_module):
            return
        path = os.path.join(self._folder(trainer), self.filename)
        try:
            trainer.save_checkpoint(path)
        except Exception as error:  # noqa: BLE001 - the interrupt is what the user must see
            rank_zero_warn(f"Ctrl-C: could not save {path}: {error}")
            return
        self.saved_path = path
        iteration = getattr(pl_module, "generator_iterations", None)
        where = f"generator iteration {iteration}" if iteration is not None else f"step {trainer.global_step}"
        rank_zero_info(f"interrupted: saved {path} ({where}); resume with --ckpt_path {path}")

    def _worth_saving(self, trainer: L.Trainer, pl_module: L.LightningModule) -> bool:
        if trainer.global_step == 0 or trainer.sanity_checking or trainer.fast_dev_run:
            return False
        if any(getattr(callback, "_last_global_step_saved", None) == trainer.global_step
               for callback in trainer.checkpoint_callbacks):
            return False  # a periodic checkpoint of this very step exists
        finite = all(bool(torch.isfinite(p).all()) for p in pl_module.parameters() if p.is_floating_point())
        if not finite:
            rank_zero_warn("Ctrl-C: the weights hold NaN/inf values; not saving them over the last good checkpoint")
        return finite

    def _folder(self, trainer: L.Trainer) -> str:
        if self.dirpath is not None:
            return str(self.dirpath)
        callback = trainer.checkpoint_callback
        if getattr(callback, "dirpath", None):
            return str(callback.dirpath)
        return os.path.join(trainer.default_root_dir, "checkpoints")


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

    Checks every term the GAN records with ``watch_term`` (``pl_module.watched_terms``:
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
