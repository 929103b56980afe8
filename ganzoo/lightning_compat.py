"""Every use of Lightning's private API, in one place.

ganzoo needs a few things Lightning keeps private: whether this step's logs will be written (to
skip ``self.log`` calls, about a millisecond each, in the other steps) and writing logs at once, the
optimizer-step period of a ``ModelCheckpoint`` (set from generator iterations), saving one at a batch's
end when ganzoo's own period says so, the checkpoint's file-name values, the resume hook of ``LightningCLI``, ``RichProgressBar``'s task helpers, and the
manual-optimization loop's step counters (to step an optimizer without Lightning's per-step hook
dispatch when nothing listens; a profiler then shows no entries for those hooks). They are reached only
through this module; ``check_private_api()`` lists what has gone missing and a test runs it, so a
Lightning upgrade that moves one fails loudly in one place instead of somewhere in training.
"""
from __future__ import annotations

import warnings

import lightning
from lightning.pytorch import LightningModule
from lightning.pytorch.callbacks import Callback, ModelCheckpoint, RichProgressBar
from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.core.optimizer import LightningOptimizer
from lightning.pytorch.loops.optimization.manual import _ManualOptimization
from lightning.pytorch.plugins.precision import MixedPrecision, Precision
from lightning.pytorch.strategies import SingleDeviceStrategy
from lightning.pytorch.trainer.connectors.logger_connector import _LoggerConnector

TESTED_LIGHTNING = "2.6"

# (owner, attribute) pairs ganzoo reads, calls or overrides.
PRIVATE_API = (
    (_LoggerConnector, "should_update_logs"),
    (_LoggerConnector, "log_metrics"),
    (ModelCheckpoint, "_monitor_candidates"),
    (ModelCheckpoint, "_should_skip_saving_checkpoint"),
    (ModelCheckpoint, "_save_topk_checkpoint"),
    (ModelCheckpoint, "_save_last_checkpoint"),
    (LightningCLI, "_parse_ckpt_path"),
    (RichProgressBar, "_add_task"),
    (RichProgressBar, "_update"),
    (RichProgressBar, "_update_metrics"),
    (_ManualOptimization, "_on_before_step"),  # what LightningOptimizer._on_before_step is set to
    (_ManualOptimization, "_on_after_step"),
)

# The hooks Lightning dispatches around every manual optimizer step (``manual_backward`` and
# ``LightningOptimizer.step``), through its strategy and precision plugin.
OPTIMIZER_STEP_HOOKS = ("on_before_backward", "on_after_backward", "on_before_optimizer_step")


def should_update_logs(trainer) -> bool:
    """True in the steps whose logged values the Trainer writes out (every ``log_every_n_steps``)."""
    return bool(trainer._logger_connector.should_update_logs)


def write_logs_now(trainer, metrics: dict[str, float]) -> None:
    """Send ``metrics`` to every logger at once, at the step (and with the epoch) the Trainer's own
    rows use. For numbers logged in a step whose logs the Trainer does not write: it keeps them only
    until the epoch ends, so one logged just before an epoch boundary would never reach the logs."""
    trainer._logger_connector.log_metrics(dict(metrics))


def save_checkpoint_now(checkpoint: ModelCheckpoint, trainer) -> None:
    """What ``ModelCheckpoint`` does when its period falls on a batch's end (top-k files and
    ``last.ckpt``), for a callback that counts its own period; nothing when this step was saved already
    or the Trainer is in a state that saves nothing (sanity check, fast_dev_run)."""
    if checkpoint._should_skip_saving_checkpoint(trainer):
        return
    candidates = checkpoint._monitor_candidates(trainer)
    checkpoint._save_topk_checkpoint(trainer, candidates)
    checkpoint._save_last_checkpoint(trainer, candidates)


def set_every_n_train_steps(checkpoint: ModelCheckpoint, steps: int) -> None:
    """A ModelCheckpoint's period in optimizer steps, changed after construction (once n_critic is known)."""
    checkpoint._every_n_train_steps = int(steps)


def plain_steps_are_equivalent(trainer, module: LightningModule) -> bool:
    """True when ``loss.backward()`` and ``optimizer.step()`` do exactly what ``manual_backward`` and
    ``LightningOptimizer.step`` would: one process (no DDP gradient hooks), no gradient scaler (fp32 or
    bf16-mixed), and no callback or module hook listening to the step. Lightning's dispatch of those
    empty hooks costs about 0.3-0.5 ms per optimizer step on a CPU (benchmarks/RESULTS.md), paid
    n_critic + 1 times per generator iteration. A callback can declare that it overrides a step hook
    but does not need it now with a ``needs_optimizer_step_hooks`` attribute (the DivergenceGuard
    does when it checks no gradient norms)."""
    precision = trainer.precision_plugin
    plain_precision = type(precision) is Precision or (
        type(precision) is MixedPrecision and precision.scaler is None)
    if type(trainer.strategy) is not SingleDeviceStrategy or not plain_precision:
        return False
    if type(module).backward is not LightningModule.backward:
        return False
    if any(getattr(type(module), hook) is not getattr(LightningModule, hook) for hook in OPTIMIZER_STEP_HOOKS):
        return False
    return not any(_listens_to_optimizer_steps(callback) for callback in trainer.callbacks)


def _listens_to_optimizer_steps(callback: Callback) -> bool:
    declared = getattr(callback, "needs_optimizer_step_hooks", None)
    if declared is not None:
        return bool(declared)
    return any(getattr(type(callback), hook) is not getattr(Callback, hook) for hook in OPTIMIZER_STEP_HOOKS)


def plain_optimizer_step(optimizer: LightningOptimizer) -> None:
    """``optimizer.step()`` without the hook dispatch, still counted as Lightning counts it
    (``trainer.global_step``, checkpoint periods and logging depend on that count)."""
    optimizer._on_before_step()
    optimizer.optimizer.step()
    optimizer._on_after_step()


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
