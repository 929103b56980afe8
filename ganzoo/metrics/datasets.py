"""Real images for reference statistics and for training the in-domain classifiers.

Everything is loaded once into a uint8 tensor (N, C, H, W): the data sets used here are small
(Fashion-MNIST 47 MB, CIFAR-10 150 MB), and a tensor is the simplest thing to shard across
processes, to cache features of, and to augment on a GPU. Finding the files (offline first,
with a message listing every place looked) is ``ganzoo.data.locate``'s job.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

from torch import Tensor

DATASETS = ("fashion-mnist", "cifar10")
SPLITS = ("train", "test")


@dataclass
class ImageSet:
    """``images``: uint8 (N, C, H, W); ``labels``: int64 (N,); ``variant`` says which pixels these
    are ("original", or "jpeg" for the JPEG re-encoding of CIFAR-10) because FIDs against
    different pixels are not comparable."""

    dataset: str
    split: str
    images: Tensor
    labels: Tensor
    variant: str
    source: str

    def __len__(self) -> int:
        return len(self.images)


def load_images(dataset: str, split: str, data_dir: Optional[str | os.PathLike] = None) -> ImageSet:
    """All images of ``dataset``'s ``split`` ("train" or "test") as uint8 (N, C, H, W)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if dataset == "fashion-mnist":
        return _fashion_mnist(split, data_dir)
    if dataset == "cifar10":
        return _cifar10(split, data_dir)
    raise ValueError(f"unknown reference data set {dataset!r}; known: {', '.join(DATASETS)}")


def _fashion_mnist(split: str, data_dir) -> ImageSet:
    from ganzoo.data import FashionMNISTDataModule  # here: the ganzoo.data package imports Lightning

    module = FashionMNISTDataModule(data_dir=data_dir)
    module.locate()
    images, labels = module.load_uint8(split)
    return ImageSet("fashion-mnist", split, images.contiguous(), labels.long(), "original", str(module.root))


def _cifar10(split: str, data_dir) -> ImageSet:
    from ganzoo.data import CIFAR10DataModule  # here: the ganzoo.data package imports Lightning

    module = CIFAR10DataModule(data_dir=data_dir)
    module.locate()
    images, labels = module.load_uint8(split, decode_files=True)
    suffixes = module.file_suffixes(split)
    variant = "original" if not suffixes else "jpeg" if suffixes <= {".jpg", ".jpeg"} else "imagefolder"
    return ImageSet("cifar10", split, images.contiguous(), labels.long(), variant, module.data_source)


def to_signed_float(images: Tensor) -> Tensor:
    """uint8 [0, 255] -> float32 [-1, 1], the range generators produce."""
    return images.float() / 127.5 - 1.0
