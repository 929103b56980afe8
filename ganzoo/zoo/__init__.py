"""The model zoo: registry, loading, saving, model cards and Hub publishing."""
from ganzoo.zoo.cards import render_model_card
from ganzoo.zoo.load import ModelNotAvailableError, load, load_gan
from ganzoo.zoo.publish import export_run, publish
from ganzoo.zoo.registry import ModelEntry, UnknownModelError, get_entry, list_models, registry
from ganzoo.zoo.serialization import (
    WeightsError,
    load_gan_from_folder,
    load_generator_from_folder,
    save,
    save_gan,
    save_generator,
    sha256_of,
)

__all__ = [
    "ModelEntry", "ModelNotAvailableError", "UnknownModelError", "WeightsError", "export_run", "get_entry",
    "list_models", "load", "load_gan", "load_gan_from_folder", "load_generator_from_folder", "publish",
    "registry", "render_model_card", "save", "save_gan", "save_generator", "sha256_of",
]
