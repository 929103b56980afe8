"""Where metric computations keep what is costly and fixed: reference features, k-NN radii."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

CACHE_ENV = "GANZOO_METRICS_CACHE"


def default_cache_dir() -> Path:
    """``$GANZOO_METRICS_CACHE``, else ``$XDG_CACHE_HOME/ganzoo/reference_stats`` (~/.cache/...)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache_home) / "ganzoo" / "reference_stats"


def write_atomically(path: Path, write: Callable[[str], None], suffix: str) -> None:
    """``write(tmp_path)`` then rename over ``path``: readers never see a half-written file, and
    processes computing the same entry at once do not corrupt it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=suffix)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
