"""Small helpers used across the package: one copy each."""
from __future__ import annotations

import difflib
import hashlib
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import torch


def did_you_mean(name: object, known: Iterable[str], cutoff: float = 0.5, quote: bool = False) -> str:
    """" Did you mean: a, b?" for the known names closest to ``name`` ("" when none is close)."""
    close = difflib.get_close_matches(str(name), list(known), n=3, cutoff=cutoff)
    shown = [repr(c) if quote else c for c in close]
    return f" Did you mean: {', '.join(shown)}?" if close else ""


def unknown_name_message(kind: str, name: object, known: Iterable[str]) -> str:
    """The one-line error for a name that is not among ``known``, with the closest suggestions."""
    known = list(known)
    return f"unknown {kind} {name!r}.{did_you_mean(name, known, quote=True)} Known: {', '.join(known) or '(none)'}"


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write(path: str | os.PathLike, write, suffix: str = ".tmp") -> None:
    """``write(tmp_path)`` into a fresh temporary file beside ``path``, flushed to disk, then renamed
    over ``path``: readers never see a half-written file, and two processes writing the same entry
    do not corrupt it. The temporary file is removed if anything fails."""
    import tempfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextmanager
def parameters_set_to(parameters: Sequence[torch.nn.Parameter], values: Sequence[torch.Tensor]) -> Iterator[None]:
    """Inside the block ``parameters`` hold ``values``; on exit their own values come back, in place
    (the same tensors, so optimizer state stays attached). Backward passes that need the temporary
    values must run inside the block: the restore bumps the parameters' version counters, so autograd
    refuses a later backward instead of mixing values."""
    saved = [p.detach().clone() for p in parameters]
    with torch.no_grad():
        for parameter, value in zip(parameters, values):
            parameter.copy_(value)
    try:
        yield
    finally:
        with torch.no_grad():
            for parameter, value in zip(parameters, saved):
                parameter.copy_(value)
