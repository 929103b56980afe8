"""LightningDataModules: toy distributions and image data sets, offline first.

Every train dataloader yields ``(x, y)``; ``batch_size`` is the GLOBAL batch (split over DDP
processes); the order of batches is a function of ``seed`` alone. See ``ganzoo.data.locate``
for where data are looked for.
"""
from ganzoo.data.base import GlobalBatchDataModule, GlobalBatchSampler, per_process_batch_size
from ganzoo.data.images import (
    CelebADataModule,
    CIFAR10DataModule,
    FashionMNISTDataModule,
    ImageDataModule,
    ImageFolderDataModule,
    MNISTDataModule,
)
from ganzoo.data.locate import (
    CIFAR10_CLASSES,
    GANZOO_DATA_ENV,
    DataNotFoundError,
    default_cache_dir,
    extract_cifar10_jpeg,
)
from ganzoo.data.toy import (
    GRID_STD,
    RING_STD,
    ToyDataModule,
    grid_means,
    ring_means,
    sample_mixture,
)

DATAMODULES: dict[str, type] = {
    "toy": ToyDataModule,
    "fashion-mnist": FashionMNISTDataModule,
    "mnist": MNISTDataModule,
    "cifar10": CIFAR10DataModule,
    "celeba": CelebADataModule,
    "imagefolder": ImageFolderDataModule,
}

__all__ = [
    "CIFAR10_CLASSES",
    "DATAMODULES",
    "GANZOO_DATA_ENV",
    "GRID_STD",
    "RING_STD",
    "CIFAR10DataModule",
    "CelebADataModule",
    "DataNotFoundError",
    "FashionMNISTDataModule",
    "GlobalBatchDataModule",
    "GlobalBatchSampler",
    "ImageDataModule",
    "ImageFolderDataModule",
    "MNISTDataModule",
    "ToyDataModule",
    "default_cache_dir",
    "extract_cifar10_jpeg",
    "grid_means",
    "per_process_batch_size",
    "ring_means",
    "sample_mixture",
]
