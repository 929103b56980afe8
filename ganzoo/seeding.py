"""Named random streams of the training loop.

Every random draw of a training step (latents, the gradient penalty's mixing weights, instance
noise, label flips) comes from its own generator seeded by ``step_seed(seed, step, stream)``, and
is drawn for the GLOBAL batch before each process takes its rows. So a run is reproducible after a
resume, and 1 and N processes train the same model, whatever else consumed the global RNG.
"""
from __future__ import annotations

from enum import IntEnum

NUM_STREAMS = 8  # the seed formula reserves this many streams per step
# DiffAugment's draws (ganzoo.augment) use the instance-noise streams shifted by this: above every
# step_seed (< 2**63), so they never repeat another stream's numbers, and the seeds of runs without
# augmentation stay what they were.
AUGMENT_SEED_OFFSET = 2**63


class Stream(IntEnum):
    D_LATENTS = 0        # latents of the fakes in a discriminator update
    PENALTY_MIX = 1      # per-sample interpolation weights of the gradient penalty
    G_LATENTS = 2        # latents of the generator update
    D_NOISE_REAL = 3     # instance noise on real images, D update
    D_NOISE_FAKE = 4     # instance noise on fakes, D update
    G_NOISE_FAKE = 5     # instance noise on fakes, G update
    G_NOISE_REAL = 6     # instance noise on real images, G update (relativistic losses)
    LABEL_FLIPS = 7      # the BCE losses' label_noise flips (real and fake columns)


def step_seed(seed: int, step: int, stream: int) -> int:
    """The seed of ``stream`` at discriminator step ``step`` of a run seeded with ``seed``."""
    if not 0 <= int(stream) < NUM_STREAMS:
        raise ValueError(f"stream must be in [0, {NUM_STREAMS}), got {stream}")
    return ((int(seed) * 1_000_003 + int(step)) * NUM_STREAMS + int(stream)) % (2**63)
