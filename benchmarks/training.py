"""Training-step overhead: ganzoo's LightningModule under a real ``lightning.Trainer`` against a
minimal hand-written PyTorch loop doing the same work.

"The same work" means: the same networks with the same initial weights, the same in-memory
data through the same DataLoader, the same latents (the per-step seeded draw of
``ganzoo.gans.base``), the same loss functions (``ganzoo.losses``), the same gradient penalty
(``ganzoo.regularizers``), the same optimizers, the same EMA update
(``torch.optim.swa_utils``), D's weights frozen during the G update as Lightning's
``toggled_optimizer`` does, and the same precision / memory format. The two runs end with
identical weights (``tests/test_performance_paths.py`` checks it), so the time ratio is the
framework's overhead and nothing else.

Both sides are timed the same way: the clock starts when generator iteration ``warmup`` has
finished and stops when iteration ``warmup + measured`` has, with the device synchronised at
both reads only.
"""
from __future__ import annotations

import tempfile
import time
import warnings
from dataclasses import dataclass
from typing import Callable, Optional

import lightning as L
import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader

from benchmarks.machine import spread, synchronize
from benchmarks.specs import ModelSpec
from ganzoo.data.base import GlobalBatchSampler, ResumableDataLoader, TensorPairDataset, collate_fetched
from ganzoo.gans import GAN, get_variant
from ganzoo.regularizers import gradient_penalty
from ganzoo.seeding import Stream, step_seed

DATASET_BATCHES = 32  # batches of random images held in memory (several epochs per run)


@dataclass(frozen=True)
class StepSettings:
    """How the step runs: numeric precision, memory format, torch.compile."""

    precision: str = "32-true"  # or "bf16-mixed" (Lightning's names)
    channels_last: bool = False
    compile: bool = False

    @property
    def autocast_dtype(self) -> Optional[torch.dtype]:
        return torch.bfloat16 if self.precision == "bf16-mixed" else None

    def label(self) -> str:
        parts = ["bf16 autocast" if self.precision == "bf16-mixed" else "fp32"]
        if self.channels_last:
            parts.append("channels_last")
        if self.compile:
            parts.append("torch.compile")
        return " + ".join(parts)


@dataclass
class Run:
    """One timed run and the networks it left (for checking that both sides did the same work)."""

    seconds_per_iteration: float
    generator: nn.Module
    discriminator: nn.Module
    generator_ema: nn.Module
    setup_seconds: float = 0.0  # from start to the first timed iteration (includes warm-up / compile)


# ---------------------------------------------------------------------------------- shared pieces


def random_images(spec: ModelSpec, seed: int = 0) -> Tensor:
    """An in-memory data set of random images in [-1, 1]; step time does not depend on content."""
    shape = tuple(build_generator_shape(spec))
    generator = torch.Generator().manual_seed(seed)
    return torch.rand((DATASET_BATCHES * spec.batch_size, *shape), generator=generator) * 2 - 1


def build_generator_shape(spec: ModelSpec) -> tuple[int, ...]:
    from ganzoo.nn import build_network

    with torch.device("meta"):
        return build_network(**spec.generator).output_shape


def make_loader(images: Tensor, batch_size: int, device: torch.device, seed: int = 0) -> DataLoader:
    """The loader ganzoo's datamodules build for in-memory data: one indexing op per batch, no workers."""
    dataset = TensorPairDataset(images, torch.zeros(len(images), dtype=torch.long))
    sampler = GlobalBatchSampler(dataset, batch_size, seed=seed)
    return ResumableDataLoader(dataset, batch_size=sampler.local_batch_size, sampler=sampler, drop_last=True,
                               num_workers=0, pin_memory=device.type == "cuda", collate_fn=collate_fetched)


def build_module(spec: ModelSpec, iterations: int, settings: StepSettings, seed: int = 0) -> GAN:
    """The variant's LightningModule with ``spec``'s networks; weights seeded by ``seed``."""
    torch.manual_seed(seed)
    variant = get_variant(spec.variant)
    return variant(generator=spec.generator, discriminator=spec.discriminator, max_generator_iterations=iterations,
                   sample_every_n_iterations=0, seed=seed, channels_last=settings.channels_last,
                   compile_networks=settings.compile)


class IterationClock(L.Callback):
    """Reads the clock at the end of generator iterations ``warmup`` and ``warmup + measured``."""

    def __init__(self, warmup: int, measured: int, device: torch.device) -> None:
        if warmup < 1 or measured < 1:
            raise ValueError(f"warmup and measured must be >= 1, got {warmup} and {measured}")
        self.warmup, self.measured, self.device = warmup, measured, device
        self.created = time.perf_counter()
        self.start: Optional[float] = None
        self.stop: Optional[float] = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.tick(pl_module.generator_iterations)

    def tick(self, iteration: int) -> None:
        if self.start is None and iteration == self.warmup:
            synchronize(self.device)
            self.start = time.perf_counter()
        elif self.stop is None and iteration == self.warmup + self.measured:
            synchronize(self.device)
            self.stop = time.perf_counter()

    def seconds_per_iteration(self) -> float:
        if self.start is None or self.stop is None:
            raise RuntimeError("the run ended before the clock's last iteration")
        return (self.stop - self.start) / self.measured


# ---------------------------------------------------------------------------------- ganzoo side


def run_ganzoo(spec: ModelSpec, images: Tensor, device: torch.device, settings: StepSettings, warmup: int,
               measured: int, seed: int = 0) -> Run:
    """Train ``warmup + measured`` generator iterations with ``lightning.Trainer`` and time the last ones."""
    module = build_module(spec, warmup + measured, settings, seed)
    clock = IterationClock(warmup, measured, device)
    with tempfile.TemporaryDirectory() as root, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no val loop", "few workers", ...: known and intended here
        trainer = L.Trainer(
            accelerator="gpu" if device.type == "cuda" else "cpu", devices=1, precision=settings.precision,
            max_epochs=-1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
            enable_model_summary=False, num_sanity_val_steps=0, benchmark=device.type == "cuda",
            callbacks=[clock], default_root_dir=root,
        )
        trainer.fit(module, train_dataloaders=make_loader(images, spec.batch_size, device, seed))
    return Run(clock.seconds_per_iteration(), module.generator, module.discriminator, module.generator_ema,
               setup_seconds=clock.start - clock.created)


# ---------------------------------------------------------------------------------- hand-written side


def hand_written_training(generator: nn.Module, discriminator: nn.Module, generator_ema: AveragedModel, loss,
                          hp, loader: DataLoader, device: torch.device, settings: StepSettings,
                          iterations: int, on_iteration: Callable[[int], None] = lambda _: None) -> None:
    """A minimal GAN loop in plain PyTorch: what a user would write without a framework.

    ``hp`` holds the variant's hyper-parameters (n_critic, learning rates, betas, gp_weight, seed).
    """
    fused = device.type == "cuda"
    impl = {"fused": True} if fused else {"foreach": True}
    d_opt = torch.optim.Adam(discriminator.parameters(), lr=hp.d_lr, betas=tuple(hp.d_betas), **impl)
    g_opt = torch.optim.Adam(generator.parameters(), lr=hp.g_lr, betas=tuple(hp.g_betas), **impl)
    rng = torch.Generator(device=device)

    def seeded(step: int, stream: int) -> torch.Generator:  # ganzoo's per-step latent seed
        return rng.manual_seed(step_seed(hp.seed, step, stream))

    d_steps, g_iterations, epoch = 0, 0, 0
    while True:
        loader.sampler.set_epoch(epoch)
        for real, _ in loader:
            real = real.to(device, non_blocking=True)
            if settings.channels_last and real.ndim == 4:  # as ganzoo's step: images only
                real = real.contiguous(memory_format=torch.channels_last)
            batch = real.shape[0]
            # No cast cache: it would keep bf16 copies of D's weights from before d_opt.step() for the G
            # step (Lightning's mixed precision turns it off for the same reason).
            with torch.autocast(device.type, dtype=settings.autocast_dtype, enabled=settings.autocast_dtype is not None,
                                cache_enabled=False):
                # Discriminator step
                with torch.no_grad():
                    fake = generator(torch.randn(batch, generator.latent_dim, generator=seeded(d_steps, Stream.D_LATENTS), device=device))
                d_loss = loss.discriminator(discriminator(real), discriminator(fake))
                if hp.gp_weight > 0:
                    alpha = torch.rand(batch, generator=seeded(d_steps, Stream.PENALTY_MIX), device=device)
                    d_loss = d_loss + hp.gp_weight * gradient_penalty(discriminator, real, fake, alpha=alpha)
                d_opt.zero_grad(set_to_none=True)
                d_loss.backward()
                d_opt.step()
                d_steps += 1
                if d_steps % hp.n_critic:
                    continue
                # Generator step (D frozen: no gradients for its weights)
                discriminator.requires_grad_(False)
                z = torch.randn(batch, generator.latent_dim, generator=seeded(d_steps, Stream.G_LATENTS), device=device)
                g_loss = loss.generator(None, discriminator(generator(z)))
                g_opt.zero_grad(set_to_none=True)
                g_loss.backward()
                g_opt.step()
                discriminator.requires_grad_(True)
            generator_ema.update_parameters(generator)
            g_iterations += 1
            on_iteration(g_iterations)
            if g_iterations == iterations:
                return
        epoch += 1


def run_hand_written(spec: ModelSpec, images: Tensor, device: torch.device, settings: StepSettings, warmup: int,
                     measured: int, seed: int = 0) -> Run:
    """The hand-written loop over the same networks, data, latents and settings as ``run_ganzoo``."""
    # The variant module is built only for its networks (same seed -> same weights), its loss and
    # its hyper-parameters; no Lightning code runs in the loop.
    module = build_module(spec, warmup + measured, settings, seed)
    if module.loss.relativistic:
        raise ValueError(f"{spec.name}: the hand-written loop covers non-relativistic losses only")
    generator, discriminator = module.generator.to(device), module.discriminator.to(device)
    ema = AveragedModel(generator, multi_avg_fn=get_ema_multi_avg_fn(module.hparams.ema_decay), use_buffers=True)
    ema.requires_grad_(False)
    if settings.channels_last:
        for network in (generator, discriminator, ema):
            network.to(memory_format=torch.channels_last)
    if settings.compile:
        generator.compile()
        if module.hparams.gp_weight == 0:
            discriminator.compile()
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # what Trainer(benchmark=True) sets for the ganzoo side
    clock = IterationClock(warmup, measured, device)
    hand_written_training(generator, discriminator, ema, module.loss, module.hparams,
                          make_loader(images, spec.batch_size, device, seed), device, settings,
                          warmup + measured, on_iteration=clock.tick)
    return Run(clock.seconds_per_iteration(), generator, discriminator, ema, setup_seconds=clock.start - clock.created)


# ---------------------------------------------------------------------------------- the comparison


def measure_overhead(spec: ModelSpec, device: torch.device, settings: StepSettings, warmup: int, measured: int,
                     repeats: int, log: Callable[[str], None] = print) -> dict:
    """Alternate ganzoo and hand-written runs ``repeats`` times (ABBA order) in this process.

    Each repeat gives one ratio ganzoo / hand-written from two runs made back to back, so slow
    drifts of a shared machine's load hit both sides of a ratio alike.
    """
    images = random_images(spec)
    warmup, measured = warmup * spec.iterations_scale, measured * spec.iterations_scale
    ganzoo_times, hand_times, ratios = [], [], []
    for repeat in range(repeats):
        order = ("ganzoo", "hand") if repeat % 2 == 0 else ("hand", "ganzoo")
        pair = {}
        for side in order:
            runner = run_ganzoo if side == "ganzoo" else run_hand_written
            pair[side] = runner(spec, images, device, settings, warmup, measured).seconds_per_iteration
        ganzoo_times.append(pair["ganzoo"])
        hand_times.append(pair["hand"])
        ratios.append(pair["ganzoo"] / pair["hand"])
        log(f"  {spec.name} repeat {repeat + 1}/{repeats}: ganzoo {pair['ganzoo'] * 1e3:.1f} ms/iter, "
            f"hand-written {pair['hand'] * 1e3:.1f} ms/iter, ratio {ratios[-1]:.3f}")
    n_critic = preset_n_critic(spec)
    images_per_iteration = n_critic * spec.batch_size  # real images D sees per generator iteration
    return {
        "model": spec.name, "networks": spec.describe(), "size": spec.size_note, "settings": settings.label(),
        "n_critic": n_critic, "batch_size": spec.batch_size, "warmup": warmup, "measured": measured,
        "ratio": spread(ratios), "overhead_probe": spec.overhead_probe,
        # What ganzoo adds per generator iteration, in ms: the pairs' differences (same drift on both sides).
        "overhead_ms_per_iteration": spread([(g - h) * 1e3 for g, h in zip(ganzoo_times, hand_times)]),
        "ganzoo_seconds_per_iteration": spread(ganzoo_times),
        "hand_seconds_per_iteration": spread(hand_times),
        "ganzoo_iterations_per_second": 1.0 / spread(ganzoo_times)["median"],
        "hand_iterations_per_second": 1.0 / spread(hand_times)["median"],
        "ganzoo_images_per_second": images_per_iteration / spread(ganzoo_times)["median"],
        "hand_images_per_second": images_per_iteration / spread(hand_times)["median"],
    }


def preset_n_critic(spec: ModelSpec) -> int:
    """The variant preset's discriminator steps per generator step (DCGAN 1, SN-GAN / WGAN-GP 5)."""
    return get_variant(spec.variant).paper_defaults.get("n_critic", 1)


def measure_fast_path(spec: ModelSpec, device: torch.device, options: list[StepSettings], warmup: int,
                      measured: int, repeats: int, log: Callable[[str], None] = print) -> dict:
    """ganzoo's step time under each setting (round-robin over settings, ``repeats`` rounds)."""
    images = random_images(spec)
    times: dict[str, list[float]] = {option.label(): [] for option in options}
    setup: dict[str, list[float]] = {option.label(): [] for option in options}
    for repeat in range(repeats):
        for option in options:
            run = run_ganzoo(spec, images, device, option, warmup, measured)
            times[option.label()].append(run.seconds_per_iteration)
            setup[option.label()].append(run.setup_seconds)
            log(f"  {spec.name} [{option.label()}] repeat {repeat + 1}/{repeats}: "
                f"{run.seconds_per_iteration * 1e3:.1f} ms/iter (first {warmup} iterations + setup {run.setup_seconds:.1f} s)")
    baseline = spread(times[options[0].label()])["median"]
    return {
        "model": spec.name, "size": spec.size_note, "batch_size": spec.batch_size,
        "settings": [
            {"settings": label, "seconds_per_iteration": spread(values),
             "speedup_vs_first": baseline / spread(values)["median"],
             "setup_seconds": spread(setup[label])}
            for label, values in times.items()
        ],
    }
