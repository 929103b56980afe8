"""ganzoo.data: toy distributions, image datamodules, offline data discovery, global-batch sharding.

Every image fixture is generated here (PNG where exact pixel values are checked); nothing
depends on ../shared. The Fashion-MNIST test on the real Debian package skips when
``dataset-fashion-mnist`` is not installed.
"""
from __future__ import annotations

import gzip
import math
import os
import stat
import tarfile
from pathlib import Path
from types import SimpleNamespace

import pickle

import lightning as L
import numpy as np
import pytest
from conftest import write_idx
import torch
import torchvision.datasets.cifar
from lightning.pytorch.strategies import DDPStrategy
from PIL import Image

import ganzoo.data.locate as locate
from ganzoo.data.images import InMemoryImages, MirroredDataset, rgb_to_grey_uint8
from ganzoo.data import (
    CIFAR10_CLASSES,
    DATAMODULES,
    GRID_STD,
    RING_STD,
    CelebADataModule,
    CIFAR10DataModule,
    DataNotFoundError,
    FashionMNISTDataModule,
    GlobalBatchSampler,
    ImageFolderDataModule,
    MNISTDataModule,
    ToyDataModule,
    extract_cifar10_jpeg,
    grid_means,
    ring_means,
    sample_mixture,
)

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(autouse=True)
def isolated_data_roots(tmp_path, monkeypatch):
    """No test sees the real cache, $GANZOO_DATA or system installs unless it asks for them."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("GANZOO_DATA", raising=False)
    monkeypatch.setattr(locate, "SYSTEM_DATA_DIRS", {"FashionMNIST": (tmp_path / "no-debian-package",), "MNIST": ()})


# --------------------------------------------------------------------------- toy data


def test_ring_and_grid_means_are_the_published_ones():
    ring = ring_means()
    assert ring.shape == (8, 2)
    torch.testing.assert_close(ring.norm(dim=1), torch.ones(8))
    angles = torch.atan2(ring[:, 1], ring[:, 0]).double().remainder(2 * math.pi)
    torch.testing.assert_close(angles, torch.arange(8, dtype=torch.float64) * math.pi / 4, atol=1e-6, rtol=0)
    grid = grid_means()
    assert grid.shape == (25, 2)
    coordinates = (-4.0, -2.0, 0.0, 2.0, 4.0)
    assert {tuple(p) for p in grid.tolist()} == {(x, y) for x in coordinates for y in coordinates}
    assert (RING_STD, GRID_STD) == (0.01, 0.05)


@pytest.mark.parametrize("name, means, std", [("ring", ring_means(), RING_STD), ("grid", grid_means(), GRID_STD)])
def test_mixture_samples_have_stated_means_stds_and_labels(name, means, std):
    dm = ToyDataModule(name, n_samples=100_000, seed=0)
    dm.setup("fit")
    x, y = dm.train_dataset.x, dm.train_dataset.y
    assert x.shape == (100_000, 2) and x.dtype == torch.float32 and dm.data_shape == (2,)
    k = len(means)
    counts = torch.bincount(y, minlength=k).double()
    # uniform mixture weights: each count within 5 binomial standard errors of n/k
    assert (counts - 1e5 / k).abs().max() < 5 * math.sqrt(1e5 * (1 / k) * (1 - 1 / k))
    for component in range(k):
        points = x[y == component].double()
        n = len(points)
        assert (points.mean(0) - means[component]).abs().max() < 5 * std / math.sqrt(n)
        # sample std of a Gaussian has standard error ~ std / sqrt(2n); allow 5 of them
        assert (points.std(0) - std).abs().max() < 5 * std / math.sqrt(2 * n)
    # y is the component each point came from: the modes are far apart, so it is the nearest mean
    assert torch.equal(torch.cdist(x, means).argmin(1), y)


def test_toy_training_set_and_batch_order_are_fixed_by_the_seed():
    def first_batches(seed, epoch=0):
        dm = ToyDataModule("grid", n_samples=1000, batch_size=100, seed=seed)
        loader = dm.train_dataloader()
        loader.sampler.set_epoch(epoch)
        return dm.train_dataset.x.clone(), [b[0] for b in loader][:3]

    data_a, batches_a = first_batches(seed=3)
    data_b, batches_b = first_batches(seed=3)
    assert torch.equal(data_a, data_b)
    assert all(torch.equal(a, b) for a, b in zip(batches_a, batches_b))
    assert not torch.equal(data_a, first_batches(seed=4)[0])
    _, next_epoch = first_batches(seed=3, epoch=1)
    assert not torch.equal(batches_a[0], next_epoch[0])  # a new epoch is a new order


def test_dirac_and_gaussian_data_sets():
    dirac = ToyDataModule("dirac", n_samples=500, batch_size=50)
    dirac.setup()
    assert dirac.data_shape == (1,)
    assert torch.equal(dirac.train_dataset.x, torch.zeros(500, 1))
    assert torch.equal(dirac.train_dataset.y, torch.zeros(500, dtype=torch.long))

    g1 = ToyDataModule("gaussian1d", n_samples=100_000, mean=3.0, std=2.0)
    g1.setup()
    x = g1.train_dataset.x.double()
    assert x.shape == (100_000, 1)
    assert abs(x.mean() - 3.0) < 5 * 2.0 / math.sqrt(1e5) and abs(x.std() - 2.0) < 5 * 2.0 / math.sqrt(2e5)

    g2 = ToyDataModule("gaussian2d", n_samples=100_000, mean=[1.0, -1.0], std=[0.5, 2.0])
    g2.setup()
    x = g2.train_dataset.x.double()
    assert (x.mean(0) - torch.tensor([1.0, -1.0], dtype=torch.float64)).abs().max() < 5 * 2.0 / math.sqrt(1e5)
    torch.testing.assert_close(x.std(0), torch.tensor([0.5, 2.0], dtype=torch.float64), rtol=0.02, atol=0)


def test_sample_mixture_accepts_a_seed_and_rejects_bad_input():
    x1, c1 = sample_mixture(ring_means(), RING_STD, 10, generator=5)
    x2, c2 = sample_mixture(ring_means(), RING_STD, 10, generator=torch.Generator().manual_seed(5))
    assert torch.equal(x1, x2) and torch.equal(c1, c2)
    with pytest.raises(ValueError, match=r"\(K, d\)"):
        sample_mixture(torch.zeros(3), 1.0, 10)
    with pytest.raises(ValueError, match="'spiral'"):
        ToyDataModule("spiral")
    with pytest.raises(ValueError, match="mean only applies"):
        ToyDataModule("ring", mean=1.0)


# --------------------------------------------------------------------------- global batch / DDP sharding


def test_processes_share_each_global_batch_contiguously_and_disjointly():
    dataset = list(range(103))
    single = list(GlobalBatchSampler(dataset, global_batch_size=10, num_replicas=1, rank=0, seed=7))
    assert len(single) == 100  # the incomplete last global batch is dropped
    shards = [list(GlobalBatchSampler(dataset, 10, num_replicas=2, rank=r, seed=7)) for r in (0, 1)]
    assert set(shards[0]).isdisjoint(shards[1])
    for k in range(10):  # global batch k = rank 0's 5 indices followed by rank 1's 5
        assert shards[0][5 * k : 5 * k + 5] + shards[1][5 * k : 5 * k + 5] == single[10 * k : 10 * k + 10]


def test_batch_size_is_global_and_must_divide_by_world_size():
    dm = ToyDataModule("ring", n_samples=64, batch_size=8)
    dm.trainer = SimpleNamespace(world_size=2, global_rank=1)
    dm.setup("fit")
    x, _ = next(iter(dm.train_dataloader()))
    assert x.shape == (4, 2)

    odd = ToyDataModule("ring", n_samples=64, batch_size=8)
    odd.trainer = SimpleNamespace(world_size=3, global_rank=0)
    with pytest.raises(ValueError, match=r"batch_size 8 .* world size 3"):
        odd.setup("fit")


class RecordBatches(L.LightningModule):
    """Saves every batch it trains on to ``out_dir/rank<r>.pt`` (spawned processes return nothing else)."""

    def __init__(self, out_dir: str) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)
        self.out_dir = out_dir
        self.seen: list[torch.Tensor] = []

    def training_step(self, batch, batch_idx):
        self.seen.append(batch[0].detach().clone())
        return self.layer(batch[0]).mean()

    def on_train_end(self) -> None:
        torch.save(self.seen, Path(self.out_dir) / f"rank{self.global_rank}.pt")

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.0)


def test_two_process_ddp_halves_the_batch_and_splits_the_global_batch(tmp_path):
    # "fork" rather than "spawn": the children inherit the imported modules (about 1 s instead
    # of re-importing torch and lightning twice), and neither re-runs pytest (DESIGN.md trap).
    global_batch, n_samples, epochs = 16, 64, 2
    trainer = L.Trainer(accelerator="cpu", devices=2, strategy=DDPStrategy(start_method="fork"), max_epochs=epochs,
                        logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, default_root_dir=str(tmp_path))
    data = ToyDataModule("ring", n_samples=n_samples, batch_size=global_batch)
    trainer.fit(RecordBatches(str(tmp_path)), datamodule=data)

    seen = [torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1)]
    # the same run on one process: Lightning sets the epoch on the sampler, so do we
    loader = ToyDataModule("ring", n_samples=n_samples, batch_size=global_batch).train_dataloader()
    expected = []
    for epoch in range(epochs):
        loader.sampler.set_epoch(epoch)
        expected += [x for x, _ in loader]
    assert len(seen[0]) == len(seen[1]) == len(expected) == epochs * n_samples // global_batch
    for step, full in enumerate(expected):
        assert seen[0][step].shape == seen[1][step].shape == (global_batch // 2, 2)
        assert torch.equal(torch.cat([seen[0][step], seen[1][step]]), full)
    for epoch in range(epochs):  # within an epoch the two processes never see the same sample
        rows = lambda r: {tuple(p) for b in seen[r][epoch * 4 : epoch * 4 + 4] for p in b.tolist()}  # noqa: E731
        assert rows(0).isdisjoint(rows(1)) and len(rows(0) | rows(1)) == n_samples


# --------------------------------------------------------------------------- Fashion-MNIST / MNIST


@pytest.fixture
def fake_debian_fashion_mnist(tmp_path, monkeypatch):
    """A stand-in for /usr/share/datasets/fashion-mnist: 6 train and 4 test images."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "usr-share-datasets-fashion-mnist"
    train = rng.integers(0, 256, size=(6, 28, 28))
    train[0, 0, 0], train[0, 0, 1] = 0, 255
    write_idx(folder, "train", train, np.arange(6))
    write_idx(folder, "t10k", rng.integers(0, 256, size=(4, 28, 28)), np.arange(4))
    monkeypatch.setattr(locate, "SYSTEM_DATA_DIRS", {"FashionMNIST": (folder,), "MNIST": ()})
    return train


def test_fashion_mnist_from_a_system_install_is_decompressed_into_the_cache(tmp_path, fake_debian_fashion_mnist):
    cache = tmp_path / "ganzoo-data"
    os.environ["GANZOO_DATA"] = str(cache)
    dm = FashionMNISTDataModule(batch_size=2)
    dm.setup("fit")
    assert sorted(p.name for p in (cache / "FashionMNIST" / "raw").iterdir()) == sorted(locate.IDX_FILES)
    assert dm.data_source == f"torchvision:{cache}"
    assert len(dm.train_dataset) == 6 and len(dm.get_dataset("test")) == 4
    x, y = dm.train_dataset[0]
    assert x.shape == (1, 28, 28) == dm.image_shape and y == 0
    # pixel p -> p / 127.5 - 1: 0 -> -1, 255 -> 1 exactly
    torch.testing.assert_close(x[0], torch.from_numpy(fake_debian_fashion_mnist[0]).float() / 127.5 - 1)
    assert x[0, 0, 0] == -1 and x[0, 0, 1] == 1


def test_mnist_like_pads_28_to_32_by_default_or_resizes(tmp_path, fake_debian_fashion_mnist):
    padded = FashionMNISTDataModule(data_dir=str(tmp_path / "d"), resolution=32, channels=3)
    padded.setup()
    x, _ = padded.train_dataset[0]
    assert x.shape == (3, 32, 32) == padded.image_shape and padded.resize_mode == "pad"
    inner = torch.from_numpy(fake_debian_fashion_mnist[0]).float() / 127.5 - 1
    for c in range(3):  # grey repeated into RGB, a 2-pixel black (-1) border
        torch.testing.assert_close(x[c, 2:30, 2:30], inner)
    border = torch.ones(32, 32, dtype=torch.bool)
    border[2:30, 2:30] = False
    assert (x[:, border] == -1).all()

    resized = FashionMNISTDataModule(data_dir=str(tmp_path / "d"), resolution=32, resize_mode="resize")
    resized.setup()
    x, _ = resized.train_dataset[0]
    assert x.shape == (1, 32, 32) and not (x[:, :2, :] == -1).all()
    with pytest.raises(ValueError, match="cannot shrink"):
        FashionMNISTDataModule(resolution=16, resize_mode="pad").transform()


def test_in_memory_batches_equal_the_pil_pipeline(tmp_path, fake_debian_fashion_mnist):
    dm = FashionMNISTDataModule(data_dir=str(tmp_path / "d"), resolution=32, channels=3, hflip=True)
    dm.setup()
    fast = dm.train_dataset
    assert isinstance(fast, InMemoryImages) and len(fast) == 12
    slow = MirroredDataset(dm.load_split("train", dm.transform()))
    x_fast, y_fast = fast.__getitems__(list(range(12)))
    for i in range(12):
        torch.testing.assert_close(x_fast[i], slow[i][0], atol=1e-6, rtol=0)
        assert y_fast[i] == slow[i][1]
    with pytest.raises(IndexError):
        fast.__getitems__([12])


def test_rgb_to_grey_is_bit_exact_with_pil():
    rgb = np.random.default_rng(2).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    ours = rgb_to_grey_uint8(torch.from_numpy(rgb).permute(2, 0, 1)[None])[0, 0].numpy()
    assert np.array_equal(ours, np.asarray(Image.fromarray(rgb).convert("L")))


@pytest.mark.skipif(not DEBIAN_FASHION_MNIST.is_dir(), reason="Debian package dataset-fashion-mnist not installed")
def test_fashion_mnist_from_the_debian_package(tmp_path, monkeypatch):
    monkeypatch.setattr(locate, "SYSTEM_DATA_DIRS", {"FashionMNIST": (DEBIAN_FASHION_MNIST,), "MNIST": ()})
    dm = FashionMNISTDataModule(data_dir=str(tmp_path / "data"), batch_size=500)
    dm.setup("fit")
    test = dm.get_dataset("test")
    assert (len(dm.train_dataset), len(test)) == (60_000, 10_000)
    assert dm.train_dataset.targets.unique().tolist() == list(range(10))
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (500, 1, 28, 28) and y.shape == (500,)
    assert x.min() == -1 and x.max() == 1


def test_missing_data_names_every_place_looked_and_every_fix(tmp_path):
    os.environ["GANZOO_DATA"] = str(tmp_path / "env-data")
    data_dir = tmp_path / "my-data"
    with pytest.raises(DataNotFoundError) as caught:
        FashionMNISTDataModule(data_dir=str(data_dir)).setup()
    message = str(caught.value)
    for place in (data_dir / "FashionMNIST" / "raw", tmp_path / "env-data", tmp_path / "xdg-cache" / "ganzoo" / "data",
                  tmp_path / "no-debian-package"):
        assert str(place) in message
    for fix in ("data_dir=DIR", "GANZOO_DATA=DIR", "apt-get install -y dataset-fashion-mnist", "download=True"):
        assert fix in message

    for module, expected in [(MNISTDataModule, "MNIST/raw"), (CIFAR10DataModule, "cifar-10-batches-py"),
                             (CelebADataModule, "img_align_celeba")]:
        with pytest.raises(DataNotFoundError, match="download=True") as caught:
            module(data_dir=str(data_dir)).setup()
        assert expected in str(caught.value) and str(data_dir) in str(caught.value)
        assert isinstance(caught.value, FileNotFoundError)


# --------------------------------------------------------------------------- CIFAR-10 as an ImageFolder


def make_cifar_folder(root: Path, per_class: int = 2, splits=("train", "test")) -> dict[tuple[str, int], np.ndarray]:
    """``root/<split>/<class>/NNNN.png`` with random 32x32 RGB images; returns the pixels written."""
    rng = np.random.default_rng(1)
    pixels = {}
    for split in splits:
        for label, name in enumerate(CIFAR10_CLASSES):
            (root / split / name).mkdir(parents=True)
            for i in range(per_class):
                image = rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
                Image.fromarray(image).save(root / split / name / f"{i:04d}.png")
                pixels[(split, label * per_class + i)] = image
    return pixels


def test_cifar10_imagefolder_gives_3x32x32_and_labels_in_cifar_order(tmp_path):
    pixels = make_cifar_folder(tmp_path / "cifar")
    dm = CIFAR10DataModule(data_dir=str(tmp_path / "cifar"), batch_size=4)
    dm.setup("fit")
    assert dm.data_source == f"imagefolder:{tmp_path / 'cifar'}"
    dataset = dm.train_dataset
    assert dataset.classes == list(CIFAR10_CLASSES) and dataset.targets == [k // 2 for k in range(20)]
    x, y = dataset[7]
    assert x.shape == (3, 32, 32) == dm.image_shape and y == 3  # the 8th image is the 2nd cat
    torch.testing.assert_close(x, torch.from_numpy(pixels[("train", 7)]).permute(2, 0, 1).float() / 127.5 - 1)
    batch_x, batch_y = next(iter(dm.train_dataloader()))
    assert batch_x.shape == (4, 3, 32, 32) and batch_y.dtype == torch.long
    assert len(dm.get_dataset("test")) == 20


def test_cifar10_in_memory_decoding_equals_decoding_per_image(tmp_path):
    make_cifar_folder(tmp_path / "cifar", per_class=1, splits=("train",))
    per_image = CIFAR10DataModule(data_dir=str(tmp_path / "cifar"), channels=1, hflip=True)
    once = CIFAR10DataModule(data_dir=str(tmp_path / "cifar"), channels=1, hflip=True, in_memory=True)
    per_image.setup()
    once.setup()
    assert isinstance(once.train_dataset, InMemoryImages)
    assert len(once.train_dataset) == len(per_image.train_dataset) == 20
    for i in range(20):
        torch.testing.assert_close(once.train_dataset[i][0], per_image.train_dataset[i][0], atol=1e-6, rtol=0)
        assert int(once.train_dataset[i][1]) == per_image.train_dataset[i][1] == i % 10


def test_cifar10_torchvision_batches_are_preferred_and_read_in_memory(tmp_path, monkeypatch):
    """torchvision's pickled layout (original pixels), with its md5 check bypassed for fake files."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(3)
    pixels = {}
    for name in ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"):
        pixels[name] = rng.integers(0, 256, size=(2, 3 * 32 * 32), dtype=np.uint8)
        with open(folder / name, "wb") as f:
            pickle.dump({"data": pixels[name], "labels": [9, 4]}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": list(CIFAR10_CLASSES)}, f)
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *args, **kwargs: True)
    make_cifar_folder(tmp_path / "cifar10-jpeg", per_class=1, splits=("train",))  # also present: loses

    dm = CIFAR10DataModule(data_dir=str(tmp_path), batch_size=2)
    dm.setup()
    assert dm.data_source == f"torchvision:{tmp_path}"
    assert isinstance(dm.train_dataset, InMemoryImages) and len(dm.train_dataset) == 10
    x, y = dm.train_dataset[1]
    assert int(y) == 4
    torch.testing.assert_close(x, torch.from_numpy(pixels["data_batch_1"][1]).float().view(3, 32, 32) / 127.5 - 1)
    assert len(dm.get_dataset("test")) == 2


def test_cifar10_tarball_is_extracted_into_a_writable_root_not_a_read_only_one(tmp_path):
    make_cifar_folder(tmp_path / "tree", per_class=1, splits=("train",))
    shared = tmp_path / "shared"
    shared.mkdir()
    with tarfile.open(shared / "cifar10-jpeg.tar.gz", "w:gz") as archive:
        archive.add(tmp_path / "tree" / "train", arcname="train")
    shared.chmod(stat.S_IRUSR | stat.S_IXUSR)  # read-only, like a shared data folder
    os.environ["GANZOO_DATA"] = str(tmp_path / "cache")
    try:
        dm = CIFAR10DataModule(data_dir=str(shared), batch_size=2)
        dm.setup()
        assert sorted(p.name for p in shared.iterdir()) == ["cifar10-jpeg.tar.gz"]
    finally:
        shared.chmod(stat.S_IRWXU)
    assert dm.data_source == f"imagefolder:{tmp_path / 'cache' / 'cifar10-jpeg'}"
    assert len(dm.train_dataset) == 10 and dm.train_dataset.targets == list(range(10))

    # the helper itself, and its refusal of a tarball with another layout
    assert extract_cifar10_jpeg(shared / "cifar10-jpeg.tar.gz", tmp_path / "x") == tmp_path / "x"
    assert (tmp_path / "x" / "train" / "truck" / "0000.png").is_file()
    with tarfile.open(tmp_path / "bad.tar.gz", "w:gz") as archive:
        archive.add(tmp_path / "tree" / "train" / "cat", arcname="images/cat")
    with pytest.raises(DataNotFoundError, match="train/<class>"):
        extract_cifar10_jpeg(tmp_path / "bad.tar.gz", tmp_path / "y")


# --------------------------------------------------------------------------- generic ImageFolder


def test_flat_folder_native_shape_grey_and_labels(tmp_path):
    for i in range(3):
        Image.fromarray(np.full((20, 30), 40 * i, dtype=np.uint8)).save(tmp_path / f"{i}.png")
    dm = ImageFolderDataModule(root=str(tmp_path), batch_size=3)
    assert dm.image_shape == (1, 20, 30) and dm.resolution == (20, 30)
    dm.setup()
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (3, 1, 20, 30) and y.tolist() == [0, 0, 0]

    square = ImageFolderDataModule(root=str(tmp_path), resolution=16, channels=3, batch_size=3)
    square.setup()
    x, _ = square.train_dataset[2]
    assert x.shape == (3, 16, 16) == square.image_shape
    torch.testing.assert_close(x, torch.full((3, 16, 16), 80 / 127.5 - 1))  # a flat image stays flat


def test_class_subfolders_split_folders_and_mirroring(tmp_path):
    for split in ("train", "val"):
        for name in ("b_dogs", "a_cats"):
            (tmp_path / split / name).mkdir(parents=True)
            image = np.zeros((8, 8, 3), dtype=np.uint8)
            image[:, :4] = 255  # left half white: a horizontal flip is visible
            Image.fromarray(image).save(tmp_path / split / name / "0.png")
    dm = ImageFolderDataModule(root=str(tmp_path), hflip=True, batch_size=2)
    dm.setup()
    assert dm.data_source == f"imagefolder:{tmp_path / 'train'}" and len(dm.train_dataset) == 4
    (x0, y0), (x1, y1), (x2, y2) = dm.train_dataset[0], dm.train_dataset[1], dm.train_dataset[2]
    assert (y0, y1, y2) == (0, 1, 0)  # a_cats = 0, b_dogs = 1 (sorted), mirrored copies after
    assert (x0[:, :, :4] == 1).all() and torch.equal(x2, x0.flip(-1))
    assert len(dm.get_dataset("val", hflip=False)) == 2
    with pytest.raises(DataNotFoundError, match="split 'test'"):
        ImageFolderDataModule(root=str(tmp_path), split="test").setup()


def test_constructor_arguments_are_checked_and_the_table_is_complete():
    assert set(DATAMODULES) == {"toy", "fashion-mnist", "mnist", "cifar10", "celeba", "imagefolder"}
    assert CelebADataModule(resolution=64).image_shape == (3, 64, 64)
    assert CelebADataModule().image_shape == (3, 218, 178)
    assert CIFAR10DataModule(channels=1).image_shape == (1, 32, 32)
    with pytest.raises(ValueError, match="channels"):
        CIFAR10DataModule(channels=2)
    with pytest.raises(ValueError, match="'val'"):
        CIFAR10DataModule(split="val")
    with pytest.raises(ValueError, match="batch_size"):
        ToyDataModule(batch_size=0)
