"""What is benchmarked: the three models, their sizes per device, and how long to measure.

On a GPU the networks and batches are the papers' (CIFAR-10, 32x32). On a CPU they are
narrowed so that one full benchmark finishes in minutes on 2 cores; the table states the
sizes next to every number. Loss, n_critic, optimizer settings and penalty always come from
the variant presets in ``ganzoo.gans`` (DCGAN, SNGAN, WGANGP), untouched.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ModelSpec:
    """One benchmarked model: a ``ganzoo.gans`` variant with its networks and batch size."""

    name: str
    variant: str  # key of ganzoo.gans.VARIANTS
    generator: dict[str, Any]
    discriminator: dict[str, Any]
    batch_size: int
    size_note: str  # "paper" or what was narrowed, shown in the tables
    iterations_scale: int = 1  # times the budget's iterations: a millisecond step needs many to time well
    overhead_probe: bool = False  # its ratio is not an acceptance number: its step is almost all framework

    def describe(self) -> str:
        g = ", ".join(f"{k}={v}" for k, v in self.generator["kwargs"].items())
        d = ", ".join(f"{k}={v}" for k, v in self.discriminator["kwargs"].items())
        return f"{self.generator['name']}({g}) / {self.discriminator['name']}({d}), batch {self.batch_size}"


def _net(name: str, **kwargs: Any) -> dict[str, Any]:
    return {"name": name, "kwargs": kwargs}


# The framework's fixed cost per generator iteration, measured where nothing hides it: a 2-D toy MLP GAN
# whose whole step (one D and one G update) takes a few milliseconds. ganzoo minus hand-written time on
# it is what Lightning and the loop add per iteration; the ratio of any real model follows from it.
OVERHEAD_PROBE = ModelSpec(
    "mlp-2d-probe", "vanilla",
    {"name": "MLPGenerator", "kwargs": {"latent_dim": 2, "out_dim": 2, "hidden_dim": 64, "n_layers": 2}},
    {"name": "MLPDiscriminator", "kwargs": {"in_dim": 2, "hidden_dim": 64, "n_layers": 2}},
    batch_size=64, size_note="2-D toy MLPs (2 x 64): a step of a few ms, so the difference is the framework's cost",
    iterations_scale=10, overhead_probe=True)

# Paper sizes (CIFAR-10 32x32): DCGAN (Radford et al.), SN-GAN standard CNN (Miyato et al. Table 3),
# WGAN-GP ResNet (Gulrajani et al., 128 channels, no normalisation in the critic).
PAPER_MODELS = (
    ModelSpec("dcgan-32", "dcgan",
              _net("DCGANGenerator", latent_dim=100, resolution=32, channels=3, base_width=64),
              _net("DCGANDiscriminator", resolution=32, channels=3, base_width=64, norm="batch"),
              batch_size=128, size_note="paper"),
    ModelSpec("sngan-cnn-32", "sngan",
              _net("SNGANCNNGenerator", latent_dim=128, channels=3, width=512),
              _net("SNGANCNNDiscriminator", channels=3, spectral_norm=True, width=512),
              batch_size=64, size_note="paper"),
    ModelSpec("wgan-gp-32", "wgan-gp",
              _net("ResNetGenerator", latent_dim=128, channels=3, width=128),
              _net("ResNetDiscriminator", channels=3, width=128, spectral_norm=False),
              batch_size=64, size_note="paper"),
)

# What users train on CIFAR-10 (the recipes' networks), measured at paper size on any device by the
# "paper-size" section in the recipes' precision: the three above plus the SN-GAN paper's ResNet.
SNGAN_RESNET_32 = ModelSpec("sngan-resnet-32", "sngan",
                            _net("ResNetGenerator", latent_dim=128, channels=3, width=256),
                            _net("ResNetDiscriminator", channels=3, width=128, spectral_norm=True),
                            batch_size=64, size_note="paper")
RECIPE_MODELS = PAPER_MODELS[:2] + (SNGAN_RESNET_32,) + PAPER_MODELS[2:]

# Narrowed for a 2-core CPU: same layer structure, widths / 4 to / 8, smaller batches.
CPU_MODELS = (
    ModelSpec("dcgan-32", "dcgan",
              _net("DCGANGenerator", latent_dim=100, resolution=32, channels=3, base_width=16),
              _net("DCGANDiscriminator", resolution=32, channels=3, base_width=16, norm="batch"),
              batch_size=64, size_note="base_width 16 (paper 64), batch 64 (paper 128)",
              # A 20-30 ms step: 4x the budget's iterations gives each run seconds, not one second, of
              # timing, which a VM's scheduling noise otherwise dominates (one-second pairs: 0.94-1.37).
              iterations_scale=4),
    ModelSpec("sngan-cnn-32", "sngan",
              _net("SNGANCNNGenerator", latent_dim=128, channels=3, width=64),
              _net("SNGANCNNDiscriminator", channels=3, spectral_norm=True, width=64),
              batch_size=32, size_note="width 64 (paper 512), batch 32 (paper 64)"),
    ModelSpec("wgan-gp-32", "wgan-gp",
              _net("ResNetGenerator", latent_dim=128, channels=3, width=16),
              _net("ResNetDiscriminator", channels=3, width=16, spectral_norm=False),
              batch_size=32, size_note="width 16 (paper 128), batch 32 (paper 64)"),
)


@dataclass(frozen=True)
class Budget:
    """How much to measure: generator iterations per run, and how many interleaved repeats."""

    warmup: int  # generator iterations before the clock starts (allocator, cuDNN autotune, compile)
    measured: int  # generator iterations timed
    repeats: int  # ganzoo / hand-written pairs, alternated
    sample_count: int  # images per sampling measurement
    fid_count: int  # fakes (and reals) for the FID wall-time measurement
    inception_count: int  # images actually pushed through Inception (extrapolated to fid_count on CPU)
    fast_path_repeats: int = 3
    sampling_repeats: int = 7


BUDGETS = {
    ("cpu", "quick"): Budget(warmup=2, measured=8, repeats=3, sample_count=512, fid_count=10_000, inception_count=32,
                             sampling_repeats=3),
    ("cpu", "full"): Budget(warmup=5, measured=60, repeats=7, sample_count=1024, fid_count=10_000, inception_count=128,
                            sampling_repeats=5),
    ("cuda", "quick"): Budget(warmup=30, measured=100, repeats=3, sample_count=10_000, fid_count=10_000,
                              inception_count=10_000),
    ("cuda", "full"): Budget(warmup=50, measured=300, repeats=7, sample_count=50_000, fid_count=10_000,
                             inception_count=10_000),
}


def models_for(device_type: str) -> tuple[ModelSpec, ...]:
    return PAPER_MODELS if device_type == "cuda" else CPU_MODELS


def budget_for(device_type: str, mode: str) -> Budget:
    key = ("cuda" if device_type == "cuda" else "cpu", mode)
    if key not in BUDGETS:
        raise ValueError(f"mode must be 'quick' or 'full', got {mode!r}")
    return BUDGETS[key]


# Tiny versions of the benchmark models, for the tests (tests/test_performance_paths.py and
# benchmarks/test_harness.py): the same variants and network families, seconds to train.
TINY_DCGAN = ModelSpec(
    "tiny-dcgan", "dcgan",
    {"name": "DCGANGenerator", "kwargs": {"latent_dim": 8, "resolution": 32, "channels": 3, "base_width": 4}},
    {"name": "DCGANDiscriminator", "kwargs": {"resolution": 32, "channels": 3, "base_width": 4}},
    batch_size=8, size_note="test")
TINY_WGAN_GP = ModelSpec(
    "tiny-wgan-gp", "wgan-gp",
    {"name": "ResNetGenerator", "kwargs": {"latent_dim": 8, "channels": 3, "width": 8}},
    {"name": "ResNetDiscriminator", "kwargs": {"channels": 3, "width": 8, "spectral_norm": False}},
    batch_size=4, size_note="test")
TINY_SNGAN = ModelSpec(
    "tiny-sngan", "sngan",
    {"name": "SNGANCNNGenerator", "kwargs": {"latent_dim": 8, "channels": 3, "width": 16}},
    {"name": "SNGANCNNDiscriminator", "kwargs": {"channels": 3, "width": 8}},
    batch_size=4, size_note="test")
