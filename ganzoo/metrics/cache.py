"""Where metric computations keep what is costly and fixed: reference features, k-NN radii."""
from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "GANZOO_METRICS_CACHE"


def default_cache_dir() -> Path:
    """``$GANZOO_METRICS_CACHE``, else ``$XDG_CACHE_HOME/ganzoo/reference_stats`` (~/.cache/...)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache_home) / "ganzoo" / "reference_stats"

