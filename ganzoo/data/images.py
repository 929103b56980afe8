"""Image datamodules sharing one base: Fashion-MNIST, MNIST, CIFAR-10, CelebA, any image folder.

Every train batch is ``(x, y)``: ``x`` float (B, C, H, W) in [-1, 1] (``(pixel / 255 - 0.5) / 0.5``,
so 0 -> -1 and 255 -> 1 exactly), ``y`` the (B,) int64 class label (0 where a data set has no
classes: CelebA, a flat folder).

The pipeline per image is deterministic: convert to the requested channels (grey <-> RGB),
bring to the requested resolution, scale to [-1, 1]. Horizontal flips are not random: with
``hflip=True`` the data set is doubled with mirrored copies (index ``i + N`` is image ``i``
flipped), as StyleGAN2-ADA's ``--mirror``, so the flips are as reproducible as the order and
an epoch shows every image once each way round.

Data sets that torchvision holds in memory as uint8 arrays (MNIST, Fashion-MNIST, CIFAR-10's
pickled batches) skip PIL when no resampling is needed (native size, or ``"pad"``): they are
converted once to uint8 (N, C, H, W) at the output size and each batch is scaled to [-1, 1]
in one tensor op (:class:`InMemoryImages`), giving the same values as the PIL pipeline.
``in_memory=True`` does the same for image files (decoded once in ``setup``).

Resolution: ``resize_mode="resize"`` scales the shorter side to ``resolution`` (bilinear,
antialiased) and centre-crops a square; ``"pad"`` adds black borders (e.g. 28 -> 32 pads 2 pixels
each side, as create_mnist in the ProGAN/StyleGAN dataset_tool.py does, to feed 32x32 networks; the
digits/garments keep their exact pixels). (Fashion-)MNIST defaults to "pad", the rest to "resize".

Where the data come from is recorded in ``data_source`` after ``setup`` (e.g.
``"imagefolder:/data/cifar10-jpeg"``): metrics must carry it, since a JPEG re-encoded
CIFAR-10 is not the original pixels.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError
from torch import Tensor
from torch.utils.data import DataLoader, Dataset
from torchvision import datasets, transforms
from torchvision.datasets.folder import IMG_EXTENSIONS

from ganzoo.data.base import BatchFetchDataset, GlobalBatchDataModule
from ganzoo.data.locate import (
    CIFAR10_CLASSES,
    DataNotFoundError,
    Location,
    locate_celeba,
    locate_cifar10,
    locate_mnist_like,
)

RESIZE_MODES = ("resize", "pad")


# --------------------------------------------------------------------------- datasets


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMG_EXTENSIONS


def open_image(path: str | os.PathLike) -> Image.Image:
    """Decode an image file, or raise a ValueError naming it (a corrupt file, or not an image at all)."""
    try:
        with Image.open(path) as image:
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ValueError(f"{path} is not a readable image ({error}); remove or replace it") from None
    return image


def open_image_rgb(path: str) -> Image.Image:
    """The loader given to torchvision's ImageFolder: its default, with an error that names the file."""
    return open_image(path).convert("RGB")


def _warn_about_skipped_files(folder: Path, files) -> None:
    skipped = sorted(str(p.relative_to(folder)) for p in files if p.is_file() and not _is_image(p))
    if skipped:
        warnings.warn(
            f"{folder}: skipping {len(skipped)} file(s) that are not images (extensions {', '.join(IMG_EXTENSIONS)}): "
            f"{', '.join(skipped[:5])}{', ...' if len(skipped) > 5 else ''}",
            stacklevel=3,
        )


class ConvertMode:
    """``image.convert(mode)`` as a picklable transform (worker processes may be spawned)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def __call__(self, image: Image.Image) -> Image.Image:
        return image.convert(self.mode)

    def __repr__(self) -> str:
        return f"ConvertMode({self.mode!r})"


class FlatImageFolder(Dataset):
    """Every image directly in ``root`` (sorted by name), label 0."""

    def __init__(self, root: str | os.PathLike, transform: Callable | None = None) -> None:
        self.root = Path(root)
        self.files = sorted(p for p in self.root.iterdir() if _is_image(p))
        if not self.files:
            raise DataNotFoundError(f"no images ({', '.join(IMG_EXTENSIONS)}) in {self.root}")
        self.transform = transform
        self.classes: list[str] = []

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        image = open_image(self.files[index])
        return (self.transform(image) if self.transform else image), 0


class MirroredDataset(Dataset):
    """The base data set followed by its horizontally flipped copy (``len`` doubles)."""

    def __init__(self, base: Dataset) -> None:
        self.base = base

    def __len__(self) -> int:
        return 2 * len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> tuple[Tensor, Any]:
        n = len(self.base)  # type: ignore[arg-type]
        if not 0 <= index < 2 * n:
            raise IndexError(f"index {index} out of range for {2 * n} (mirrored) samples")
        x, y = self.base[index % n]
        return (x.flip(-1) if index >= n else x), y


class _ConstantTarget(Dataset):
    """Replaces a data set's targets by 0 (CelebA's attributes are not class labels)."""

    def __init__(self, base: Dataset) -> None:
        self.base = base

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> tuple[Any, int]:
        return self.base[index][0], 0


class InMemoryImages(BatchFetchDataset):
    """uint8 images (N, C, H, W), already at the output size and channels, scaled to [-1, 1]
    a batch at a time; with ``mirror=True`` indices N..2N-1 are the horizontally flipped copies."""

    def __init__(self, images: Tensor, targets: Tensor, mirror: bool = False) -> None:
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise ValueError(f"images must be uint8 (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
        self.images, self.targets, self.mirror = images, targets.long(), mirror

    def __len__(self) -> int:
        return len(self.images) * (2 if self.mirror else 1)

    def __getitems__(self, indices: list[int]) -> tuple[Tensor, Tensor]:
        index = torch.as_tensor(indices, dtype=torch.long)
        if len(index) and not (0 <= int(index.min()) and int(index.max()) < len(self)):
            raise IndexError(f"indices {int(index.min())}..{int(index.max())} out of range for {len(self)} samples")
        base = index % len(self.images)
        x = self.images[base].float().div_(127.5).sub_(1.0)  # p / 127.5 - 1: 0 -> -1, 255 -> 1 exactly
        flipped = index >= len(self.images)
        if flipped.any():
            x[flipped] = x[flipped].flip(-1)
        return x, self.targets[base]


def rgb_to_grey_uint8(images: Tensor) -> Tensor:
    """(N, 3, H, W) uint8 -> (N, 1, H, W) uint8 luma, bit-exact with PIL's ``convert("L")``
    (ITU-R 601-2 weights in 16-bit fixed point, rounded)."""
    r, g, b = (images[:, c : c + 1].to(torch.int32) for c in range(3))
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).to(torch.uint8)


def image_folder(folder: Path, transform: Callable | None) -> Dataset:
    """A torchvision ``ImageFolder`` when ``folder`` has class subfolders (labels in sorted
    folder order), else a :class:`FlatImageFolder` of the images directly inside it."""
    if not folder.is_dir():
        raise DataNotFoundError(f"image folder {folder} does not exist")
    # Files that are not images by extension (README.txt, .DS_Store, ...) are skipped with a
    # warning; a file with an image extension that cannot be decoded is an error naming it.
    if any(p.is_dir() and any(_is_image(f) for f in p.iterdir()) for p in folder.iterdir()):
        _warn_about_skipped_files(folder, folder.rglob("*"))
        return datasets.ImageFolder(str(folder), transform=transform, loader=open_image_rgb)
    _warn_about_skipped_files(folder, folder.iterdir())
    return FlatImageFolder(folder, transform=transform)


# --------------------------------------------------------------------------- base


class ImageDataModule(GlobalBatchDataModule):
    """Base of the image datamodules.

    Args:
        data_dir: where to look first (see ``ganzoo.data.locate`` for the full search order).
        batch_size: GLOBAL batch size (each of W DDP processes loads batch_size // W).
        resolution: output height = width; None keeps the native size.
        channels: 1 or 3; None keeps the native number (grey images become RGB by repetition).
        hflip: double the data set with mirrored copies (deterministic flips).
        split: the split the train dataloader serves ("train", "test", ...).
        num_workers: DataLoader worker processes.
        seed: the per-epoch order of samples.
        download: let torchvision download the data when it is not on the machine.
        resize_mode: "resize" or "pad" (see the module docstring); None: the class default.
        in_memory: decode every image once in ``setup`` and keep uint8 tensors in RAM, so batches
            cost one tensor op instead of B image decodes (CIFAR-10 as JPEG: 60,000 x 3 KB).
            MNIST, Fashion-MNIST and torchvision's CIFAR-10 are in memory anyway.
    """

    display_name = "images"
    splits: tuple[str, ...] = ("train", "test")
    native_channels = 3
    native_size: tuple[int, int] = (32, 32)  # (H, W)
    default_resize_mode = "resize"

    def __init__(self, data_dir: str | None = None, batch_size: int = 64, resolution: int | None = None,
                 channels: int | None = None, hflip: bool = False, split: str = "train", num_workers: int = 0,
                 seed: int = 0, download: bool = False, resize_mode: str | None = None,
                 in_memory: bool = False) -> None:
        super().__init__(batch_size=batch_size, seed=seed, num_workers=num_workers)
        if resolution is not None and int(resolution) < 1:
            raise ValueError(f"resolution must be >= 1 or None, got {resolution}")
        if channels not in (None, 1, 3):
            raise ValueError(f"channels must be 1, 3 or None (native), got {channels}")
        if split not in self.splits and self.splits:
            raise ValueError(f"unknown split {split!r} for {self.display_name}; choose one of {', '.join(self.splits)}")
        resize_mode = self.default_resize_mode if resize_mode is None else resize_mode
        if resize_mode not in RESIZE_MODES:
            raise ValueError(f"resize_mode must be one of {', '.join(RESIZE_MODES)}, got {resize_mode!r}")
        self.save_hyperparameters()
        self.data_dir = data_dir
        self._resolution = None if resolution is None else int(resolution)
        self._channels = channels
        self.hflip = bool(hflip)
        self.split = split
        self.download = bool(download)
        self.resize_mode = resize_mode
        self.in_memory = bool(in_memory)
        self.data_source: str | None = None

    # ---- shapes

    @property
    def native_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of the images as stored."""
        return (self.native_channels, *self.native_size)

    @property
    def channels(self) -> int:
        return self._channels if self._channels is not None else self.native_shape[0]

    @property
    def resolution(self) -> int | tuple[int, int]:
        """Output side length, or the native (H, W) when it is kept and not square."""
        if self._resolution is not None:
            return self._resolution
        height, width = self.native_shape[1:]
        return height if height == width else (height, width)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of the tensors the dataloader yields."""
        if self._resolution is not None:
            return (self.channels, self._resolution, self._resolution)
        return (self.channels, *self.native_shape[1:])

    # ---- transforms

    def transform(self) -> Callable[[Image.Image], Tensor]:
        """PIL image -> (C, H, W) float tensor in [-1, 1]."""
        return transforms.Compose([*self._pil_steps(), transforms.ToTensor(),
                                   transforms.Normalize([0.5] * self.channels, [0.5] * self.channels)])

    def _pil_steps(self) -> list[Callable]:
        """Channels then geometry, on PIL images."""
        return [ConvertMode("L" if self.channels == 1 else "RGB"), *self._geometry()]

    def _decode_all(self, split: str, mirror: bool) -> InMemoryImages:
        """Decode a whole split once into uint8 tensors at the output size."""
        return InMemoryImages(*self._decode_split(split, self._pil_steps()), mirror=mirror)

    def _decode_split(self, split: str, pil_steps: list[Callable]) -> tuple[Tensor, Tensor]:
        """Every image of a split through ``pil_steps`` (``num_workers`` processes) -> uint8 (N, C, H, W), labels."""
        dataset = self.load_split(split, transforms.Compose([*pil_steps, transforms.PILToTensor()]))
        batches = list(DataLoader(dataset, batch_size=256, num_workers=self.num_workers))
        return torch.cat([x for x, _ in batches]), torch.cat([torch.as_tensor(y) for _, y in batches])

    def _geometry(self) -> list[Callable]:
        if self._resolution is None:
            return []
        if self.resize_mode == "resize":
            size = self._resolution
            return [transforms.Resize(size, interpolation=transforms.InterpolationMode.BILINEAR, antialias=True),
                    transforms.CenterCrop(size)]
        return [transforms.Pad(self._padding(), fill=0)]

    def _padding(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) black borders that centre the native image in the output square."""
        size = self._resolution if self._resolution is not None else max(self.native_shape[1:])
        height, width = self.native_shape[1:]
        if size < height or size < width:
            raise ValueError(
                f"resize_mode='pad' cannot shrink {height}x{width} images to {size}; use resize_mode='resize'"
            )
        left, top = (size - width) // 2, (size - height) // 2
        return (left, top, size - width - left, size - height - top)

    def _from_uint8(self, images: Tensor, targets: Tensor, mirror: bool) -> InMemoryImages | None:
        """The fast path for uint8 (N, C, H, W) data, or None when resampling needs PIL."""
        needs_resampling = self._resolution is not None and self.resize_mode == "resize" and (
            self.native_shape[1:] != (self._resolution, self._resolution))
        if needs_resampling:
            return None
        if images.shape[1] == 1 and self.channels == 3:
            images = images.expand(-1, 3, -1, -1)
        elif images.shape[1] == 3 and self.channels == 1:
            images = rgb_to_grey_uint8(images)
        if self._resolution is not None and self.resize_mode == "pad":
            left, top, right, bottom = self._padding()
            images = F.pad(images, (left, right, top, bottom), value=0)
        return InMemoryImages(images.contiguous(), torch.as_tensor(targets), mirror=mirror)

    # ---- data

    def load_split(self, split: str, transform: Callable) -> Dataset:
        """The data set of one split with ``transform`` applied; subclasses implement it."""
        raise NotImplementedError

    def load_uint8(self, split: str) -> tuple[Tensor, Tensor] | None:
        """uint8 (N, C, H, W) images and targets of a split held in memory, or None (decode per image)."""
        return None

    def locate(self) -> None:
        """Find (and if needed decompress, extract or download) the data; sets ``data_source``."""
        raise NotImplementedError

    def prepare_data(self) -> None:
        # Lightning calls this on one process per node before ``setup``: the place for
        # decompressing, extracting or downloading.
        self.locate()

    def get_dataset(self, split: str | None = None, hflip: bool | None = None) -> Dataset:
        """A split as ``(x, y)`` pairs with this module's transform; ``hflip`` defaults to the
        module's (pass False for metric reference sets)."""
        split = self.split if split is None else split
        if self.splits and split not in self.splits:
            raise ValueError(f"unknown split {split!r} for {self.display_name}; choose one of {', '.join(self.splits)}")
        if self.data_source is None:
            self.locate()
        mirror = self.hflip if hflip is None else hflip
        held = self.load_uint8(split)
        if held is not None and (fast := self._from_uint8(*held, mirror=mirror)) is not None:
            return fast
        if self.in_memory:
            return self._decode_all(split, mirror)
        dataset = self.load_split(split, self.transform())
        return MirroredDataset(dataset) if mirror else dataset

    def setup(self, stage: str | None = None) -> None:
        super().setup(stage)
        if self.train_dataset is None:
            self.train_dataset = self.get_dataset(self.split)


# --------------------------------------------------------------------------- torchvision-backed


class _MNISTLike(ImageDataModule):
    native_channels = 1
    native_size = (28, 28)
    default_resize_mode = "pad"
    torchvision_class = "MNIST"

    def locate(self) -> None:
        self._root = locate_mnist_like(self.torchvision_class, self.data_dir, self.download)
        self.data_source = f"torchvision:{self._root}"

    @property
    def root(self) -> Path:
        """The torchvision root found by ``locate``."""
        return self._root

    def load_split(self, split: str, transform: Callable) -> Dataset:
        dataset_class = getattr(datasets, self.torchvision_class)
        return dataset_class(str(self._root), train=split == "train", transform=transform, download=False)

    def load_uint8(self, split: str) -> tuple[Tensor, Tensor]:
        dataset = self.load_split(split, transform=None)
        return dataset.data.unsqueeze(1), dataset.targets


class FashionMNISTDataModule(_MNISTLike):
    """Fashion-MNIST (Xiao et al. 2017): 60,000 train / 10,000 test 28x28 grey images, 10 classes.

    Found offline in the Debian package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``),
    decompressed once into ``<data root>/FashionMNIST/raw/``.
    """

    display_name = "Fashion-MNIST"
    torchvision_class = "FashionMNIST"


class MNISTDataModule(_MNISTLike):
    """MNIST: 60,000 train / 10,000 test 28x28 grey digits."""

    display_name = "MNIST"
    torchvision_class = "MNIST"


class CIFAR10DataModule(ImageDataModule):
    """CIFAR-10: 50,000 train / 10,000 test 32x32 RGB images, 10 classes.

    Reads torchvision's pickled batches (the original pixels) or a folder-per-class copy
    ``train/<class>/*``, ``test/<class>/*`` (e.g. the JPEG re-encoding, after
    ``ganzoo.data.extract_cifar10_jpeg`` or ``tar xzf cifar10-jpeg.tar.gz -C DIR``); labels follow
    CIFAR-10's order (airplane=0 ... truck=9) either way.
    """

    display_name = "CIFAR-10"
    native_channels = 3
    native_size = (32, 32)

    def locate(self) -> None:
        self._location: Location = locate_cifar10(self.data_dir, self.download)
        self.data_source = self._location.describe()

    def load_split(self, split: str, transform: Callable) -> Dataset:
        if self._location.kind == "torchvision":
            return datasets.CIFAR10(str(self._location.path), train=split == "train", transform=transform)
        return datasets.ImageFolder(str(self._class_folder(split)), transform=transform)

    def load_uint8(self, split: str, decode_files: bool = False) -> tuple[Tensor, Tensor] | None:
        """The whole split as uint8 (N, 3, 32, 32) + labels. Image files (the JPEG re-encoding) are
        decoded per image in training (None here) unless ``decode_files``: the metrics load them all."""
        if self._location.kind == "torchvision":
            dataset = self.load_split(split, transform=None)
            return torch.from_numpy(dataset.data).permute(0, 3, 1, 2), torch.tensor(dataset.targets)
        return self._decode_split(split, [ConvertMode("RGB")]) if decode_files else None

    def file_suffixes(self, split: str) -> set[str]:
        """The image files' suffixes (empty for torchvision's pickled batches)."""
        if self._location.kind == "torchvision":
            return set()
        return {path.suffix.lower() for name in CIFAR10_CLASSES for path in (self._class_folder(split) / name).iterdir()}

    def _class_folder(self, split: str) -> Path:
        folder = self._location.path / split
        if not folder.is_dir():
            raise DataNotFoundError(f"CIFAR-10 ImageFolder {self._location.path} has no {split}/ folder")
        classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
        if tuple(classes) != CIFAR10_CLASSES:  # ImageFolder's sorted order is CIFAR's order
            raise DataNotFoundError(
                f"{folder} has class folders {classes}, expected exactly CIFAR-10's {list(CIFAR10_CLASSES)}"
            )
        return folder


class CelebADataModule(ImageDataModule):
    """CelebA aligned faces (202,599 images of 218x178, torchvision layout and splits).

    Labels are 0 (the 40 attributes are not classes). ``center_crop`` crops a square of that
    side around the centre before resizing (e.g. 178 or 140); without it ``resolution`` resizes
    the shorter side and centre-crops, as the PyTorch DCGAN example does.
    """

    display_name = "CelebA"
    splits = ("train", "valid", "test", "all")
    native_channels = 3
    native_size = (218, 178)

    def __init__(self, data_dir: str | None = None, batch_size: int = 64, resolution: int | None = None,
                 channels: int | None = None, hflip: bool = False, split: str = "train", num_workers: int = 0,
                 seed: int = 0, download: bool = False, resize_mode: str | None = None, in_memory: bool = False,
                 center_crop: int | None = None) -> None:
        super().__init__(data_dir=data_dir, batch_size=batch_size, resolution=resolution, channels=channels,
                         hflip=hflip, split=split, num_workers=num_workers, seed=seed, download=download,
                         resize_mode=resize_mode, in_memory=in_memory)
        if center_crop is not None and not 1 <= center_crop <= min(self.native_size):
            raise ValueError(f"center_crop must be in [1, {min(self.native_size)}], got {center_crop}")
        self.center_crop = center_crop

    @property
    def native_shape(self) -> tuple[int, int, int]:
        if self.center_crop is not None:
            return (self.native_channels, self.center_crop, self.center_crop)
        return super().native_shape

    def _geometry(self) -> list[Callable]:
        crop = [transforms.CenterCrop(self.center_crop)] if self.center_crop is not None else []
        return crop + super()._geometry()

    def locate(self) -> None:
        self._root = locate_celeba(self.data_dir, self.download)
        self.data_source = f"torchvision:{self._root}"

    def load_split(self, split: str, transform: Callable) -> Dataset:
        return _ConstantTarget(datasets.CelebA(str(self._root), split=split, target_type="attr", transform=transform))


class ImageFolderDataModule(ImageDataModule):
    """Any folder of images: class subfolders (labels in sorted folder order) or flat images (label 0).

    ``split`` picks ``root/<split>/`` when that folder exists; otherwise ``split="train"``
    uses ``root`` itself. With ``resolution=None`` the native size is read from the first image,
    so set ``resolution`` for folders of mixed sizes.
    """

    display_name = "image folder"
    splits: tuple[str, ...] = ()  # any subfolder name

    def __init__(self, root: str, batch_size: int = 64, resolution: int | None = None, channels: int | None = None,
                 hflip: bool = False, split: str = "train", num_workers: int = 0, seed: int = 0,
                 resize_mode: str | None = None, in_memory: bool = False, data_dir: str | None = None,
                 download: bool = False) -> None:
        super().__init__(data_dir=data_dir, batch_size=batch_size, resolution=resolution, channels=channels,
                         hflip=hflip, split=split, num_workers=num_workers, seed=seed, download=download,
                         resize_mode=resize_mode, in_memory=in_memory)
        if download:
            raise ValueError("ImageFolderDataModule cannot download: point root at a folder of images")
        self.root = Path(root).expanduser()
        self._native_shape: tuple[int, int, int] | None = None

    def _split_folder(self, split: str) -> Path:
        candidate = self.root / split
        if candidate.is_dir():
            return candidate
        if split == "train" and self.root.is_dir():
            return self.root
        raise DataNotFoundError(
            f"image folder for split {split!r} not found: looked for {candidate}"
            + (f" and, for split 'train', {self.root} itself" if split == "train" else "")
            + ". Pass root=DIR where DIR holds class subfolders or images (optionally under DIR/<split>/)."
        )

    def locate(self) -> None:
        self.data_source = f"imagefolder:{self._split_folder(self.split)}"

    @property
    def native_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of the first image of the split (C = 1 for grey images, else 3)."""
        if self._native_shape is None:
            dataset = image_folder(self._split_folder(self.split), transform=None)
            # Open the file itself: torchvision's loader would already have converted it to RGB.
            first = dataset.samples[0][0] if isinstance(dataset, datasets.ImageFolder) else dataset.files[0]
            image = open_image(first)
            channels = 1 if image.mode in ("1", "L", "LA", "I", "I;16", "F") else 3
            self._native_shape = (channels, image.height, image.width)
        return self._native_shape

    def load_split(self, split: str, transform: Callable) -> Dataset:
        return image_folder(self._split_folder(split), transform)


