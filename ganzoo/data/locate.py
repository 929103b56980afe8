"""Finding data sets already on the machine (offline first) and preparing them for torchvision.

Every image datamodule looks, in this order, in

1. its ``data_dir`` argument,
2. the directory named by the ``GANZOO_DATA`` environment variable,
3. the default cache ``$XDG_CACHE_HOME/ganzoo/data`` (``~/.cache/ganzoo/data``),
4. system-wide installs such as the Debian package ``dataset-fashion-mnist``
   (``/usr/share/datasets/fashion-mnist/*.gz``),

and only downloads when asked (``download=True``). Whatever has to be written (decompressed
idx files, an extracted tarball, a download) goes to the first *writable* of 1-3, so a
read-only ``data_dir`` (a shared data folder) still works. When nothing is found the error
lists every place looked and every way to fix it, instead of torchvision's bare
"Dataset not found".
"""
from __future__ import annotations

import gzip
import os
import shutil
import stat
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

GANZOO_DATA_ENV = "GANZOO_DATA"

# System-wide installs of a data set, by torchvision class name. A tuple (not a constant path)
# so tests can point it elsewhere.
SYSTEM_DATA_DIRS: dict[str, tuple[Path, ...]] = {
    "FashionMNIST": (Path("/usr/share/datasets/fashion-mnist"),),  # Debian: dataset-fashion-mnist
    "MNIST": (),
}
SYSTEM_PACKAGES = {"FashionMNIST": "dataset-fashion-mnist"}

# The idx files of MNIST and Fashion-MNIST (same names for both) and their magic numbers.
IDX_FILES = {
    "train-images-idx3-ubyte": 2051,
    "train-labels-idx1-ubyte": 2049,
    "t10k-images-idx3-ubyte": 2051,
    "t10k-labels-idx1-ubyte": 2049,
}

# CIFAR-10's label order; a folder-per-class copy must list exactly these classes (ImageFolder
# sorts class folders alphabetically, which for these names is the same order).
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR10_TORCHVISION_FILES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5",
                             "test_batch", "batches.meta")
CIFAR10_JPEG_TARBALL = "cifar10-jpeg.tar.gz"
CIFAR10_IMAGEFOLDER_NAMES = (".", "cifar10-jpeg", "cifar10", "CIFAR10", "cifar-10")


class DataNotFoundError(FileNotFoundError):
    """A data set is not on this machine (and was not, or could not be, downloaded)."""


@dataclass
class Search:
    """The places looked for one data set, so a failure can name all of them."""

    dataset: str
    looked: list[str] = field(default_factory=list)

    def note(self, place: Path | str, what: str) -> None:
        self.looked.append(f"{place}  ({what})")

    def fail(self, fixes: list[str], cause: BaseException | None = None) -> DataNotFoundError:
        lines = [f"{self.dataset} was not found on this machine. Looked in:"]
        lines += [f"  - {place}" for place in self.looked]
        if cause is not None:
            lines.append(f"The download failed: {type(cause).__name__}: {cause}")
        lines.append("To fix it, do one of:")
        lines += [f"  - {fix}" for fix in fixes]
        return DataNotFoundError("\n".join(lines))


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/ganzoo/data``, i.e. ``~/.cache/ganzoo/data`` by default."""
    cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache_home) / "ganzoo" / "data"


def search_roots(data_dir: str | os.PathLike | None) -> list[tuple[Path, str]]:
    """The user-controlled roots, in priority order, each with why it is looked at."""
    roots: list[tuple[Path, str]] = []
    if data_dir is not None:
        roots.append((Path(data_dir).expanduser(), "data_dir"))
    if os.environ.get(GANZOO_DATA_ENV):
        roots.append((Path(os.environ[GANZOO_DATA_ENV]).expanduser(), f"${GANZOO_DATA_ENV}"))
    roots.append((default_cache_dir(), "default cache"))
    unique: dict[Path, str] = {}
    for path, why in roots:
        unique.setdefault(path.resolve() if path.exists() else path, why)
    return list(unique.items())


def _may_write(folder: Path) -> bool:
    """Writable by the permission bits too: root may write anywhere, but a folder without any
    write bit (a shared, read-only data folder) is meant to stay untouched."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK) and bool(stat.S_IMODE(folder.stat().st_mode) & 0o222)


def writable_root(data_dir: str | os.PathLike | None) -> Path:
    """The first root ganzoo may write to: data_dir, then $GANZOO_DATA, then the default cache."""
    for root, _ in search_roots(data_dir):
        if _may_write(root):
            return root
    raise DataNotFoundError(
        f"no writable data directory: tried {[str(r) for r, _ in search_roots(data_dir)]}. "
        f"Set {GANZOO_DATA_ENV} to a writable directory."
    )


def fix_hints(dataset: str, layout: str, package: str | None = None, download_works: bool = True) -> list[str]:
    """The ways out, in the words the error message uses."""
    hints = [
        f"pass data_dir=DIR where DIR holds {layout}",
        f"set the environment variable {GANZOO_DATA_ENV}=DIR (same layout), "
        f"or put it under the default cache {default_cache_dir()}",
    ]
    if package:
        hints.append(f"install the Debian package: apt-get install -y {package}")
    if download_works:
        hints.append(f"pass download=True to fetch {dataset} with torchvision (needs internet)")
    return hints


# --------------------------------------------------------------------------- MNIST-like


def _idx_files_in(folder: Path, suffix: str) -> bool:
    return all((folder / f"{name}{suffix}").is_file() for name in IDX_FILES)


def _decompress_idx(source: Path, raw_folder: Path) -> None:
    """Write ``raw_folder/<name>`` from ``source/<name>.gz`` for the four idx files, checking each
    file's magic number; written to a temporary file first so concurrent processes never see
    half a file."""
    raw_folder.mkdir(parents=True, exist_ok=True)
    for name, magic in IDX_FILES.items():
        target = raw_folder / name
        if target.is_file():
            continue
        with gzip.open(source / f"{name}.gz", "rb") as compressed:
            header = compressed.read(4)
            if int.from_bytes(header, "big") != magic:
                raise DataNotFoundError(f"{source / name}.gz is not an idx file (magic {header!r}, expected {magic})")
            fd, tmp = tempfile.mkstemp(dir=raw_folder, prefix=f".{name}.")
            with os.fdopen(fd, "wb") as out:
                out.write(header)
                shutil.copyfileobj(compressed, out)
        os.replace(tmp, target)


def locate_mnist_like(class_name: str, data_dir: str | os.PathLike | None, download: bool) -> Path:
    """Return a root that torchvision's ``MNIST``/``FashionMNIST`` can read with ``download=False``.

    Ready layout: ``ROOT/<class_name>/raw/*-ubyte``. Compressed ``*.gz`` idx files found in a
    root, in ``ROOT/<class_name>/raw``, or in a system install are decompressed into the first
    writable root.
    """
    pretty = {"FashionMNIST": "Fashion-MNIST"}.get(class_name, class_name)
    search = Search(pretty)
    sources: list[tuple[Path, str]] = []
    for root, why in search_roots(data_dir):
        raw = root / class_name / "raw"
        if _idx_files_in(raw, ""):
            return root
        search.note(raw, f"{why}: 4 *-ubyte files")
        sources += [(raw, why), (root, why)]
    for folder in SYSTEM_DATA_DIRS.get(class_name, ()):
        sources.append((folder, f"Debian package {SYSTEM_PACKAGES[class_name]}"))
    for folder, why in sources:
        if _idx_files_in(folder, ".gz"):
            root = writable_root(data_dir)
            _decompress_idx(folder, root / class_name / "raw")
            return root
        search.note(folder, f"{why}: 4 *-ubyte.gz files")
    if download:
        from torchvision import datasets

        root = writable_root(data_dir)
        try:
            getattr(datasets, class_name)(root, train=True, download=True)
        except Exception as error:  # noqa: BLE001  (offline: URLError, RuntimeError, ...)
            raise search.fail(_mnist_hints(class_name), cause=error) from error
        return root
    raise search.fail(_mnist_hints(class_name))


def _mnist_hints(class_name: str) -> list[str]:
    layout = (f"{class_name}/raw/ with train-images-idx3-ubyte, train-labels-idx1-ubyte, "
              "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (or the same files .gz-compressed in DIR)")
    pretty = {"FashionMNIST": "Fashion-MNIST"}.get(class_name, class_name)
    return fix_hints(pretty, layout, package=SYSTEM_PACKAGES.get(class_name))


# --------------------------------------------------------------------------- CIFAR-10


@dataclass(frozen=True)
class Location:
    """Where a data set was found: ``kind`` is "torchvision" (a torchvision root) or
    "imagefolder" (a folder with ``<split>/<class>/`` image folders)."""

    kind: str
    path: Path

    def describe(self) -> str:
        return f"{self.kind}:{self.path}"


def is_cifar10_imagefolder(folder: Path) -> bool:
    """True when ``folder/train/<class>/`` exists for all ten CIFAR-10 classes."""
    return all((folder / "train" / name).is_dir() for name in CIFAR10_CLASSES)


def extract_cifar10_jpeg(tarball: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Extract a CIFAR-10 ImageFolder tarball (``train/<class>/*.jpg``, ``test/<class>/*.jpg``,
    e.g. the JPEG re-encoding ``cifar10-jpeg.tar.gz``) into ``dest`` and return ``dest``.

    Same as ``tar xzf TARBALL -C DEST``, then ``CIFAR10DataModule(data_dir=DEST)`` finds it.
    Idempotent: a ``dest`` that already has the layout is returned untouched. Extraction goes
    to a temporary sibling folder renamed into place, so concurrent processes never see half
    a tree. Raises ``DataNotFoundError`` when the tarball does not hold that layout.
    """
    tarball, dest = Path(tarball), Path(dest)
    if is_cifar10_imagefolder(dest):
        return dest
    if not tarball.is_file():
        raise DataNotFoundError(f"CIFAR-10 tarball {tarball} does not exist")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}."))
    try:
        with tarfile.open(tarball, "r:*") as archive:
            if hasattr(tarfile, "data_filter"):  # refuses absolute paths, "..", devices
                archive.extractall(staging, filter="data")
            else:  # pragma: no cover  (Python < 3.10.12)
                archive.extractall(staging)
        if not is_cifar10_imagefolder(staging):
            found = sorted(p.relative_to(staging).as_posix() for p in staging.glob("*/*") if p.is_dir())[:12]
            raise DataNotFoundError(
                f"{tarball} does not hold the CIFAR-10 ImageFolder layout train/<class>/ for the classes "
                f"{', '.join(CIFAR10_CLASSES)}; its top folders are {found}"
            )
        if dest.exists() and not any(dest.iterdir()):
            dest.rmdir()
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp made it private
        try:
            os.replace(staging, dest)
        except OSError:  # another process won the race, or dest holds other files: merge
            if not is_cifar10_imagefolder(dest):
                shutil.copytree(staging, dest, dirs_exist_ok=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def locate_cifar10(data_dir: str | os.PathLike | None, download: bool) -> Location:
    """Find CIFAR-10: torchvision's pickled batches (original pixels) first, then a
    folder-per-class copy, then a ``cifar10-jpeg.tar.gz`` to extract, root by root."""
    search = Search("CIFAR-10")
    for root, why in search_roots(data_dir):
        batches = root / "cifar-10-batches-py"
        if all((batches / name).is_file() for name in CIFAR10_TORCHVISION_FILES):
            return Location("torchvision", root)
        search.note(batches, f"{why}: torchvision's pickled batches")
        for name in CIFAR10_IMAGEFOLDER_NAMES:
            folder = (root / name) if name != "." else root
            if is_cifar10_imagefolder(folder):
                return Location("imagefolder", folder)
            search.note(folder / "train", f"{why}: ImageFolder train/<class>/ for the 10 classes")
        tarball = root / CIFAR10_JPEG_TARBALL
        if tarball.is_file():
            return Location("imagefolder", extract_cifar10_jpeg(tarball, writable_root(data_dir) / "cifar10-jpeg"))
        search.note(tarball, f"{why}: ImageFolder tarball")
    hints = fix_hints(
        "CIFAR-10",
        "cifar-10-batches-py/ (torchvision) or train/<class>/*.jpg and test/<class>/*.jpg (ImageFolder) or "
        f"{CIFAR10_JPEG_TARBALL} (extract it with ganzoo.data.extract_cifar10_jpeg or tar xzf FILE -C DIR)",
    )
    if download:
        from torchvision import datasets

        root = writable_root(data_dir)
        try:
            datasets.CIFAR10(root, train=True, download=True)
        except Exception as error:  # noqa: BLE001
            raise search.fail(hints, cause=error) from error
        return Location("torchvision", root)
    raise search.fail(hints)


# --------------------------------------------------------------------------- CelebA


CELEBA_FILES = ("list_eval_partition.txt", "list_attr_celeba.txt", "identity_CelebA.txt",
                "list_bbox_celeba.txt", "list_landmarks_align_celeba.txt")


def locate_celeba(data_dir: str | os.PathLike | None, download: bool) -> Path:
    """Return a root with torchvision's CelebA layout ``ROOT/celeba/img_align_celeba/`` plus its
    annotation text files."""
    search = Search("CelebA")
    for root, why in search_roots(data_dir):
        folder = root / "celeba"
        if (folder / "img_align_celeba").is_dir() and all((folder / name).is_file() for name in CELEBA_FILES):
            return root
        search.note(folder, f"{why}: img_align_celeba/ and {', '.join(CELEBA_FILES)}")
    hints = fix_hints("CelebA", f"celeba/img_align_celeba/*.jpg and celeba/{{{','.join(CELEBA_FILES)}}} "
                                "(torchvision's layout)")
    hints.append("or, for the images without annotations or splits, use ImageFolderDataModule(root=...)")
    if download:
        from torchvision import datasets

        root = writable_root(data_dir)
        try:
            datasets.CelebA(root, split="all", download=True)
        except Exception as error:  # noqa: BLE001
            raise search.fail(hints, cause=error) from error
        return root
    raise search.fail(hints)
