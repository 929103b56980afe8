"""Checkpoint files: atomic writes, safe reads (``docs/reliability.md`` lists each guarantee and its test).

* :class:`AtomicCheckpointIO` - a Lightning ``CheckpointIO`` that writes each checkpoint to a
  temporary file, fsyncs it and renames it over the old one, so a process killed during a save
  leaves the previous checkpoint intact; and that reads checkpoints with ``weights_only=True``
  only, so a checkpoint carrying a pickled code payload is refused, never executed.
  It also removes the temporary files that earlier killed saves left in its folders, and turns a
  full disk into one clear :class:`CheckpointSaveError`.
* :func:`load_checkpoint_safely` - the same safe reading for code outside the Trainer.

The callbacks that use them (save on Ctrl-C, RNG state, the divergence guard) are in
``ganzoo.callbacks``; ``ganzoo fit`` installs all of them (``ganzoo/training_cli.py``).
"""
from __future__ import annotations

import errno
import os
import pickle
import re
import time
from pathlib import Path
from typing import Any, Callable, Optional

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.utilities.rank_zero import rank_zero_info

__all__ = [
    "AtomicCheckpointIO",
    "CheckpointError",
    "CheckpointSaveError",
    "UnsafeCheckpointError",
    "atomic_torch_save",
    "is_local_path",
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


def is_local_path(path: Any) -> bool:
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
        if not is_local_path(path):
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
        if not is_local_path(path):
            return super().load_checkpoint(path, map_location=map_location, weights_only=True)
        return load_checkpoint_safely(str(path).removeprefix("file://"), map_location=map_location)
