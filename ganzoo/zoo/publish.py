"""Export a training run (Lightning checkpoint) as a pretrained folder and upload it to the Hub."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from ganzoo.zoo.cards import render_model_card
from ganzoo.zoo.serialization import CONFIG_NAME, build_gan, load_state_strictly, save_gan, save_generator


def find_checkpoint(run: str | Path) -> Path:
    """A ``.ckpt`` file, or a run folder: its ``last.ckpt`` if present, else the newest checkpoint."""
    run = Path(run)
    if run.is_file():
        return run
    if not run.is_dir():
        raise FileNotFoundError(f"{run} is neither a checkpoint file nor a run folder")
    candidates = sorted(run.rglob("*.ckpt"), key=lambda p: (p.name != "last.ckpt", -p.stat().st_mtime))
    if not candidates:
        already = " (it is an exported folder already: upload it as it is)" if (run / CONFIG_NAME).is_file() else ""
        raise FileNotFoundError(f"no .ckpt file under {run}{already}")
    return candidates[0]


def gan_from_checkpoint(path: str | Path):
    """Rebuild the LightningModule from a checkpoint, reading it with ``weights_only=True``.

    Every fault is one line naming the file: a pickled code payload (UnsafeCheckpointError), a
    truncated, text or .safetensors file (CheckpointError), unknown or out-of-range
    hyper-parameters, sizes that would take gigabytes, and tensors that do not fit (WeightsError).
    """
    # here, not at the top: checkpoints imports Lightning (seconds), and `import ganzoo` must stay light
    from ganzoo.checkpoints import CheckpointError, load_checkpoint_safely

    checkpoint = load_checkpoint_safely(path, map_location="cpu")
    meta, hparams, state = (checkpoint.get(key) for key in ("ganzoo", "hyper_parameters", "state_dict"))
    if not isinstance(meta, dict) or not isinstance(hparams, dict) or not isinstance(state, dict):
        raise CheckpointError(
            f"{path} was not written by a ganzoo GAN (no 'ganzoo', 'hyper_parameters' or 'state_dict' section); "
            "pass a .ckpt written by `ganzoo fit`"
        )
    # LightningCLI adds bookkeeping keys such as "_class_path"; they are not constructor arguments.
    hparams = {k: v for k, v in hparams.items() if not (isinstance(k, str) and k.startswith("_"))}
    generator, discriminator = hparams.pop("generator", None), hparams.pop("discriminator", None)
    gan = build_gan(meta.get("variant"), generator, discriminator, hparams, source=str(path))
    load_state_strictly(gan, state, f"{path} (state_dict)")
    return gan


# Standing BatchNorm statistics at export: batches of this many latents, drawn with seeds from this one on.
STANDING_BATCH_SIZE, STANDING_FIRST_SEED = 256, 123


def standing_statistics_record(recomputed_for: str, batches: int) -> dict[str, Any]:
    """What an exported config records about recomputed BatchNorm statistics (the model card states it)."""
    return {"recomputed_for": recomputed_for, "batches": batches, "batch_size": STANDING_BATCH_SIZE,
            "first_seed": STANDING_FIRST_SEED}


def export_run(run: str | Path, out_dir: str | Path, *, kind: str = "gan", dtype: str = "float32",
               card_info: Optional[dict[str, Any]] = None, standing_statistics_batches: int = 0) -> Path:
    """Write safetensors + config.json + README.md (model card) for a run.

    ``standing_statistics_batches`` > 0 recomputes the published (EMA) generator's BatchNorm statistics
    from that many batches of 256 of its own latents before writing (``Generator.recompute_batchnorm_statistics``;
    the trained generator keeps its own); the config records it."""
    if kind not in ("gan", "generator"):
        raise ValueError(f"kind={kind!r}: choose 'gan' (G, EMA G and D) or 'generator' (EMA G only)")
    gan = gan_from_checkpoint(find_checkpoint(run))
    extra_config: dict[str, Any] = {}
    if standing_statistics_batches > 0 and gan.sampling_generator.recompute_batchnorm_statistics(
            standing_statistics_batches, STANDING_BATCH_SIZE, STANDING_FIRST_SEED):
        published = "generator_ema" if gan.generator_ema is not None else "generator"
        extra_config["batchnorm_statistics"] = standing_statistics_record(published, standing_statistics_batches)
    info = _card_info(gan, Path(out_dir).name, card_info or {})
    card = render_model_card(info)
    if kind == "gan":
        return save_gan(gan, out_dir, dtype=dtype, card=card, extra_config=extra_config)
    # The generator alone records how far it was trained too, as a full GAN export does.
    return save_generator(gan.sampling_generator, out_dir, dtype=dtype, card=card,
                          extra_config={**gan.training_progress(), **extra_config})


def publish(folder: str | Path, repo_id: str, *, private: bool = False, token: Optional[str] = None,
            revision: Optional[str] = None) -> str:
    """Upload an exported folder with ``HfApi.upload_folder``; returns the commit URL."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True)
    commit = api.upload_folder(repo_id=repo_id, folder_path=str(folder), revision=revision,
                               commit_message="Upload ganzoo model")
    return str(getattr(commit, "commit_url", commit))


def _card_info(gan, name: str, overrides: dict[str, Any]) -> dict[str, Any]:
    from ganzoo.gans import variant_name  # here, not at the top: ganzoo.gans imports Lightning (seconds)

    variant = variant_name(type(gan))
    info = {
        "name": name,
        "variant": variant,
        "dataset": "unknown data set (pass card_info={'dataset': ...})",
        "generator": gan.generator.config,
        "discriminator": gan.discriminator.config,
        "num_params_generator": sum(p.numel() for p in gan.generator.parameters()),
        "num_params_discriminator": sum(p.numel() for p in gan.discriminator.parameters()),
        "training": {"generator_iterations": gan.generator_iterations, "loss": gan.hparams.loss,
                     "n_critic": gan.hparams.n_critic},
    }
    info.update(overrides)
    return info
