"""Every use of Lightning's private API, in one place.

ganzoo needs a few things Lightning keeps private: whether this step's logs will be written (to
skip ``self.log`` calls, about a millisecond each, in the other steps) and writing logs at once, the optimizer-step period of
a ``ModelCheckpoint`` (set from generator iterations), the checkpoint's file-name values, the
resume hook of ``LightningCLI``, and ``RichProgressBar``'s task helpers. They are reached only
through this module; ``check_private_api()`` lists what has gone missing and a test runs it, so a
Lightning upgrade that moves one fails loudly in one place instead of somewhere in training.
"""
from __future__ import annotations

import warnings

import lightning
from lightning.pytorch.callbacks import ModelCheckpoint, RichProgressBar
from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.trainer.connectors.logger_connector import _LoggerConnector

TESTED_LIGHTNING = "2.6"

# (owner, attribute) pairs ganzoo reads, calls or overrides.
PRIVATE_API = (
    (_LoggerConnector, "should_update_logs"),
    (_LoggerConnector, "log_metrics"),
    (ModelCheckpoint, "_monitor_candidates"),
    (LightningCLI, "_parse_ckpt_path"),
    (RichProgressBar, "_add_task"),
    (RichProgressBar, "_update"),
    (RichProgressBar, "_update_metrics"),
)


def should_update_logs(trainer) -> bool:
    """True in the steps whose logged values the Trainer writes out (every ``log_every_n_steps``)."""
    return bool(trainer._logger_connector.should_update_logs)


def write_logs_now(trainer, metrics: dict[str, float]) -> None:
    """Send ``metrics`` to every logger at once, at the step (and with the epoch) the Trainer's own
    rows use. For numbers logged in a step whose logs the Trainer does not write: it keeps them only
    until the epoch ends, so one logged just before an epoch boundary would never reach the logs."""
    trainer._logger_connector.log_metrics(dict(metrics))


def set_every_n_train_steps(checkpoint: ModelCheckpoint, steps: int) -> None:
    """A ModelCheckpoint's period in optimizer steps, changed after construction (once n_critic is known)."""
    checkpoint._every_n_train_steps = int(steps)


def check_private_api() -> list[str]:
    """The private names this module relies on that the installed Lightning lacks (empty: all there)."""
    missing = [f"{owner.__name__}.{name}" for owner, name in PRIVATE_API if not hasattr(owner, name)]
    if not hasattr(ModelCheckpoint(), "_every_n_train_steps"):
        missing.append("ModelCheckpoint()._every_n_train_steps")
    return missing


if not lightning.__version__.startswith(TESTED_LIGHTNING + "."):
    warnings.warn(f"ganzoo was tested with Lightning {TESTED_LIGHTNING}.x and uses some of its private API "
                  f"(ganzoo/lightning_compat.py); you have {lightning.__version__}. If training fails, run "
                  "`python -c 'import ganzoo.lightning_compat as c; print(c.check_private_api())'`.", stacklevel=2)
