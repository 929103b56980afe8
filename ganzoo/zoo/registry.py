"""The registry of published models: what each one is, where its weights live, how good it is.

Entries live in ``registry.json`` beside this file (written by the training/publishing
scripts from measured results, read here). Each entry pins its weights by sha256 and
carries its metrics *with their protocol* and the paper's numbers for comparison, like
torchvision's weight enums carry ``meta``.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

import torch

from ganzoo.nn import build_network
from ganzoo.utils import did_you_mean

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

    def details(self) -> str:
        """The entry as text, each metric with its protocol (``ganzoo info``, the lab's card fallback)."""
        lines = [self.name, "=" * len(self.name), self.description, "", f"variant: {self.variant}",
                 f"data: {self.dataset}", f"recipe: {self.recipe}"]
        lines += [f"training, {key}: {value}" for key, value in (self.training or {}).items()]
        lines.append("metrics (protocol: features, reference, fakes, seed):")
        for metric in self.metrics:
            p = metric.get("protocol", {})
            spread = f" +- {metric['std']:.4f}" if metric.get("std") is not None else ""
            lines.append(f"  {metric['name'].upper():<9} {metric['value']:.4f}{spread}  ({p.get('features')}; "
                         f"{p.get('reference_dataset')} {p.get('reference_split')} n={p.get('reference_count')}; "
                         f"{p.get('num_fakes')} fakes; seed {p.get('seed')})")
        lines.append(f"card: model_cards/{self.name}.md in the repository")
        return "\n".join(lines)

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
            "metric_values": [{"name": m["name"], "value": m["value"],
                               "features": m.get("protocol", {}).get("features", "?")} for m in self.metrics],
            "data": self.dataset.split(" (")[0].split(",")[0] + (" (JPEG)" if "JPEG" in self.dataset else ""),
            "resolution": self.resolution(),
        }

    def resolution(self) -> Optional[str]:
        """"CxHxW" of the samples, from the bundled config (None for Hub-only entries)."""
        config_file = self.bundled_weights.with_suffix(".json")
        if not (self.bundled and config_file.is_file()):
            return None
        spec = json.loads(config_file.read_text()).get("generator", {})
        with torch.device("meta"):  # the shape only: no memory, no initialisation cost
            generator = build_network(spec["name"], **spec.get("kwargs", {}))
        shape = list(generator.output_shape)
        if getattr(generator, "sample_crop", None):
            shape[-2:] = [generator.sample_crop] * 2
        return "x".join(str(side) for side in shape)


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


MAX_SHOWN_NAME = 100  # longer names are cut short in messages


class UnknownModelError(ValueError):
    def __init__(self, name: str, known: list[str]) -> None:
        hint = did_you_mean(name, known)
        if len(name) > MAX_SHOWN_NAME:
            # Echoing a 5,000-character string would bury the message.
            shown = (f"{name[:40]!r}... ({len(name):,} characters: too long for a model name or a Hub repo id, "
                     "and no such folder)")
        else:
            shown = repr(name)
        super().__init__(
            f"unknown model {shown}.{hint} Known models: {', '.join(sorted(known)) or '(none)'}. "
            "A local folder path or a Hugging Face repo id (org/name) also works."
        )
