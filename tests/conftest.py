"""Shared test settings: offline, quiet, CPU, and no environment leaks between tests."""
import gzip
import os
import tempfile
from pathlib import Path

import numpy as np

import pytest
import torch

# Tiny networks run faster on one thread, and CI has only 2 cores.
torch.set_num_threads(1)

os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_SILENT", "true")
# Metric caches (reference features, k-NN radii) go to a throw-away folder, not the user's ~/.cache.
os.environ.setdefault("GANZOO_METRICS_CACHE", tempfile.mkdtemp(prefix="ganzoo-test-metrics-cache-"))


# The toy 2-D networks every loop test uses (one definition; tests import them from here).
TOY_G = {"name": "MLPGenerator", "kwargs": {"latent_dim": 2, "out_dim": 2, "hidden_dim": 16, "n_layers": 2}}
TOY_D = {"name": "MLPDiscriminator", "kwargs": {"in_dim": 2, "hidden_dim": 16, "n_layers": 2}}


@pytest.fixture(autouse=True)
def _restore_environment():
    # DDP launchers and WandbLogger(offline=True) write env vars (MASTER_ADDR, LOCAL_RANK,
    # WANDB_MODE, ...) that would leak into later tests.
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def tiny_trainer_kwargs(tmp_path):
    """Trainer settings for fast, quiet CPU runs."""
    return dict(
        accelerator="cpu",
        devices=1,
        max_epochs=-1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(tmp_path),
    )


def write_idx(folder: Path, prefix: str, images: np.ndarray, labels: np.ndarray) -> None:
    """Write an idx3 image file and idx1 label file, gzip-compressed, as the original release does."""
    folder.mkdir(parents=True, exist_ok=True)
    n, h, w = images.shape
    header = (2051).to_bytes(4, "big") + n.to_bytes(4, "big") + h.to_bytes(4, "big") + w.to_bytes(4, "big")
    with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
        f.write(header + images.astype(np.uint8).tobytes())
    with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as f:
        f.write((2049).to_bytes(4, "big") + n.to_bytes(4, "big") + labels.astype(np.uint8).tobytes())


@pytest.fixture
def small_fashion_mnist_root(tmp_path) -> Path:
    """A data root holding a 64-image stand-in for Fashion-MNIST (``ROOT/FashionMNIST/raw/*.gz``):
    tests that train through a Fashion-MNIST recipe run without the real data set installed."""
    rng = np.random.default_rng(0)
    root = tmp_path / "small-fashion-mnist"
    raw = root / "FashionMNIST" / "raw"
    write_idx(raw, "train", rng.integers(0, 256, size=(64, 28, 28)), rng.integers(0, 10, size=64))
    write_idx(raw, "t10k", rng.integers(0, 256, size=(16, 28, 28)), rng.integers(0, 10, size=16))
    return root
