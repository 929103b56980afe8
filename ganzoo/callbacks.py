"""Callbacks that count in generator iterations and loggers that never block."""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Optional

import torch
from lightning.pytorch.callbacks import ModelCheckpoint, RichProgressBar

from ganzoo.lightning_compat import set_every_n_train_steps


class GeneratorIterationCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` every N *generator* iterations, always keeping ``last.ckpt``.

    Lightning's ``every_n_train_steps`` counts optimizer steps (D and G together), so
    N generator iterations are ``N * (n_critic + 1)`` of them; this converts once the
    module is known.
    """

    def __init__(self, every_n_generator_iterations: int = 1000, dirpath: Optional[str] = None,
                 filename: str = "giter-{g_iter:07.0f}", save_top_k: int = -1, **kwargs: Any) -> None:
        if every_n_generator_iterations < 1:
            raise ValueError(f"every_n_generator_iterations={every_n_generator_iterations}: must be >= 1")
        self.every_n_generator_iterations = every_n_generator_iterations
        kwargs["auto_insert_metric_name"] = False
        super().__init__(dirpath=dirpath, filename=filename, save_last=True, save_top_k=save_top_k,
                         every_n_train_steps=every_n_generator_iterations, **kwargs)

    def _monitor_candidates(self, trainer) -> dict:  # private hook: listed in ganzoo/lightning_compat.py
        # The file name shows the generator iteration even between logging steps.
        candidates = super()._monitor_candidates(trainer)
        candidates["g_iter"] = torch.tensor(float(trainer.lightning_module.generator_iterations))
        return candidates

    def setup(self, trainer, pl_module, stage: str) -> None:
        super().setup(trainer, pl_module, stage)
        steps_per_iteration = pl_module.hparams.get("n_critic", 1) + 1
        set_every_n_train_steps(self, self.every_n_generator_iterations * steps_per_iteration)
        # Under manual optimization Lightning warns (a screenful, on every run) that the checkpoint
        # holds the state AFTER the optimizer step. That is exactly what a checkpoint "after
        # generator iteration N" should hold, so the warning only confuses. One filter, installed
        # once: a catch_warnings around every batch would reset Python's once-only warning registry.
        warnings.filterwarnings("ignore", message="Using ModelCheckpoint with manual optimization")


def wandb_has_credentials() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    netrc = Path.home() / ".netrc"
    return netrc.exists() and "api.wandb.ai" in netrc.read_text(errors="ignore")


from lightning.pytorch.loggers import WandbLogger  # noqa: E402


class SafeWandbLogger(WandbLogger):
    """``WandbLogger`` that goes offline (never prompts for a key) when there are no credentials.

    Use in a recipe as ``trainer.logger: {class_path: ganzoo.callbacks.SafeWandbLogger}``.
    """

    def __init__(self, *args: Any, offline: bool = False, **kwargs: Any) -> None:
        no_credentials = not wandb_has_credentials() and os.environ.get("WANDB_MODE") != "disabled"
        super().__init__(*args, offline=offline or no_credentials, **kwargs)


class GeneratorIterationProgressBar(RichProgressBar):
    """One bar for the whole run, in generator iterations, with it/s, ETA and the losses.

    Lightning's default bar restarts every epoch and reads "Epoch 29/-2" (epochs are unbounded here:
    the length is ``max_generator_iterations``) with a "v_num" field. One training step is one
    generator iteration, so this bar counts what papers count. (It builds on RichProgressBar's
    task helpers ``_add_task`` / ``_update`` / ``_update_metrics``.)
    """

    DESCRIPTION = "train (G iterations)"

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if self.is_disabled or self.progress is None:
            return
        if self.train_progress_bar_id is None:  # once per run, not per epoch
            total = getattr(pl_module.hparams, "max_generator_iterations", None) or float("inf")
            self.train_progress_bar_id = self._add_task(total, self.DESCRIPTION)
        self.refresh()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.is_disabled or self.progress is None:
            return
        if self.train_progress_bar_id is None:
            self.on_train_epoch_start(trainer, pl_module)
        self._update(self.train_progress_bar_id, int(getattr(pl_module, "generator_iterations", batch_idx + 1)))
        self._update_metrics(trainer, pl_module)
        self.refresh()

    def get_metrics(self, trainer, pl_module) -> dict:
        metrics = super().get_metrics(trainer, pl_module)
        for name in ("v_num", "g_iter"):  # the bar itself counts iterations
            metrics.pop(name, None)
        return {k: v for k, v in metrics.items() if not k.startswith(("progan/", "eval/"))}
