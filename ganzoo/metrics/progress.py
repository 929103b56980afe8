"""Progress bars for long metric work (reference features, fakes), shown by the command line only.

Library calls stay silent; ``ganzoo eval`` / ``bench`` turn the bars on with ``shown()``. Bars go
to stderr, so ``--json`` output on stdout stays clean, and disappear when done.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterable, Iterator, Optional, TypeVar

T = TypeVar("T")
_enabled = False


@contextmanager
def shown() -> Iterator[None]:
    global _enabled
    previous, _enabled = _enabled, True
    try:
        yield
    finally:
        _enabled = previous


def track(items: Iterable[T], description: str, total: Optional[int] = None) -> Iterable[T]:
    if not _enabled:
        return items
    from rich.console import Console
    from rich.progress import track as rich_track

    return rich_track(items, description=description, total=total, console=Console(stderr=True), transient=True)
