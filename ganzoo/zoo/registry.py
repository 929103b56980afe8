"""The registry of published models: what each one is, where its weights live, how good it is.

Entries live in ``registry.json`` beside this file (written by the training/publishing
scripts from measured results, read here). Each entry pins its weights by sha256 and
carries its metrics *with their protocol* and the paper's numbers for comparison, like
torchvision's weight enums carry ``meta``.
"""
from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

REGISTRY_PATH = Path(__file__).with_name("registry.json")
BUNDLED_DIR = Path(__file__).with_name("weights")
# Names become file names under BUNDLED_DIR: no separators, no "..", nothing hidden.
MODEL_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")


@dataclass(frozen=True)
class ModelEntry:
    name: str
    variant: str
    dataset: str
    description: str
    sha256: str
    hf_repo_id: Optional[str] = None
    revision: Optional[str] = None
    bundled: bool = False
    kind: str = "generator"  # or "gan" (G + EMA G + D, fine-tunable)
    dtype: str = "float32"
    num_params_generator: Optional[int] = None
    recipe: Optional[str] = None
    training: dict[str, Any] = field(default_factory=dict)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    paper: list[dict[str, Any]] = field(default_factory=list)
    license: str = "Apache-2.0"
    sample_grid: Optional[str] = None

    def __post_init__(self) -> None:
        if not MODEL_NAME_PATTERN.match(self.name) or ".." in self.name:
            raise ValueError(
                f"invalid registry model name {self.name!r}: use lower-case letters, digits, '-', '_' and '.' "
                "(no path separators, no '..'); it names the bundled weights file"
            )

    @property
    def bundled_weights(self) -> Path:
        return BUNDLED_DIR / f"{self.name}.safetensors"

    @property
    def bundled_config(self) -> Path:
        return BUNDLED_DIR / f"{self.name}.json"

    def summary(self) -> dict[str, Any]:
        """One row for ``list_models()`` / ``ganzoo list``."""
        size_mb = self.bundled_weights.stat().st_size / 2**20 if self.bundled and self.bundled_weights.exists() else None
        return {
            "name": self.name,
            "variant": self.variant,
            "dataset": self.dataset,
            "bundled": self.bundled,
            "size_mb": round(size_mb, 2) if size_mb is not None else None,
            "metrics": [
                f"{m['name'].upper()} {m['value']:.2f} ({m.get('protocol', {}).get('features', '?')})"
                for m in self.metrics
            ],
        }


@lru_cache(maxsize=1)
def registry() -> dict[str, ModelEntry]:
    if not REGISTRY_PATH.exists():
        return {}
    raw = json.loads(REGISTRY_PATH.read_text())
    return {name: ModelEntry(name=name, **fields) for name, fields in raw.items()}


def get_entry(name: str) -> ModelEntry:
    entries = registry()
    if name not in entries:
        raise UnknownModelError(name, list(entries))
    return entries[name]


def list_models() -> list[dict[str, Any]]:
    """Names, data sets, measured metrics (with their feature extractor) and sizes."""
    return [entry.summary() for entry in registry().values()]


class UnknownModelError(ValueError):
    def __init__(self, name: str, known: list[str]) -> None:
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        super().__init__(
            f"unknown model {name!r}.{hint} Known models: {', '.join(sorted(known)) or '(none)'}. "
            "A local folder path or a Hugging Face repo id (org/name) also works."
        )
