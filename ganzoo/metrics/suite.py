"""FID, KID, IS and precision/recall over one feature extractor, streaming and DDP-correct.

Images go through the extractor once; the features feed every requested metric:

* FID: torchmetrics ``FrechetInceptionDistance`` (float64 running sums, summed across
  processes), fed directly batch by batch, so memory does not grow with the number of samples.
* KID, IS: torchmetrics ``KernelInceptionDistance`` / ``InceptionScore``; precision/recall:
  ``PrecisionRecall``. These need every feature anyway. They are fed ONE tensor per process
  just before ``compute``: torchmetrics gathers a list state with one ``all_gather`` per list
  element, so processes holding different numbers of batches would issue different numbers of
  collectives and hang.

torchmetrics is used with a pass-through ``feature=`` module (features in, features out), so
its own Inception is never built and the traps of its image path (``normalize``, uint8
wrapping, antialiased resizing) do not apply. The suite is a plain object, not an
``nn.Module``: it never ends up in a LightningModule's ``state_dict``.
"""
from __future__ import annotations

import warnings
from typing import Optional, Sequence

import torch
from torch import Tensor, nn
from torchmetrics.image import FrechetInceptionDistance, InceptionScore, KernelInceptionDistance

from ganzoo.metrics.extractors import FeatureExtractor
from ganzoo.metrics.precision_recall import PrecisionRecall

METRICS = ("fid", "kid", "is", "pr")
# What each metric reports; "pr" gives two numbers.
RESULT_NAMES = {"fid": ("fid",), "kid": ("kid",), "is": ("is",), "pr": ("precision", "recall")}


class PassThrough(nn.Module):
    """The ``feature=`` module handed to torchmetrics: features are already extracted."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: Tensor) -> Tensor:
        return features


def parse_metrics(metrics: str | Sequence[str]) -> tuple[str, ...]:
    """"fid,kid" or ["fid", "kid"] -> ("fid", "kid"), refusing unknown names."""
    names = [m.strip().lower() for m in (metrics.split(",") if isinstance(metrics, str) else metrics) if m.strip()]
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        raise ValueError(f"unknown metric(s) {unknown or metrics!r}; choose from {', '.join(METRICS)}")
    return tuple(dict.fromkeys(names))


def world() -> tuple[int, int]:
    """(rank, world size) of the default process group, (0, 1) without one."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def global_sum(value: int, device: torch.device) -> int:
    rank, size = world()
    if size == 1:
        return value
    total = torch.tensor([value], dtype=torch.long, device=device)
    torch.distributed.all_reduce(total)
    return int(total.item())


class MetricSuite:
    """Accumulate real and fake features, then compute the requested metrics.

    Args:
        extractor: a ``FeatureExtractor`` (already on ``device``).
        metrics: subset of ("fid", "kid", "is", "pr").
        kid_subsets, kid_subset_size: KID's random subsets; ``kid_subset_size=None`` means
            min(1000, #real, #fake), decided at compute time and reported in the protocol options.
        is_splits: IS's number of splits (10 in the literature).
        pr_k: k of the k-NN balls of precision/recall (3 in the paper).
        seed: seeds the random subsets / permutations of KID and IS so results are reproducible.
    """

    def __init__(self, extractor: FeatureExtractor, metrics: Sequence[str] = ("fid",), *, kid_subsets: int = 100,
                 kid_subset_size: Optional[int] = None, is_splits: int = 10, pr_k: int = 3, seed: int = 0,
                 device: Optional[str | torch.device] = None) -> None:
        self.extractor = extractor
        self.metrics = parse_metrics(metrics)
        if "is" in self.metrics:
            extractor.require_logits()  # one line: why IS is unavailable with these weights, and the fix
        self.device = torch.device(device) if device is not None else _module_device(extractor)
        self.kid_subsets, self.kid_subset_size = int(kid_subsets), kid_subset_size
        self.is_splits, self.pr_k, self.seed = int(is_splits), int(pr_k), int(seed)
        d = extractor.num_features
        with warnings.catch_warnings():  # "will save all extracted features in buffer": known, intended
            warnings.simplefilter("ignore", UserWarning)
            self.fid = FrechetInceptionDistance(feature=PassThrough(d), reset_real_features=False) if "fid" in self.metrics else None
            self.kid = (KernelInceptionDistance(feature=PassThrough(d), subsets=self.kid_subsets, reset_real_features=False)
                        if "kid" in self.metrics else None)
            self.inception_score = (InceptionScore(feature=PassThrough(extractor.num_classes), splits=self.is_splits)
                                    if "is" in self.metrics else None)
        self.precision_recall = PrecisionRecall(k=self.pr_k) if "pr" in self.metrics else None
        for metric in self._torchmetrics():
            metric.to(self.device)
        self._pending_real: list[Tensor] = []
        self._pending_fake: list[Tensor] = []
        self._pending_logits: list[Tensor] = []
        self.num_real = 0  # on this process
        self.num_fake = 0

    # ------------------------------------------------------------------ feeding
    def update_real(self, images: Tensor) -> None:
        self.update_real_features(self.extractor(images.to(self.device))[0])

    def update_fake(self, images: Tensor) -> None:
        features, logits = self.extractor(images.to(self.device))
        self.update_fake_features(features, logits)

    def update_real_features(self, features: Tensor) -> None:
        features = self._check_features(features, "real")
        if self.fid is not None:
            self.fid.update(features.double(), real=True)
        if self.kid is not None or self.precision_recall is not None:
            self._pending_real.append(features)
        self.num_real += len(features)

    def update_fake_features(self, features: Tensor, logits: Optional[Tensor] = None) -> None:
        features = self._check_features(features, "fake")
        if self.fid is not None:
            self.fid.update(features.double(), real=False)
        if self.kid is not None or self.precision_recall is not None:
            self._pending_fake.append(features)
        if self.inception_score is not None:
            if logits is None:
                raise ValueError("IS needs the extractor's logits with the fake features")
            self._pending_logits.append(logits.to(self.device).float())
        self.num_fake += len(features)

    def _check_features(self, features: Tensor, which: str) -> Tensor:
        d = self.extractor.num_features
        if features.ndim != 2 or features.shape[1] != d:
            raise ValueError(f"{which} features must have shape (N, {d}), got {tuple(features.shape)}")
        if not bool(torch.isfinite(features).all()):
            raise ValueError(f"{which} features contain NaN/inf")
        return features.to(self.device).float()

    def _flush(self) -> None:
        """Hand KID / IS / PR one tensor per process (see the module docstring)."""
        for pending, real in ((self._pending_real, True), (self._pending_fake, False)):
            if pending:
                block = torch.cat(pending)
                for metric in (self.kid, self.precision_recall):
                    if metric is not None:
                        metric.update(block, real=real)
                pending.clear()
        if self._pending_logits:
            self.inception_score.update(torch.cat(self._pending_logits))
            self._pending_logits.clear()

    # ------------------------------------------------------------------ results
    def compute(self) -> dict[str, tuple[float, Optional[float]]]:
        """{name: (value, spread or None)}, with names from ``RESULT_NAMES``; every process
        gets the same numbers. The settings actually used are in ``self.options()``."""
        n_real = global_sum(self.num_real, self.device)
        n_fake = global_sum(self.num_fake, self.device)
        self._validate_counts(n_real, n_fake)
        self._flush()
        results: dict[str, tuple[float, Optional[float]]] = {}
        with torch.random.fork_rng(devices=[]):
            # KID's subsets and IS's permutation: each metric reseeds, so its number does not
            # depend on which other metrics were requested (their draws would shift the stream).
            if self.fid is not None:
                results["fid"] = (float(self.fid.compute()), None)
            if self.kid is not None:
                self.kid.subset_size = self._kid_subset_size(n_real, n_fake)
                torch.manual_seed(self.seed)
                mean, std = self.kid.compute()
                results["kid"] = (float(mean), _spread(std))
            if self.inception_score is not None:
                with warnings.catch_warnings():  # std of a single split: NaN, reported as None
                    warnings.simplefilter("ignore", UserWarning)
                    torch.manual_seed(self.seed)
                    mean, std = self.inception_score.compute()
                results["is"] = (float(mean), _spread(std))
            if self.precision_recall is not None:
                precision, recall = self.precision_recall.compute()
                results["precision"] = (float(precision), None)
                results["recall"] = (float(recall), None)
        self.last_counts = (n_real, n_fake)
        return results

    def _kid_subset_size(self, n_real: int, n_fake: int) -> int:
        return self.kid_subset_size if self.kid_subset_size is not None else min(1000, n_real, n_fake)

    def _validate_counts(self, n_real: int, n_fake: int) -> None:
        needs_real = [m for m in self.metrics if m != "is"]
        if needs_real and n_real == 0:
            raise ValueError(f"{', '.join(needs_real)} need reference (real) images; none were given")
        if n_fake == 0:
            raise ValueError("no fake images were given")
        d = self.extractor.num_features
        if self.fid is not None and min(n_real, n_fake) <= d:
            raise ValueError(
                f"FID needs more samples than feature dimensions to estimate a full-rank covariance: the "
                f"{self.extractor.name} features have d={d}, got {n_real} real and {n_fake} fake samples. "
                f"Use at least {d + 1} of each (10000+ for numbers worth comparing)."
            )
        if self.kid is not None:
            size = self._kid_subset_size(n_real, n_fake)
            if not 2 <= size <= min(n_real, n_fake):
                raise ValueError(f"KID subset size {size} must be between 2 and the smaller sample count "
                                 f"(real {n_real}, fake {n_fake})")
        if self.inception_score is not None and n_fake < self.is_splits:
            raise ValueError(f"IS with {self.is_splits} splits needs at least {self.is_splits} fakes, got {n_fake}")
        if self.precision_recall is not None and min(n_real, n_fake) <= self.pr_k:
            raise ValueError(f"precision/recall with k={self.pr_k} needs more than {self.pr_k} real and fake "
                             f"samples, got {n_real} real and {n_fake} fake")

    def options(self) -> dict:
        """The metric settings that belong in the protocol."""
        out: dict = {}
        if self.kid is not None:
            counts = getattr(self, "last_counts", None)
            size = self._kid_subset_size(*counts) if counts else self.kid_subset_size
            out.update(kid_subsets=self.kid_subsets, kid_subset_size=size, kid_kernel="polynomial degree 3, gamma=1/d, coef 1")
        if self.inception_score is not None:
            out.update(is_splits=self.is_splits)
        if self.precision_recall is not None:
            out.update(pr_k=self.pr_k)
        if self.kid is not None or self.inception_score is not None:
            out.update(metric_seed=self.seed)
        return out

    def reset_fakes(self) -> None:
        """Forget the fakes, keep the reference: for evaluating again during training."""
        for metric in self._torchmetrics():
            metric.reset()
        self._pending_fake.clear()
        self._pending_logits.clear()
        self.num_fake = 0

    def _torchmetrics(self):
        return [m for m in (self.fid, self.kid, self.inception_score, self.precision_recall) if m is not None]


def _spread(std: Tensor) -> Optional[float]:
    value = float(std)
    return value if value == value else None  # NaN (one split / one subset) -> None


def _module_device(module: nn.Module) -> torch.device:
    for tensor in list(module.parameters()) + list(module.buffers()):
        return tensor.device
    return torch.device("cpu")
