"""``ganzoo fit`` / ``ganzoo validate``: LightningCLI over every GAN variant and datamodule.

A recipe picks ``model.class_path`` (a variant in ``ganzoo.gans``) and
``data.class_path`` (a datamodule in ``ganzoo.data``); every argument of the module,
datamodule and Trainer can be overridden from the command line. Training length is
``model.max_generator_iterations`` (generator updates, what papers count).
"""
from __future__ import annotations

import csv
import logging
import sys
import warnings
from pathlib import Path
from typing import Optional, Sequence

from lightning.pytorch import LightningDataModule
from lightning.pytorch.callbacks import RichProgressBar, TQDMProgressBar
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning.pytorch.loggers import CSVLogger

from ganzoo.callbacks import DivergenceGuard, GeneratorIterationProgressBar, RNGStateCheckpoint, SaveOnInterrupt
from ganzoo.checkpoints import is_local_path
from ganzoo.devices import one_thread_for_small_mlps, slow_cpu_bfloat16_warning
from ganzoo.gans.base import GAN


class ConfigError(ValueError):
    """A recipe or flag the parser refused, in one line (see ``_one_line_config_error``)."""


class _OneLineErrorParser(LightningArgumentParser):
    """jsonargparse prints the whole usage (about 50 lines) before its error; ``ganzoo fit`` shows
    one line instead (and ``ganzoo fit --help`` the usage)."""

    def error(self, message: str, ex: Optional[Exception] = None):  # noqa: D401 - argparse's signature
        raise ConfigError(_one_line_config_error(message))


def _one_line_config_error(message: str) -> str:
    """The informative part of a jsonargparse error: the key, then the innermost reason."""
    hint = "(run `ganzoo fit --help` for the accepted options)"
    lines = [line.strip().lstrip("- ") for line in str(message).splitlines() if line.strip()]
    if not lines:
        return "invalid configuration"
    condensed = [line for line in lines[1:] if hint in line]  # a nested parser's error, already one line
    if condensed:
        return f"{lines[0].rstrip(':')}: {condensed[0]}"
    reasons = [line for line in lines if any(word in line for word in ("not accepted", "Did you mean", "No action",
                                                                        "unrecognized", "does not exist", "Expected a"))]
    first = lines[0].rstrip(":")
    if reasons and reasons[0] != lines[0]:
        return f"{first}: {reasons[0]} {hint}"
    return f"{first} {hint}"


class GanzooCLI(LightningCLI):
    def add_arguments_to_parser(self, parser) -> None:
        # Always installed, whatever a recipe's trainer.callbacks say (docs/reliability.md):
        # stop on NaN/inf losses (tune with --divergence_guard.max_grad_norm 1000 ...), keep the
        # global RNG streams in checkpoints so a resumed run continues them exactly, save on Ctrl-C.
        parser.add_lightning_class_args(DivergenceGuard, "divergence_guard")
        parser.add_lightning_class_args(RNGStateCheckpoint, "rng_state")
        # Ctrl-C (or any exception) before the first periodic checkpoint must not lose the run.
        parser.add_lightning_class_args(SaveOnInterrupt, "save_on_interrupt")
        # Defaults every recipe gets unless it says otherwise. AtomicCheckpointIO: a kill during a
        # save leaves the previous checkpoint intact, and checkpoints are read with weights_only=True.
        parser.set_defaults(
            {
                "trainer.max_epochs": -1,
                "trainer.callbacks": [
                    {"class_path": "ganzoo.callbacks.GeneratorIterationCheckpoint",
                     "init_args": {"every_n_generator_iterations": 1000}},
                ],
                "trainer.plugins": [{"class_path": "ganzoo.checkpoints.AtomicCheckpointIO"}],
                # Lightning's summary shows "FLOPs 0" for GANs (no example input); the parameter counts
                # are printed at the start of fit instead (GAN.on_fit_start).
                "trainer.enable_model_summary": False,
            }
        )


    def _parse_ckpt_path(self) -> None:  # private hook: listed in ganzoo/lightning_compat.py
        # Lightning would overwrite the recipe and flags with the checkpoint's hyper-parameters;
        # resuming here means "this recipe, continued": flags such as a larger
        # --model.init_args.max_generator_iterations must win.
        return

    def before_instantiate_classes(self) -> None:
        """Resuming with a configured logger continues in the checkpoint's own run folder (same
        ``version_N``: one folder per run): ``--ckpt_path last`` finds the newest ``last.ckpt`` of
        this recipe's runs; a named checkpoint of one of them is continued in its folder too."""
        self._resume_folder = None
        config = self.config[self.subcommand] if self.subcommand else self.config
        ckpt_path = config.get("ckpt_path")
        logger = config.get("trainer", {}).get("logger") if ckpt_path else None
        init_args = getattr(logger, "init_args", None)
        if init_args is None or "save_dir" not in init_args or "version" not in init_args:
            return  # no logger settings to read: before_fit looks under the instantiated logger
        root = Path(init_args.save_dir) / (init_args.get("name") or "")
        if ckpt_path == "last":
            checkpoint = _newest_last_checkpoint(root)
            config["ckpt_path"] = str(checkpoint)
        elif is_local_path(ckpt_path):
            checkpoint = Path(ckpt_path)
        else:
            return  # a remote checkpoint (s3:// ...): passed to Lightning as given, it has no local run folder
        run_folder = checkpoint.parent.parent
        same_recipe = run_folder.resolve().parent == root.resolve()
        if same_recipe and run_folder.name.startswith("version_") and init_args.version is None:
            suffix = run_folder.name[len("version_"):]
            init_args.version = int(suffix) if suffix.isdigit() else run_folder.name
            self._resume_folder = run_folder
            # Continuing in the run's own folder is the point: Lightning's warnings about a non-empty
            # log / checkpoint folder (and "previous log files will be deleted": they are carried over,
            # see _keep_metrics_log) would only alarm.
            warnings.filterwarnings("ignore", message=r"Experiment logs directory .* exists and is not empty")
            warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty")
        print(f"resuming from {checkpoint}")

    def before_fit(self) -> None:
        _use_generator_iteration_progress_bar(self.trainer)
        on_cpu = self.trainer.accelerator.__class__.__name__ == "CPUAccelerator"
        if on_cpu:
            one_thread_for_small_mlps(self.model)
        slow_bfloat16 = slow_cpu_bfloat16_warning(self.trainer.precision, on_cpu)
        if slow_bfloat16:
            print(slow_bfloat16, file=sys.stderr)
        config = self.config_init[self.subcommand]
        if config.get("ckpt_path") == "last":  # no logger settings in the config: the Trainer's logger
            logger = self.trainer.logger
            root = Path(logger.save_dir) / logger.name if logger is not None else Path(self.trainer.default_root_dir)
            config["ckpt_path"] = str(_newest_last_checkpoint(root))
            print(f"resuming from {config['ckpt_path']}")
        if getattr(self, "_resume_folder", None) is not None:
            _keep_metrics_log(self.trainer.logger, self._resume_folder / "metrics.csv", _logged_step_of(config["ckpt_path"]))


def _use_generator_iteration_progress_bar(trainer) -> None:
    """Swap Lightning's default per-epoch bar (when it is the one in use) for one counting G iterations."""
    for index, callback in enumerate(trainer.callbacks):
        if type(callback) in (TQDMProgressBar, RichProgressBar):
            trainer.callbacks[index] = GeneratorIterationProgressBar()


class _DropLightningTips(logging.Filter):
    """Lightning advertises other products ("Tip: ... try installing litlogger") on every fit."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Tip:" not in str(record.getMessage())


logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_DropLightningTips())
# torch's _pytree deprecation, raised inside Lightning's own code on every fit: nothing a user can act on.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")


def _newest_last_checkpoint(root: Path) -> Path:
    candidates = sorted(root.rglob("last.ckpt"), key=lambda path: path.stat().st_mtime)
    if not candidates:
        raise FileNotFoundError(f"--ckpt_path last: no last.ckpt under {root}; nothing to resume")
    return candidates[-1]


def _logged_step_of(checkpoint: str) -> int:
    """The "step" the CSV logger writes (Lightning's count of training steps) at the checkpoint."""
    import torch

    # mmap: only the counter is read, not the weights (weights_only: no code runs from the file)
    loops = torch.load(checkpoint, map_location="cpu", mmap=True, weights_only=True).get("loops") or {}
    state = loops.get("fit_loop", {}).get("epoch_loop.state_dict", {})
    return int(state.get("_batches_that_stepped", 0)) + 1


def _keep_metrics_log(logger, metrics_csv: Path, resumed_step: int) -> None:
    """Lightning's CSV writer deletes an existing metrics.csv when it opens its folder; a resumed run
    writes into the same folder, so carry the earlier rows over (they are written at its next save).
    Rows logged after the checkpoint are dropped: the resumed run logs those steps again."""
    if not metrics_csv.is_file() or not isinstance(logger, CSVLogger):
        return
    with open(metrics_csv, newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if int(float(row.get("step") or 0)) < resumed_step]
    writer = logger.experiment  # creates the writer (and deletes the file): the rows are in memory
    writer.metrics[:0] = [{key: value for key, value in row.items() if value != ""} for row in rows]


def run_lightning_cli(argv: Sequence[str]) -> GanzooCLI:
    return GanzooCLI(
        GAN,
        LightningDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        # None = read sys.argv (Lightning warns when given both)
        args=None if list(argv) == sys.argv[1:] else list(argv),
        save_config_kwargs={"overwrite": True},
        auto_configure_optimizers=False,
        parser_class=_OneLineErrorParser,
    )
