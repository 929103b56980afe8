"""Shared test settings: offline, quiet, CPU, and no environment leaks between tests."""
import os

import pytest
import torch

# Tiny networks run faster on one thread, and CI has only 2 cores.
torch.set_num_threads(1)

os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_SILENT", "true")


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
