"""Published weights: ``model.safetensors`` + ``config.json`` (+ ``README.md`` model card).

Two kinds of folder share one format:

* ``kind: "generator"`` - one generator (usually the EMA weights); keys are the
  generator's own state_dict keys.
* ``kind: "gan"`` - everything needed to fine-tune: keys prefixed ``generator.``,
  ``generator_ema.`` (optional) and ``discriminator.``, plus the variant name and its
  hyper-parameters so the LightningModule can be rebuilt.

Loading is always strict: a missing, unexpected or mis-shaped tensor is an error,
never silently ignored (``PyTorchModelHubMixin`` defaults to ``strict=False``).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from ganzoo.nn.base import Discriminator, Generator, build_network

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
CARD_NAME = "README.md"
FORMAT_VERSION = 1
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


class WeightsError(ValueError):
    """A weights file or config that cannot be loaded as it is (corrupt, mismatched, tampered)."""


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: str | Path, expected: str | None) -> None:
    if expected is None:
        return
    actual = sha256_of(path)
    if actual != expected:
        raise WeightsError(
            f"sha256 mismatch for {path}: expected {expected}, got {actual}. The file is corrupted or is not "
            "the published one; delete it and download it again."
        )


# ---------------------------------------------------------------------- saving
def save_generator(generator: Generator, folder: str | Path, *, dtype: str = "float32",
                   extra_config: dict[str, Any] | None = None, card: str | None = None) -> Path:
    """Write a generator as a pretrained folder. Returns the folder."""
    state = _prefixed(generator, "")
    config = {"kind": "generator", "generator": generator.config, **(extra_config or {})}
    return _write_folder(folder, state, config, dtype, card)


def save_gan(gan, folder: str | Path, *, dtype: str = "float32", extra_config: dict[str, Any] | None = None,
             card: str | None = None) -> Path:
    """Write a full GAN (G, EMA G, D and hyper-parameters) for fine-tuning."""
    from ganzoo.gans import variant_name

    variant = variant_name(type(gan))
    state = {**_prefixed(gan.generator, "generator."), **_prefixed(gan.discriminator, "discriminator.")}
    if gan.generator_ema is not None:
        state.update(_prefixed(gan.generator_ema.module, "generator_ema."))
    hparams = {k: v for k, v in dict(gan.hparams).items() if k not in ("generator", "discriminator")}
    config = {
        "kind": "gan",
        "variant": variant,
        "generator": gan.generator.config,
        "discriminator": gan.discriminator.config,
        "hparams": _json_clean(hparams),
        **gan.training_progress(),  # generator_iterations (and ProGAN's images_shown)
        **(extra_config or {}),
    }
    return _write_folder(folder, state, config, dtype, card)


def _prefixed(module: nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    return {prefix + key: value for key, value in module.state_dict().items()}


def _write_folder(folder, state, config, dtype, card) -> Path:
    if dtype not in DTYPES:
        raise ValueError(f"dtype={dtype!r}: choose one of {', '.join(DTYPES)}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # Only floating tensors are cast; integer buffers (BatchNorm counters) keep their dtype.
    tensors = {
        key: (value.detach().to(DTYPES[dtype]) if value.is_floating_point() else value.detach()).contiguous().cpu()
        for key, value in state.items()
    }
    from ganzoo import __version__

    config = {"format_version": FORMAT_VERSION, "ganzoo_version": __version__, "dtype": dtype, **config}
    _atomic_write(folder / WEIGHTS_NAME, lambda tmp: save_file(tensors, str(tmp), metadata={"format": "pt"}))
    _atomic_write(folder / CONFIG_NAME, lambda tmp: tmp.write_text(json.dumps(config, indent=2) + "\n"))
    if card is not None:
        _atomic_write(folder / CARD_NAME, lambda tmp: tmp.write_text(card))
    return folder


def _atomic_write(path: Path, write) -> None:
    """Write to a temporary file, fsync, then rename: a crash never leaves half a file."""
    import os

    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


# ---------------------------------------------------------------------- loading
def read_config(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {CONFIG_NAME} at {path}")
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise WeightsError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(config, dict) or config.get("kind") not in ("generator", "gan"):
        raise WeightsError(f"{path}: 'kind' must be 'generator' or 'gan', got {config.get('kind')!r}")
    if config.get("format_version", FORMAT_VERSION) > FORMAT_VERSION:
        raise WeightsError(f"{path} was written by a newer ganzoo (format {config['format_version']}); upgrade ganzoo")
    return config


def read_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a safetensors file (never a pickle) with a clear error when it is damaged."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no weights file at {path}")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise WeightsError(f"{path} is not a readable safetensors file (corrupted or truncated?): {error}") from None


def load_generator_from_folder(folder: str | Path, *, ema: bool = True, sha256: str | None = None,
                               weights_path: str | Path | None = None) -> Generator:
    """Build the generator described by ``config.json`` and load its weights strictly."""
    folder = Path(folder)
    config = read_config(folder / CONFIG_NAME)
    weights_path = Path(weights_path) if weights_path is not None else folder / WEIGHTS_NAME
    verify_sha256(weights_path, sha256)
    state = read_weights(weights_path)
    return generator_from_state(config, state, ema=ema, source=str(weights_path))


def generator_from_state(config: dict[str, Any], state: dict[str, torch.Tensor], *, ema: bool, source: str) -> Generator:
    generator = _build(config["generator"], Generator, source)
    if config["kind"] == "gan":
        prefix = "generator_ema." if ema and any(k.startswith("generator_ema.") for k in state) else "generator."
        if ema and prefix == "generator.":
            raise WeightsError(f"{source} holds no EMA generator; load with ema=False")
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    elif not ema:
        raise WeightsError(f"{source} holds only the published (EMA) generator; the raw weights need a 'gan' export")
    load_state_strictly(generator, state, source)
    return generator.eval()


def load_gan_from_folder(folder: str | Path, *, sha256: str | None = None, weights_path: str | Path | None = None):
    """Rebuild the full LightningModule (G, D, EMA) from a ``kind: gan`` folder, for fine-tuning."""
    from ganzoo.gans import get_variant

    folder = Path(folder)
    config = read_config(folder / CONFIG_NAME)
    weights_path = Path(weights_path) if weights_path is not None else folder / WEIGHTS_NAME
    if config["kind"] != "gan":
        raise WeightsError(
            f"{folder} holds only a generator; fine-tuning needs the discriminator too (a 'gan' export, "
            "written by ganzoo publish or save_gan)"
        )
    verify_sha256(weights_path, sha256)
    state = read_weights(weights_path)
    try:
        gan = get_variant(config.get("variant"))(
            generator=config["generator"], discriminator=config["discriminator"], **config.get("hparams", {})
        )
    except (TypeError, ValueError, KeyError) as error:  # unknown variant or hyper-parameter, bad value
        raise WeightsError(f"{folder / CONFIG_NAME} does not describe a valid GAN: {error}") from None
    split = {"generator": {}, "discriminator": {}, "generator_ema": {}}
    for key, value in state.items():
        head, _, rest = key.partition(".")
        if head not in split:
            raise WeightsError(f"{weights_path}: unexpected tensor {key!r}")
        split[head][rest] = value
    load_state_strictly(gan.generator, split["generator"], f"{weights_path} [generator]")
    load_state_strictly(gan.discriminator, split["discriminator"], f"{weights_path} [discriminator]")
    if gan.generator_ema is not None:
        source = split["generator_ema"] or split["generator"]
        load_state_strictly(gan.generator_ema.module, source, f"{weights_path} [generator_ema]")
        gan.generator_ema.n_averaged.fill_(1)
    gan.restore_training_progress(config)
    return gan


def load_state_strictly(module: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Every key present, none extra, every shape equal; values cast to the module's dtype."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    mismatched = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    # Floating weights may be stored in another float precision (fp16/bf16 exports are cast back),
    # but an integer/bool tensor for a float one (or the reverse) is not a weights file for this model.
    wrong_kind = [
        f"{k}: file {state[k].dtype} vs model {v.dtype}"
        for k, v in expected.items()
        if k in state and (state[k].is_floating_point() != v.is_floating_point() or state[k].is_complex())
    ]
    problems = []
    if missing:
        problems.append(f"missing {len(missing)} tensors (e.g. {', '.join(missing[:3])})")
    if unexpected:
        problems.append(f"unexpected {len(unexpected)} tensors (e.g. {', '.join(unexpected[:3])})")
    if mismatched:
        problems.append(f"shape mismatch: {'; '.join(mismatched[:3])}")
    if wrong_kind:
        problems.append(f"dtype mismatch: {'; '.join(wrong_kind[:3])}")
    if problems:
        raise WeightsError(f"weights in {source} do not match the config's network: " + "; ".join(problems))
    cast = {k: state[k].to(dtype=v.dtype) for k, v in expected.items()}
    module.load_state_dict(cast, strict=True)


def _build(spec: Any, kind: type, source: str):
    if not isinstance(spec, dict) or "name" not in spec:
        raise WeightsError(f"{source}: config has no network spec {{'name': ..., 'kwargs': ...}}")
    try:
        network = build_network(spec["name"], **spec.get("kwargs", {}))
    except (TypeError, ValueError) as error:  # unknown kwargs or names, out-of-range values
        raise WeightsError(f"{source}: config.json does not fit {spec['name']}: {error}") from None
    if not isinstance(network, kind):
        raise WeightsError(f"{source}: {spec['name']} is not a {kind.__name__}")
    return network


def _json_clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_clean(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    raise TypeError(f"hyper-parameter value {value!r} is not JSON-serialisable")
