"""``ganzoo fit`` / ``ganzoo validate``: LightningCLI over every GAN variant and datamodule.

A recipe picks ``model.class_path`` (a variant in ``ganzoo.gans``) and
``data.class_path`` (a datamodule in ``ganzoo.data``); every argument of the module,
datamodule and Trainer can be overridden from the command line. Training length is
``model.max_generator_iterations`` (generator updates, what papers count).
"""
from __future__ import annotations

import sys
from typing import Sequence

from lightning.pytorch import LightningDataModule
from lightning.pytorch.cli import LightningCLI

from ganzoo.gans.base import GAN


class GanzooCLI(LightningCLI):
    def add_arguments_to_parser(self, parser) -> None:
        # Defaults every recipe gets unless it says otherwise.
        parser.set_defaults(
            {
                "trainer.max_epochs": -1,
                "trainer.callbacks": [
                    {"class_path": "ganzoo.callbacks.GeneratorIterationCheckpoint",
                     "init_args": {"every_n_generator_iterations": 1000}},
                ],
            }
        )


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
