"""Every Lightning callback of ganzoo, in one place (recipes name them ``ganzoo.callbacks.NAME``).

* ``GeneratorIterationCheckpoint`` - a checkpoint every N generator iterations, always ``last.ckpt``.
* ``RNGStateCheckpoint`` - the global RNG states in every checkpoint, restored on resume.
* ``SaveOnInterrupt`` - ``last.ckpt`` on Ctrl-C, and at the end of a run stopped between periodic checkpoints.
* ``DivergenceGuard`` - stops within one batch when a loss or penalty term becomes NaN/inf.
* ``EvaluationCallback`` - FID / KID / IS / precision-recall every N generator iterations.
* ``FineTuneFrom`` - starts a run from a pretrained zoo model.
* ``GeneratorIterationProgressBar`` - one bar in generator iterations.

``ganzoo fit`` installs the reliability ones by default (``ganzoo/training_cli.py``); checkpoint
file I/O (atomic writes, safe reads) is ``ganzoo.checkpoints``.
"""
from ganzoo.callbacks.checkpointing import GeneratorIterationCheckpoint, RNGStateCheckpoint, SaveOnInterrupt
from ganzoo.callbacks.divergence import DivergenceError, DivergenceGuard, last_good_checkpoint
from ganzoo.callbacks.evaluation import EvaluationCallback
from ganzoo.callbacks.finetune import FineTuneFrom
from ganzoo.callbacks.loggers import SafeWandbLogger, wandb_has_credentials
from ganzoo.callbacks.progress import GeneratorIterationProgressBar

__all__ = [
    "DivergenceError", "DivergenceGuard", "EvaluationCallback", "FineTuneFrom", "GeneratorIterationCheckpoint",
    "GeneratorIterationProgressBar", "RNGStateCheckpoint", "SafeWandbLogger", "SaveOnInterrupt",
    "last_good_checkpoint", "wandb_has_credentials",
]
