"""Loggers that never block: W&B goes offline instead of prompting for a key."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import WandbLogger


def wandb_has_credentials() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    netrc = Path.home() / ".netrc"
    return netrc.exists() and "api.wandb.ai" in netrc.read_text(errors="ignore")


class SafeWandbLogger(WandbLogger):
    """``WandbLogger`` that goes offline (never prompts for a key) when there are no credentials.

    Use in a recipe as ``trainer.logger: {class_path: ganzoo.callbacks.SafeWandbLogger}``.
    """

    def __init__(self, *args: Any, offline: bool = False, **kwargs: Any) -> None:
        no_credentials = not wandb_has_credentials() and os.environ.get("WANDB_MODE") != "disabled"
        super().__init__(*args, offline=offline or no_credentials, **kwargs)
