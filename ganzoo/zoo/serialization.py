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

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from ganzoo._version import __version__
from ganzoo.utils import atomic_write, sha256_of  # noqa: F401 (sha256_of: part of this module's API)
from ganzoo.nn import build_network
from ganzoo.nn.base import MAX_NETWORK_SIZE, Discriminator, Generator, check_network_size

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
CARD_NAME = "README.md"
FORMAT_VERSION = 1
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
# Limits on what a (possibly hostile) config.json may ask for; real configs are a few kB.
MAX_CONFIG_BYTES = 1 << 20
MAX_SAMPLE_IMAGES = 10_000  # a GAN's fixed sample-grid latents (num_sample_images; 64 by default)
MAX_COUNTER = 2**62  # training counters are int64 buffers


class WeightsError(ValueError):
    """A weights file or config that cannot be loaded as it is (corrupt, mismatched, tampered)."""


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
def save(model, folder: str | Path, *, dtype: str = "float32") -> Path:
    """Write a generator (``ganzoo.nn``) or a whole GAN (``ganzoo.gans``) as a pretrained folder:
    safetensors + config.json. Reload with ``ganzoo.load(folder)`` (the generator) or
    ``ganzoo.load_gan(folder)`` (the GAN, to fine-tune). Returns the folder."""
    if isinstance(model, Generator):
        return save_generator(model, folder, dtype=dtype)
    if isinstance(model, Discriminator):
        raise TypeError("a discriminator alone is not a pretrained model: save the GAN that holds it")
    if not all(hasattr(model, name) for name in ("generator", "discriminator", "hparams")):
        raise TypeError(f"ganzoo.save takes a ganzoo generator or GAN, got {type(model).__name__}")
    return save_gan(model, folder, dtype=dtype)


def save_generator(generator: Generator, folder: str | Path, *, dtype: str = "float32",
                   extra_config: dict[str, Any] | None = None, card: str | None = None) -> Path:
    """Write a generator as a pretrained folder. Returns the folder."""
    state = _prefixed(generator, "")
    config = {"kind": "generator", "generator": generator.config, **(extra_config or {})}
    return _write_folder(folder, state, config, dtype, card)


def save_gan(gan, folder: str | Path, *, dtype: str = "float32", extra_config: dict[str, Any] | None = None,
             card: str | None = None) -> Path:
    """Write a full GAN (G, EMA G, D and hyper-parameters) for fine-tuning."""
    from ganzoo.gans import variant_name  # here, not at the top: ganzoo.gans imports Lightning (seconds)

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
    config = {"format_version": FORMAT_VERSION, "ganzoo_version": __version__, "dtype": dtype, **config}
    atomic_write(folder / WEIGHTS_NAME, lambda tmp: save_file(tensors, str(tmp), metadata={"format": "pt"}))
    atomic_write(folder / CONFIG_NAME, lambda tmp: tmp.write_text(json.dumps(config, indent=2) + "\n"))
    if card is not None:
        atomic_write(folder / CARD_NAME, lambda tmp: tmp.write_text(card))
    return folder




# ---------------------------------------------------------------------- loading
def read_config(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {CONFIG_NAME} at {path}")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise WeightsError(f"{path} is {path.stat().st_size:,} bytes, over the {MAX_CONFIG_BYTES:,} a ganzoo "
                           f"{CONFIG_NAME} may have: not a config written by ganzoo")
    try:
        config = json.loads(path.read_bytes())
    except ValueError as error:  # JSONDecodeError, and UnicodeDecodeError for binary files
        raise WeightsError(f"{path} is not valid JSON: {error}") from None
    except RecursionError:
        raise WeightsError(f"{path} is nested too deeply to be a ganzoo {CONFIG_NAME}") from None
    if not isinstance(config, dict):
        raise WeightsError(f"{path} holds a JSON {type(config).__name__}, not an object: not a ganzoo {CONFIG_NAME}")
    if config.get("kind") not in ("generator", "gan"):
        raise WeightsError(f"{path}: 'kind' must be 'generator' or 'gan', got {_short(config.get('kind'))}")
    version = config.get("format_version", FORMAT_VERSION)
    if not _is_int(version) or version < 1:
        raise WeightsError(f"{path}: 'format_version' must be an integer >= 1, got {_short(version)}")
    if version > FORMAT_VERSION:
        raise WeightsError(f"{path} was written by a newer ganzoo (format {version}); upgrade ganzoo")
    return config


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _short(value: Any, limit: int = 80) -> str:
    """repr() for messages, cut short: a hostile config must not flood the terminal."""
    return _clip(repr(value), limit)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


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
                               weights_path: str | Path | None = None,
                               config_path: str | Path | None = None) -> Generator:
    """Build the generator described by ``config.json`` and load its weights strictly.

    ``weights_path`` / ``config_path`` override the file names inside ``folder`` (bundled
    weights are named after their model).
    """
    folder = Path(folder)
    config_path = Path(config_path) if config_path is not None else folder / CONFIG_NAME
    config = read_config(config_path)
    weights_path = Path(weights_path) if weights_path is not None else folder / WEIGHTS_NAME
    verify_sha256(weights_path, sha256)
    state = read_weights(weights_path)
    return generator_from_state(config, state, ema=ema, source=str(weights_path), config_source=str(config_path))


def generator_from_state(config: dict[str, Any], state: dict[str, torch.Tensor], *, ema: bool, source: str,
                         config_source: str | None = None) -> Generator:
    """``source`` names the weights in messages, ``config_source`` the config (default: ``source``)."""
    generator = _build(config.get("generator"), Generator, config_source or source)
    if config["kind"] == "gan":
        prefix = "generator_ema." if ema and any(k.startswith("generator_ema.") for k in state) else "generator."
        if ema and prefix == "generator.":
            raise WeightsError(f"{source} holds no EMA generator; load with ema=False")
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    elif not ema:
        raise WeightsError(f"{source} holds only the published (EMA) generator; the raw weights need a 'gan' export")
    load_state_strictly(generator, state, source)
    return generator.eval()


def load_gan_from_folder(folder: str | Path, *, sha256: str | None = None, weights_path: str | Path | None = None,
                         config_path: str | Path | None = None):
    """Rebuild the full LightningModule (G, D, EMA) from a ``kind: gan`` folder, for fine-tuning."""
    folder = Path(folder)
    config_path = Path(config_path) if config_path is not None else folder / CONFIG_NAME
    config = read_config(config_path)
    weights_path = Path(weights_path) if weights_path is not None else folder / WEIGHTS_NAME
    if config["kind"] != "gan":
        raise WeightsError(
            f"{folder} holds only a generator; fine-tuning needs the discriminator too (a 'gan' export, "
            "written by ganzoo publish or save_gan)"
        )
    verify_sha256(weights_path, sha256)
    state = read_weights(weights_path)
    hparams = config.get("hparams", {})
    if not isinstance(hparams, dict):
        raise WeightsError(f"{config_path}: 'hparams' must be an object, got {_short(hparams)}")
    gan = build_gan(config.get("variant"), config.get("generator"), config.get("discriminator"), hparams,
                    source=str(config_path))
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
    gan.restore_training_progress(_training_progress(gan, config, str(config_path)))
    return gan


def build_gan(variant: Any, generator: Any, discriminator: Any, hparams: dict[str, Any], *, source: str):
    """The LightningModule a file describes, refused up front when its sizes would take gigabytes.

    Used for ``config.json`` (``load_gan``) and for checkpoints (``ganzoo publish``): both are
    files, and a few numbers in a file must not allocate gigabytes before failing.
    """
    from ganzoo.gans import get_variant  # here, not at the top: ganzoo.gans imports Lightning (seconds)

    try:
        cls = get_variant(variant)
        if not isinstance(hparams, dict) or not all(isinstance(key, str) for key in hparams):
            raise ValueError(f"hyper-parameters must be a name -> value mapping, got {_short(hparams)}")
        latent_dim = 0
        for role, spec in (("generator", generator), ("discriminator", discriminator)):
            name, kwargs = _network_spec(spec if spec is not None else getattr(cls, f"default_{role}"), source)
            latent_dim = getattr(check_network_size(name, kwargs), "latent_dim", latent_dim)
        _check_sample_images(hparams.get("num_sample_images", 64), latent_dim)
        return cls(generator=generator, discriminator=discriminator, **hparams)
    except WeightsError:
        raise
    except (TypeError, ValueError, KeyError) as error:  # unknown variant or hyper-parameter, bad value, too large
        raise WeightsError(f"{source} does not describe a valid GAN: {_one_line(error)}") from None


def _check_sample_images(count: Any, latent_dim: int) -> None:
    # The GAN keeps num_sample_images x latent_dim fixed latents as a buffer.
    if not _is_int(count) or not 1 <= count <= MAX_SAMPLE_IMAGES:
        raise ValueError(f"num_sample_images={_short(count)}: must be an integer in [1, {MAX_SAMPLE_IMAGES:,}]")
    if count * latent_dim > MAX_NETWORK_SIZE:
        raise ValueError(f"num_sample_images={count} x latent_dim={latent_dim} latents exceed "
                         f"{MAX_NETWORK_SIZE:,} values")


def _training_progress(gan, config: dict[str, Any], source: str) -> dict[str, int]:
    """The counters the GAN keeps (generator_iterations, ProGAN's images_shown), checked: they fill int64 buffers."""
    progress = {}
    for key in gan.training_progress():
        if key in config:
            value = config[key]
            if not _is_int(value) or not 0 <= value <= MAX_COUNTER:
                raise WeightsError(f"{source}: {key!r} must be an integer in [0, 2**62], got {_short(value)}")
            progress[key] = value
    return progress


def _one_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return _clip(lines[0], 300) if lines else type(error).__name__


def load_state_strictly(module: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Every key present, none extra, every shape equal, every value finite; values cast to the module's dtype."""
    not_tensors = sorted(str(k) for k, v in state.items() if not isinstance(v, torch.Tensor))
    if not_tensors:
        raise WeightsError(f"weights in {source}: {len(not_tensors)} entries are not tensors (e.g. "
                           f"{_clip(', '.join(not_tensors[:3]), 200)})")
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
    # NaN/inf weights would load and sample silently (images of NaN): a diverged run's weights.
    for key in expected:
        tensor = state[key]
        if (tensor.is_floating_point() or tensor.is_complex()) and not bool(torch.isfinite(tensor).all()):
            bad = int((~torch.isfinite(tensor)).sum())
            raise WeightsError(
                f"weights in {source}: tensor {key!r} holds {bad:,} NaN/inf values of {tensor.numel():,}; the run "
                "that wrote them had diverged. Use an earlier checkpoint or export."
            )
    cast = {k: state[k].to(dtype=v.dtype) for k, v in expected.items()}
    module.load_state_dict(cast, strict=True)


def _build(spec: Any, kind: type, source: str):
    name, kwargs = _network_spec(spec, source)
    try:
        # Sizes first, on the meta device: a few numbers in a file must not allocate gigabytes.
        check_network_size(name, kwargs)
        network = build_network(name, **kwargs)
    except (TypeError, ValueError) as error:  # unknown kwargs or names, out-of-range values, too large
        raise WeightsError(f"{source}: the network config does not fit {_clip(name, 80)}: {_one_line(error)}") from None
    if not isinstance(network, kind):
        raise WeightsError(f"{source}: {name} is not a {kind.__name__}")
    return network


def _network_spec(spec: Any, source: str) -> tuple[str, dict[str, Any]]:
    """``{"name", "kwargs"}`` (config.json) or ``{"class_path", "init_args"}`` (checkpoints) -> (name, kwargs)."""
    if isinstance(spec, dict) and "class_path" in spec:
        spec = {"name": str(spec["class_path"]).rsplit(".", 1)[-1], "kwargs": spec.get("init_args", {})}
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise WeightsError(f"{source}: config has no network spec {{'name': ..., 'kwargs': ...}}")
    kwargs = spec.get("kwargs", {})
    if not isinstance(kwargs, dict) or not all(isinstance(key, str) for key in kwargs):
        raise WeightsError(f"{source}: the kwargs of {_short(spec['name'])} must be an object, got {_short(kwargs)}")
    return spec["name"], kwargs


def _json_clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_clean(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    raise TypeError(f"hyper-parameter value {value!r} is not JSON-serialisable")
