#!/usr/bin/env python3
"""Give a bundled zoo model's EMA generator standing BatchNorm statistics, in place.

    python scripts/standing_statistics.py vanilla-fashion-mnist            # rewrites its bundled files
    python scripts/build_zoo.py --only vanilla-fashion-mnist               # re-measures and re-pins it

An EMA generator's running statistics are the EMA of the trained generator's, measured with other weights; the
slower the average, the further they lie from what the averaged weights produce
(docs/runs/vanilla-fashion-mnist-latent-spread.md). This recomputes them from the published fp16 weights
themselves (``Generator.recompute_batchnorm_statistics``: 200 batches of 256 latents, seeds 123, 124, ...) and
rewrites only those buffers: every weight, the trained generator and the discriminator stay bit-identical, and
the bundled config records what was done (``batchnorm_statistics``), which the model card states. Training runs
bundled later get the same with ``scripts/bundle_run.py --standing-statistics 200``; this script is for models
whose training checkpoints are gone.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ganzoo.nn import build_network  # noqa: E402
from ganzoo.zoo.publish import STANDING_BATCH_SIZE, STANDING_FIRST_SEED, standing_statistics_record  # noqa: E402

WEIGHTS_DIR = ROOT / "ganzoo" / "zoo" / "weights"
EMA_PREFIX = "generator_ema."


def with_standing_statistics(state: dict[str, torch.Tensor], config: dict, batches: int) -> dict[str, torch.Tensor]:
    """The bundled tensors with the EMA generator's BatchNorm buffers recomputed (in float32, stored in the
    bundle's dtype); every other tensor is returned as it was."""
    if config.get("kind") != "gan" or not any(key.startswith(EMA_PREFIX) for key in state):
        raise SystemExit("not a bundled GAN with an EMA generator: nothing to recompute")
    generator = build_network(**config["generator"])
    ema = {key[len(EMA_PREFIX):]: value.float() if value.is_floating_point() else value
           for key, value in state.items() if key.startswith(EMA_PREFIX)}
    generator.load_state_dict(ema, strict=True)
    if not generator.recompute_batchnorm_statistics(batches, STANDING_BATCH_SIZE, STANDING_FIRST_SEED):
        raise SystemExit(f"{config['generator']['name']} has no BatchNorm: nothing to recompute")
    norm_buffers = {f"{name}.{buffer}" for name, module in generator.named_modules()
                    if isinstance(module, torch.nn.modules.batchnorm._BatchNorm)
                    for buffer in ("running_mean", "running_var", "num_batches_tracked")}
    recomputed = generator.state_dict()
    return {key: (recomputed[key[len(EMA_PREFIX):]].to(value.dtype).contiguous()
                  if key.startswith(EMA_PREFIX) and key[len(EMA_PREFIX):] in norm_buffers else value)
            for key, value in state.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="a bundled zoo entry, e.g. vanilla-fashion-mnist")
    parser.add_argument("--batches", type=int, default=200, help="batches of 256 latents to average over")
    args = parser.parse_args()
    weights, config_path = WEIGHTS_DIR / f"{args.name}.safetensors", WEIGHTS_DIR / f"{args.name}.json"
    if not weights.is_file():
        parser.error(f"{weights.relative_to(ROOT)} does not exist: `ganzoo list` names the bundled models")
    config = json.loads(config_path.read_text())
    if "batchnorm_statistics" in config:
        parser.error(f"{args.name} has standing statistics already: {config['batchnorm_statistics']}")
    state = with_standing_statistics(load_file(str(weights)), config, args.batches)
    save_file(state, str(weights), metadata={"format": "pt"})
    config["batchnorm_statistics"] = standing_statistics_record("generator_ema", args.batches)
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    print(f"rewrote {weights.relative_to(ROOT)} (EMA generator's BatchNorm statistics) and {config_path.name}; "
          f"now run scripts/build_zoo.py --only {args.name}")


if __name__ == "__main__":
    main()
