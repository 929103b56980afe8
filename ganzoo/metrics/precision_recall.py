"""Improved precision and recall (Kynkaanniemi et al., NeurIPS 2019), on any features.

Each set's manifold is approximated by the union of balls centred on its points, each ball's
radius being the distance to the point's k-th nearest neighbour in the same set (the point
itself excluded; the paper uses k = 3):

    precision = fraction of fake points inside the real manifold   (quality)
    recall    = fraction of real points inside the fake manifold   (coverage)

A point y is inside the manifold of X when ||y - x|| <= r_k(x) for at least one x in X.
Distances are computed in float64 with ``torch.cdist`` over row chunks, so memory stays at
``chunk x N`` whatever the set sizes.
"""
from __future__ import annotations

import hashlib

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from ganzoo.metrics.cache import default_cache_dir
from ganzoo.utils import atomic_write

DEFAULT_CHUNK = 1024


def knn_radii(features: Tensor, k: int = 3, chunk: int = DEFAULT_CHUNK) -> Tensor:
    """Distance from each row of ``features`` to its k-th nearest neighbour among the other rows."""
    n = features.shape[0]
    if not 1 <= k < n:
        raise ValueError(f"k-NN radii need 1 <= k < number of points, got k={k} with {n} points")
    features = features.double()
    radii = []
    for block in features.split(chunk):
        distances = torch.cdist(block, features)
        # The k+1 smallest include the point itself (distance 0): the (k+1)-th is the k-th neighbour.
        radii.append(distances.kthvalue(k + 1, dim=1).values)
    return torch.cat(radii)


def reference_knn_radii(features: Tensor, k: int = 3, chunk: int = DEFAULT_CHUNK, use_cache: bool = True) -> Tensor:
    """``knn_radii`` of a reference set, cached on disk under the features' sha256: the reference is
    fixed while fakes change, and its N^2 radii (minutes for 60k points) are the costly part."""
    if not use_cache:
        return knn_radii(features, k, chunk)
    host = features.detach().float().contiguous().cpu()
    digest = hashlib.sha256(host.numpy().tobytes()).hexdigest()[:32]
    path = default_cache_dir() / f"knn-radii_k{k}_n{host.shape[0]}_{digest}.pt"
    if path.is_file():
        try:
            radii = torch.load(path, map_location="cpu", weights_only=True)
            if isinstance(radii, Tensor) and radii.shape == (host.shape[0],):
                return radii.to(features.device)
        except Exception:  # noqa: BLE001 - a damaged cache entry is recomputed, never trusted
            pass
    radii = knn_radii(features, k, chunk)
    try:
        atomic_write(path, lambda tmp: torch.save(radii.cpu(), tmp), suffix=".pt")
    except OSError:
        pass  # a read-only cache only costs time
    return radii


def inside_manifold(queries: Tensor, support: Tensor, radii: Tensor, chunk: int = DEFAULT_CHUNK) -> Tensor:
    """Boolean (len(queries),): is each query within radii[j] of some support point j?"""
    support = support.double()
    inside = []
    for block in queries.double().split(chunk):
        inside.append((torch.cdist(block, support) <= radii[None, :]).any(dim=1))
    return torch.cat(inside)


def improved_precision_recall(real: Tensor, fake: Tensor, k: int = 3, chunk: int = DEFAULT_CHUNK,
                              real_radii: Tensor | None = None,
                              fake_radii: Tensor | None = None) -> tuple[float, float]:
    """(precision, recall) of ``fake`` features against ``real`` features, both (N, d).

    ``real_radii``: the real set's k-NN radii if already known (``knn_radii(real, k)``); the
    reference set is usually fixed while fakes change, and its radii are the costly part (N^2).
    ``fake_radii``: the same for the fakes, for a caller that also studies them.
    """
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"features must be (N, d) with the same d, got real {tuple(real.shape)}, fake {tuple(fake.shape)}")
    if real_radii is None:
        real_radii = knn_radii(real, k, chunk)
    precision = inside_manifold(fake, real, real_radii, chunk).double().mean().item()
    if fake_radii is None:
        fake_radii = knn_radii(fake, k, chunk)
    recall = inside_manifold(real, fake, fake_radii, chunk).double().mean().item()
    return precision, recall


class PrecisionRecall(Metric):
    """torchmetrics wrapper: feature states are gathered across processes (``dist_reduce_fx="cat"``)
    before ``compute``, so the k-NN balls are those of the full sets, as in one process.

    ``update(features, real)`` takes features, not images (ganzoo extracts once and feeds
    every metric). With ``reset_real_features=False`` the reference survives ``reset()``.
    """

    full_state_update = False
    higher_is_better = True

    def __init__(self, k: int = 3, chunk: int = DEFAULT_CHUNK, reset_real_features: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.k = int(k)
        self.chunk = int(chunk)
        self.reset_real_features = reset_real_features
        self.add_state("real_features", [], dist_reduce_fx="cat")
        self.add_state("fake_features", [], dist_reduce_fx="cat")
        self._real_radii: Tensor | None = None  # cached while the real features stay the same

    def update(self, features: Tensor, real: bool) -> None:
        if real:
            self._real_radii = None
        (self.real_features if real else self.fake_features).append(features)

    def compute(self) -> tuple[Tensor, Tensor]:
        real = dim_zero_cat(self.real_features)
        if self._real_radii is None or self._real_radii.shape[0] != real.shape[0]:
            self._real_radii = reference_knn_radii(real, self.k, self.chunk)
        precision, recall = improved_precision_recall(
            real, dim_zero_cat(self.fake_features), self.k, self.chunk, real_radii=self._real_radii
        )
        return torch.tensor(precision, dtype=torch.float64), torch.tensor(recall, dtype=torch.float64)

    def reset(self) -> None:
        if self.reset_real_features:
            self._real_radii = None
            super().reset()
            return
        real = self._defaults.pop("real_features")
        super().reset()
        self._defaults["real_features"] = real
