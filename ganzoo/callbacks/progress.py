"""The training progress bar, in generator iterations."""
from __future__ import annotations

from lightning.pytorch.callbacks import RichProgressBar


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
