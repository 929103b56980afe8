"""Reference features: computed once per (data set, split, count, extractor, resize), cached on disk.

The cache file name spells out the protocol, e.g.
``fashion-mnist-original_train_n60000_fashion-mnist-classifier-1a2b3c4d5e6f_resize-none.safetensors``,
and its metadata repeats it (plus the full extractor sha256), so a cached file is reused only
under exactly the protocol it was computed with. Features are stored in float32; FID's
float64 sums are recomputed from them in a fraction of a second.

When ``count`` is smaller than the split, the subset is a fixed random one
(``randperm(N, seed=0)[:count]``), never the first ``count`` images: ImageFolder copies are
sorted by class, so a prefix would miss classes.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional

import torch
from torch import Tensor

from ganzoo.metrics.datasets import load_images, to_signed_float
from ganzoo.metrics.extractors import FeatureExtractor
from ganzoo.metrics.cache import CACHE_ENV, default_cache_dir  # noqa: F401 (re-exported)
from ganzoo.metrics.progress import track
from ganzoo.metrics.protocol import Reference
from ganzoo.metrics.suite import world
from ganzoo.utils import atomic_write

SUBSET_SEED = 0
CACHE_FORMAT = 1


def cache_metadata(reference: Reference, variant: str, count: int, extractor: FeatureExtractor) -> dict[str, str]:
    return {
        "format": str(CACHE_FORMAT),
        "dataset": reference.dataset,
        "variant": variant,
        "split": reference.split,
        "count": str(count),
        "subset": "all" if reference.count is None else f"randperm(seed={SUBSET_SEED})[:{count}]",
        "features": extractor.name,
        "features_sha256": str(extractor.weights_sha256),
        "resize": extractor.resize,
        "quantize": "uint8" if extractor.quantize else "none",
        "feature_dim": str(extractor.num_features),
    }


def cache_file_name(metadata: dict[str, str]) -> str:
    sha = metadata["features_sha256"][:12] if metadata["features_sha256"] != "None" else "nosha"
    resize = metadata["resize"].replace(" ", "-").replace("/", "-")
    return (f"{metadata['dataset']}-{metadata['variant']}_{metadata['split']}_n{metadata['count']}_"
            f"{_file_name_part(metadata['features'])}-{sha}_resize-{resize}_q-{metadata['quantize']}.safetensors")


def _file_name_part(name: str) -> str:
    """An extractor name as it appears in cache file names (names may hold spaces and commas)."""
    return re.sub(r"[^A-Za-z0-9.-]+", "-", name).strip("-")


def select_subset(num_images: int, count: Optional[int]) -> Tensor:
    if count is None:
        return torch.arange(num_images)
    if count > num_images:
        raise ValueError(f"reference count {count} exceeds the {num_images} images of the split")
    return torch.randperm(num_images, generator=torch.Generator().manual_seed(SUBSET_SEED))[:count].sort().values


@torch.no_grad()
def extract_features(extractor: FeatureExtractor, images_uint8: Tensor, batch_size: int = 500,
                     device: Optional[torch.device | str] = None) -> Tensor:
    """Features of uint8 images (converted to [-1, 1]), computed batch by batch, on CPU at the end."""
    device = device or next(iter(extractor.parameters()), torch.empty(0)).device
    batches = images_uint8.split(batch_size)
    out = [extractor(to_signed_float(batch.to(device)))[0].cpu()
           for batch in track(batches, f"features of {len(images_uint8):,} reference images (cached after)", len(batches))]
    return torch.cat(out)


def reference_features(reference: Reference, extractor: FeatureExtractor, *, data_dir=None,
                       cache_dir: Optional[str | os.PathLike] = None, use_cache: bool = True,
                       batch_size: int = 500, device=None) -> tuple[Tensor, dict[str, str]]:
    """(features (count, d) float32 on CPU, metadata) of the reference, from the cache when possible.

    Under DDP only rank 0 computes and writes the cache; the others wait and read it.
    """
    from safetensors.torch import load_file, save_file

    rank, size = world()
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()

    def compute() -> tuple[Tensor, dict[str, str]]:
        image_set = load_images(reference.dataset, reference.split, data_dir)
        index = select_subset(len(image_set), reference.count)
        metadata = cache_metadata(reference, image_set.variant, len(index), extractor)
        return extract_features(extractor, image_set.images[index], batch_size, device), metadata

    if not use_cache:
        return compute()
    if rank == 0:
        found = _find_cached(cache_dir, reference, extractor)
        if found is None:
            features, metadata = compute()
            _write_atomically(cache_dir / cache_file_name(metadata), features, metadata, save_file)
    if size > 1:
        torch.distributed.barrier()
    found = _find_cached(cache_dir, reference, extractor)
    if found is None:
        raise FileNotFoundError(f"reference features were not written to {cache_dir} (is it shared and writable?)")
    path, metadata = found
    return load_file(str(path))["features"], metadata


def _find_cached(cache_dir: Path, reference: Reference, extractor: FeatureExtractor):
    """The cache file for this protocol, whatever the variant (decided by the data found)."""
    if not cache_dir.is_dir():
        return None
    from safetensors import safe_open

    count = "*" if reference.count is None else str(reference.count)
    pattern = f"{reference.dataset}-*_{reference.split}_n{count}_{_file_name_part(extractor.name)}-*.safetensors"
    for path in sorted(cache_dir.glob(pattern)):
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        expected = cache_metadata(reference, metadata.get("variant", ""), int(metadata.get("count", -1)), extractor)
        if metadata == expected and (reference.count is not None or metadata["subset"] == "all"):
            return path, metadata
    return None


def _write_atomically(path: Path, features: Tensor, metadata: dict[str, str], save_file) -> None:
    atomic_write(path, lambda tmp: save_file({"features": features.float().contiguous()}, tmp, metadata=metadata),
                     suffix=".safetensors")


def shard(tensor: Tensor) -> Tensor:
    """This process's contiguous block of ``tensor`` (rows). Blocks in rank order concatenate
    back to ``tensor``, so gathered states have the single-process order."""
    rank, size = world()
    if size == 1:
        return tensor
    if len(tensor) < size:
        raise ValueError(f"cannot split {len(tensor)} rows over {size} processes")
    bounds = [len(tensor) * r // size for r in range(size + 1)]
    return tensor[bounds[rank]:bounds[rank + 1]]


def describe_reference(reference: Reference, metadata: dict[str, str]) -> dict:
    return dict(reference_dataset=reference.dataset, reference_split=reference.split,
                reference_count=int(metadata["count"]), reference_variant=metadata["variant"])
