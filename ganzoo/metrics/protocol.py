"""Every number ganzoo reports carries the protocol it was measured under.

FID and friends are biased by the number of samples, depend on the reference split, on the
feature extractor and its weights, and on how images are resized: two numbers are comparable
only when all of that matches. ``Protocol`` records it, ``MetricResult`` pairs it with a value.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Optional

# Fakes are drawn in seeded chunks of this many images (see ganzoo.metrics.evaluate).
DEFAULT_SAMPLE_CHUNK = 500


@dataclass(frozen=True)
class Reference:
    """Which real images the fakes are compared with: ``count`` images (None = all) of a split.

    Parsed from the command line as ``DATASET[:SPLIT[:COUNT]]``, e.g. ``fashion-mnist:train:10000``.
    """

    dataset: str
    split: str = "train"
    count: Optional[int] = None

    def __post_init__(self) -> None:
        if self.split not in ("train", "test"):
            raise ValueError(f"reference split must be 'train' or 'test', got {self.split!r}")
        if self.count is not None and self.count < 2:
            raise ValueError(f"reference count must be >= 2 (or None for the whole split), got {self.count}")

    @classmethod
    def parse(cls, text: str) -> "Reference":
        parts = text.split(":")
        if not 1 <= len(parts) <= 3 or not parts[0]:
            raise ValueError(f"reference must look like DATASET[:SPLIT[:COUNT]], got {text!r}")
        count = None
        if len(parts) == 3:
            try:
                count = int(parts[2])
            except ValueError:
                raise ValueError(f"reference count must be an integer, got {parts[2]!r} in {text!r}") from None
        return cls(parts[0], parts[1] if len(parts) > 1 else "train", count)


@dataclass(frozen=True)
class Protocol:
    """How a metric was measured. Two results are comparable iff their protocols are equal.

    The field names are flat (``reference_dataset``, ``num_fakes``, ...) because registry
    entries and model cards store ``protocol`` as a flat JSON object.

    Attributes:
        features: feature extractor name (``fashion-mnist-classifier``, ``inception-v3-tf``, ...).
        feature_dim: dimension of the features FID/KID/PR are computed on.
        reference_dataset, reference_split, reference_count: the real images compared with
            (``reference_dataset="images"`` for a caller-provided tensor).
        reference_variant: which pixels ("original", or "jpeg" for the JPEG re-encoding of CIFAR-10).
        num_fakes: number of generated (or second-set) images.
        seed: seed of the fakes; ``sampling`` says how it is used.
        resize: how images reach the extractor's input size.
        features_sha256: sha256 of the extractor's weights file (None when unknown).
        channels: how channels are adapted (e.g. grey repeated to RGB for Inception).
        quantize: fakes are rounded to the 8-bit grid real images live on ("uint8") or not ("none").
        options: metric-specific settings (KID subsets, IS splits, k of precision/recall, ...).
    """

    features: str
    feature_dim: int
    reference_dataset: str
    reference_split: Optional[str]
    reference_count: int
    num_fakes: int
    seed: Optional[int]
    resize: str
    reference_variant: str = "original"
    features_sha256: Optional[str] = None
    sampling: str = ""
    channels: str = "as is"
    quantize: str = "uint8"
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """One line for tables and logs."""
        reference = f"{self.reference_dataset}/{self.reference_split} n={self.reference_count}"
        if self.reference_variant != "original":
            reference += f" ({self.reference_variant})"
        return (f"features={self.features} ref={reference} fakes={self.num_fakes} seed={self.seed} "
                f"resize={self.resize}")


@dataclass(frozen=True)
class MetricResult:
    """One measured number with its protocol. ``std`` is the spread over IS splits / KID subsets."""

    name: str
    value: float
    protocol: Protocol
    std: Optional[float] = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "value": self.value}
        if self.std is not None:
            out["std"] = self.std
        out["protocol"] = self.protocol.to_dict()
        return out

    def __str__(self) -> str:
        spread = f" +- {self.std:.4g}" if self.std is not None else ""
        return f"{self.name} = {self.value:.4f}{spread}  [{self.protocol.describe()}]"
