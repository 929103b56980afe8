"""Real images for reference statistics and for training the in-domain classifiers.

Everything is loaded once into a uint8 tensor (N, C, H, W): the data sets used here are small
(Fashion-MNIST 47 MB, CIFAR-10 150 MB), and a tensor is the simplest thing to shard across
processes, to cache features of, and to augment on a GPU. Finding the files (offline first,
with a message listing every place looked) is ``ganzoo.data.locate``'s job.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
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
    from torchvision.datasets import FashionMNIST

    from ganzoo.data.locate import locate_mnist_like  # here: the ganzoo.data package imports Lightning

    root = locate_mnist_like("FashionMNIST", data_dir, download=False)
    data = FashionMNIST(str(root), train=split == "train", download=False)
    images = data.data.unsqueeze(1).contiguous()  # (N, 1, 28, 28) uint8
    return ImageSet("fashion-mnist", split, images, data.targets.long(), "original", str(root))


def _cifar10(split: str, data_dir) -> ImageSet:
    from ganzoo.data.locate import locate_cifar10  # here: the ganzoo.data package imports Lightning

    location = locate_cifar10(data_dir, download=False)
    if location.kind == "torchvision":
        from torchvision.datasets import CIFAR10

        data = CIFAR10(str(location.path), train=split == "train", download=False)
        images = torch.from_numpy(data.data).permute(0, 3, 1, 2).contiguous()
        return ImageSet("cifar10", split, images, torch.tensor(data.targets), "original", location.describe())
    images, labels, suffixes = _decode_image_folder(Path(location.path) / split)
    variant = "jpeg" if suffixes <= {".jpg", ".jpeg"} else "imagefolder"
    return ImageSet("cifar10", split, images, labels, variant, location.describe())


def _decode_image_folder(folder: Path) -> tuple[Tensor, Tensor, set[str]]:
    """Decode ``folder/<class>/*`` (classes in sorted order, like ImageFolder) into RGB uint8."""
    from PIL import Image

    classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if not classes:
        raise FileNotFoundError(f"{folder} has no class sub-folders")
    arrays, labels, suffixes = [], [], set()
    for label, name in enumerate(classes):
        for path in sorted((folder / name).iterdir()):
            suffixes.add(path.suffix.lower())
            with Image.open(path) as image:
                arrays.append(np.asarray(image.convert("RGB")))
            labels.append(label)
    images = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    return images, torch.tensor(labels, dtype=torch.long), suffixes


def to_signed_float(images: Tensor) -> Tensor:
    """uint8 [0, 255] -> float32 [-1, 1], the range generators produce."""
    return images.float() / 127.5 - 1.0
