"""``ganzoo.load``: a registry name, a local folder or a Hub repo id -> a ready generator.

Lookup order for a registry name: weights bundled inside the package -> the local
Hugging Face cache -> ``hf_hub_download`` at the entry's pinned revision. Every file
from the registry is checked against its pinned sha256 before it is read, and only
safetensors are read (no pickles). Loading never writes a file.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import torch

from ganzoo.zoo.registry import ModelEntry, UnknownModelError, get_entry, registry
from ganzoo.zoo.serialization import (
    CONFIG_NAME,
    WEIGHTS_NAME,
    load_gan_from_folder,
    load_generator_from_folder,
)

# The Hub's own limits: a namespace and a repo name of at most 96 characters each.
HUB_REPO_PATTERN = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[\w.-]{1,96}$")


class ModelNotAvailableError(RuntimeError):
    """The model exists but its files cannot be reached from here (offline, not cached)."""


def load(name_or_path: str, *, ema: bool = True, device: Optional[str | torch.device] = None,
         revision: Optional[str] = None):
    """Return the generator (EMA weights by default) in eval mode.

    Args:
        name_or_path: a registry name (``ganzoo.list_models()``), a folder written by
            ``ganzoo.save`` / ``ganzoo publish``, or a Hub repo id ``org/name``.
        ema: the exponential-moving-average generator (what is published) or, for
            full-GAN exports, the raw trained weights.
        device: where to put it (default: CPU).
        revision: Hub revision (overrides the registry's pinned one).
    """
    folder, config, weights, sha256 = _resolve(name_or_path, revision)
    generator = load_generator_from_folder(folder, ema=ema, sha256=sha256, weights_path=weights, config_path=config)
    return generator.to(device or "cpu")


def load_gan(name_or_path: str, *, revision: Optional[str] = None):
    """The full GAN LightningModule (G, EMA G, D, hyper-parameters) for fine-tuning."""
    folder, config, weights, sha256 = _resolve(name_or_path, revision)
    return load_gan_from_folder(folder, sha256=sha256, weights_path=weights, config_path=config)


def _resolve(name_or_path: str, revision: Optional[str]) -> tuple[Path, Path, Path, Optional[str]]:
    """-> (folder, its config.json, weights file, expected sha256 or None)."""
    if not isinstance(name_or_path, (str, Path)) or not str(name_or_path):
        raise ValueError(f"expected a model name, folder or repo id, got {name_or_path!r}")
    path = Path(name_or_path)
    is_dir, exists = _stat(path)
    if is_dir:
        if not (path / CONFIG_NAME).is_file():
            raise FileNotFoundError(f"{path} is a folder but has no {CONFIG_NAME}: not a ganzoo pretrained folder")
        return path, path / CONFIG_NAME, path / WEIGHTS_NAME, None
    name = str(name_or_path)
    if name in registry():
        return _resolve_entry(get_entry(name), revision)
    if HUB_REPO_PATTERN.match(name) and not exists:
        folder = _download(name, revision or "main", sha256=None)
        return folder, folder / CONFIG_NAME, folder / WEIGHTS_NAME, None
    raise UnknownModelError(name, list(registry()))


def _stat(path: Path) -> tuple[bool, bool]:
    """(is a folder, exists); a string that cannot be a path (too long, NUL byte) is neither."""
    try:
        return path.is_dir(), path.exists()
    except (OSError, ValueError):
        return False, False


def _resolve_entry(entry: ModelEntry, revision: Optional[str]) -> tuple[Path, Path, Path, Optional[str]]:
    if entry.bundled and entry.bundled_weights.exists() and revision is None:
        # Bundled files are named after the model and read where they are: nothing is copied
        # (a copy in a shared temporary folder could be redirected by another user's symlink).
        return entry.bundled_weights.parent, entry.bundled_config, entry.bundled_weights, entry.sha256
    if entry.hf_repo_id is None:
        raise ModelNotAvailableError(
            f"{entry.name}: its weights are neither bundled in this installation nor published on the Hub. "
            "Reinstall ganzoo (pip install --force-reinstall ganzoo) to restore bundled weights."
        )
    folder = _download(entry.hf_repo_id, revision or entry.revision or "main", sha256=entry.sha256)
    return folder, folder / CONFIG_NAME, folder / WEIGHTS_NAME, entry.sha256


def _download(repo_id: str, revision: str, sha256: Optional[str]) -> Path:
    """Fetch config + weights through huggingface_hub (its cache first; offline-aware)."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HFValidationError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    # Without a network huggingface_hub retries for about 25 s before failing: look first, and use
    # the local cache only when the Hub cannot be reached.
    local_only = not _hub_reachable()
    try:
        weights = Path(hf_hub_download(repo_id, WEIGHTS_NAME, revision=revision, local_files_only=local_only))
        hf_hub_download(repo_id, CONFIG_NAME, revision=revision, local_files_only=local_only)
    except LocalEntryNotFoundError:
        raise ModelNotAvailableError(
            f"could not get {repo_id} (revision {revision}) from the Hugging Face Hub: the Hub is unreachable "
            "or HF_HUB_OFFLINE is set, and the files are not in the local cache "
            f"({_hub_cache()}). Fix: on a machine with internet run "
            f"`huggingface-cli download {repo_id} --revision {revision}` and copy the cache here (or set "
            "HF_HUB_CACHE to it), or pass a local folder holding model.safetensors + config.json."
        ) from None
    except HFValidationError as error:  # e.g. "a/b..c": the Hub's own rules on repo ids and revisions
        raise ModelNotAvailableError(f"{repo_id} (revision {revision}) is not a valid Hub repo id: {error}") from None
    except (RepositoryNotFoundError, EntryNotFoundError) as error:
        raise ModelNotAvailableError(f"{repo_id} (revision {revision}) is not a ganzoo model on the Hub: {error}") from None
    except OSError as error:  # network failures surface as OSError subclasses (requests/httpx)
        raise ModelNotAvailableError(
            f"could not reach the Hugging Face Hub for {repo_id}: {error}. Set HF_HUB_OFFLINE=1 to use the "
            "local cache only, or pass a local folder."
        ) from None
    return weights.parent


def _hub_reachable(timeout: float = 2.0) -> bool:
    """False at once when HF_HUB_OFFLINE is set or the Hub's host cannot be resolved / connected to."""
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _hub_cache() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)
