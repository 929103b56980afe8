"""``ganzoo fit`` / ``ganzoo validate``: LightningCLI over every GAN variant and datamodule.

A recipe picks ``model.class_path`` (a variant in ``ganzoo.gans``) and
``data.class_path`` (a datamodule in ``ganzoo.data``); every argument of the module,
datamodule and Trainer can be overridden from the command line. Training length is
``model.max_generator_iterations`` (generator updates, what papers count).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from lightning.pytorch import LightningDataModule
from lightning.pytorch.cli import LightningCLI

from ganzoo.gans.base import GAN
from ganzoo.reliability import DivergenceGuard, RNGStateCheckpoint


class GanzooCLI(LightningCLI):
    def add_arguments_to_parser(self, parser) -> None:
        # Always installed, whatever a recipe's trainer.callbacks say (docs/reliability.md):
        # stop on NaN/inf losses (tune with --divergence_guard.max_grad_norm 1000 ...) and keep the
        # global RNG streams in checkpoints so a resumed run continues them exactly.
        parser.add_lightning_class_args(DivergenceGuard, "divergence_guard")
        parser.add_lightning_class_args(RNGStateCheckpoint, "rng_state")
        # Defaults every recipe gets unless it says otherwise. AtomicCheckpointIO: a kill during a
        # save leaves the previous checkpoint intact, and checkpoints are read with weights_only=True.
        parser.set_defaults(
            {
                "trainer.max_epochs": -1,
                "trainer.callbacks": [
                    {"class_path": "ganzoo.callbacks.GeneratorIterationCheckpoint",
                     "init_args": {"every_n_generator_iterations": 1000}},
                ],
                "trainer.plugins": [{"class_path": "ganzoo.reliability.AtomicCheckpointIO"}],
            }
        )


    def _parse_ckpt_path(self) -> None:
        # Lightning would overwrite the recipe and flags with the checkpoint's hyper-parameters;
        # resuming here means "this recipe, continued": flags such as a larger
        # --model.init_args.max_generator_iterations must win.
        return

    def before_fit(self) -> None:
        """``--ckpt_path last``: the newest ``last.ckpt`` of this recipe's runs (any version)."""
        config = self.config_init[self.subcommand]
        if config.get("ckpt_path") != "last":
            return
        logger = self.trainer.logger
        root = Path(logger.save_dir) / logger.name if logger is not None else Path(self.trainer.default_root_dir)
        candidates = sorted(root.rglob("last.ckpt"), key=lambda path: path.stat().st_mtime)
        if not candidates:
            raise FileNotFoundError(f"--ckpt_path last: no last.ckpt under {root}; nothing to resume")
        config["ckpt_path"] = str(candidates[-1])
        print(f"resuming from {candidates[-1]}")


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
    )
