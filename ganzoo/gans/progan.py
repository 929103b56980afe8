"""ProGAN / PGGAN (Karras et al. 2018, ICLR): progressive growing on the shared training loop.

Paper settings (Section 4 and Appendix A.1; official code ``tkarras/progressive_growing_of_gans``):

* WGAN-GP loss, lambda = 10, n_critic = 1, plus the epsilon-drift term ``0.001 * E[D(x)^2]``
  that keeps the critic's scores near 0; least squares (``loss="lsgan"``, with
  ``gp_weight=0, drift_weight=0``) is selectable, as in the paper's comparisons.
* Adam, lr 0.001, betas (0, 0.99), eps 1e-8, for G and D; EMA of G with decay 0.999.
* Grow from 4x4: each new level is faded in over ``fade_in_images`` real images (alpha
  linearly 0 -> 1) and then stabilised for ``stabilize_images``; 800k + 800k for CelebA-HQ
  and LSUN, 400k + 400k for CIFAR-10 (the Theano config used for the paper's numbers).
* Minibatch 16 up to 128x128, then 14 / 6 / 3 at 256 / 512 / 1024 (``batch_sizes``).
* The optimizers' state (Adam moments) is reset whenever a phase starts, as the official
  code does (``reset_opt_for_new_lod``); ``reset_optimizers_on_phase_change=False`` keeps it.
* CIFAR-10 (unconditional): Inception score 8.80 +- 0.05 (Table 3) with latent 128,
  fmap_base 4096, fmap_max 128, and a gradient penalty centred at gamma = 750
  (see ``ProGANDiscriminator.output_scale`` and ``recipes/progan_cifar10.yaml``).

How growing fits the loop in ``base.py`` (nothing of the loop is overridden):

* Progress is counted in real images shown to D, kept in the checkpointed buffer
  ``images_shown_t``; the stage (level, alpha) is a pure function of it
  (:class:`GrowthSchedule`), mirrored into the buffers ``level_t`` / ``alpha_t``.
* ``prepare_real`` sets the stage on G, D and the EMA generator, keeps the first
  ``batch_size_at(resolution)`` samples of the batch, box-downsamples them to the current
  resolution and, while fading in, blends them with their own 2x-coarser version exactly
  as G's output is blended (so D compares like with like). The dataloader is never swapped:
  its batch is the largest per-resolution batch.
* ``after_generator_step`` advances ``images_shown``, moves the stage on and resets the
  optimizers at phase boundaries. With ``n_critic > 1`` the stage advances once per cycle.
* Every level exists from the start (DDP forbids new parameters), levels not yet in use just
  receive no gradient: train under DDP with ``find_unused_parameters=True``.

Resuming from a Lightning checkpoint restores images shown (hence resolution and alpha),
optimizer state and the EMA exactly; ``tests/test_progan.py`` checks it mid-fade-in.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from ganzoo.gans.base import GAN
from ganzoo.lightning_compat import should_update_logs
from ganzoo.nn.base import Discriminator, Generator
from ganzoo.nn.progan import (
    ProGANDiscriminator,
    ProGANGenerator,
    downsample2x,
    resolution_at,
    upsample2x,
)


class Stage(NamedTuple):
    """Where growing stands: ``level`` (resolution 4 * 2**level), fade-in weight ``alpha`` and
    ``phase`` (0: stabilising 4x4; 2k-1: fading level k in; 2k: stabilising level k)."""

    level: int
    alpha: float
    phase: int

    @property
    def resolution(self) -> int:
        return resolution_at(self.level)

    @property
    def fading(self) -> bool:
        return self.phase % 2 == 1


@dataclass(frozen=True)
class GrowthSchedule:
    """Stage as a function of real images shown.

    Level 0 trains for ``stabilize_images``; every further level fades in over
    ``fade_in_images`` (alpha = images into the fade / fade_in_images) and then stabilises for
    ``stabilize_images``. After the last level the networks stay fully grown.
    """

    num_levels: int
    fade_in_images: int
    stabilize_images: int

    def __post_init__(self) -> None:
        if self.num_levels < 1:
            raise ValueError(f"num_levels must be >= 1, got {self.num_levels}")
        for name in ("fade_in_images", "stabilize_images"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0 (real images), got {value!r}")
        if self.fade_in_images + self.stabilize_images == 0:
            raise ValueError("fade_in_images and stabilize_images cannot both be 0")

    @property
    def images_per_level(self) -> int:
        return self.fade_in_images + self.stabilize_images

    @property
    def growth_images(self) -> int:
        """Images shown until the networks are fully grown and stabilised once."""
        return self.stabilize_images + (self.num_levels - 1) * self.images_per_level

    def stage_at(self, images_shown: int) -> Stage:
        if images_shown < 0:
            raise ValueError(f"images_shown must be >= 0, got {images_shown}")
        since_first = images_shown - self.stabilize_images
        if since_first < 0 or self.num_levels == 1:
            return Stage(0, 1.0, 0)
        level = 1 + since_first // self.images_per_level
        if level >= self.num_levels:
            return Stage(self.num_levels - 1, 1.0, 2 * (self.num_levels - 1))
        into_level = since_first % self.images_per_level
        if into_level < self.fade_in_images:
            return Stage(level, into_level / self.fade_in_images, 2 * level - 1)
        return Stage(level, 1.0, 2 * level)


def real_images_at_stage(real: Tensor, stage: Stage) -> Tensor:
    """Full-resolution real images as D sees them at ``stage``.

    Box-downsampled to the stage's resolution (repeated 2x2 averaging, as the official dataset
    tool builds its levels of detail); while level k fades in, blended with the 2x-coarser
    image upsampled back, ``alpha * x_k + (1 - alpha) * up(down(x_k))``, mirroring G's output.
    """
    factor = real.shape[-1] // stage.resolution
    if factor * stage.resolution != real.shape[-1] or real.shape[-1] != real.shape[-2]:
        raise ValueError(
            f"real images of size {tuple(real.shape[-2:])} cannot be downsampled to {stage.resolution}x{stage.resolution}"
        )
    images = F.avg_pool2d(real, factor) if factor > 1 else real
    if stage.level > 0 and stage.alpha < 1.0:
        images = torch.lerp(upsample2x(downsample2x(images)), images, stage.alpha)
    return images


def _normalise_batch_sizes(batch_sizes: Optional[dict], final_resolution: int) -> dict[int, int]:
    """``{resolution: global batch}`` with int keys (config.json stores keys as strings)."""
    normalised: dict[int, int] = {}
    for key, value in (batch_sizes or {}).items():
        resolution, batch = int(key), int(value)
        if resolution < 4 or resolution & (resolution - 1) or resolution > final_resolution:
            raise ValueError(
                f"batch_sizes key {key!r} is not a resolution of this model (powers of two from 4 to {final_resolution})"
            )
        if batch < 1:
            raise ValueError(f"batch_sizes[{resolution}]={value!r}: batch size must be >= 1")
        normalised[resolution] = batch
    return normalised


class ProGAN(GAN):
    variant_id = "progan"  # the name in recipes, registry entries and messages
    """Progressive growing GAN. Arguments beyond :class:`~ganzoo.gans.base.GAN`'s:

    Args:
        fade_in_images: real images over which a new level's alpha rises from 0 to 1.
        stabilize_images: real images at each level with alpha = 1 (also level 0's only phase).
        batch_sizes: ``{resolution: global batch size}`` for resolutions that use fewer samples
            than the dataloader's batch (the paper's 14 / 6 / 3 at 256 / 512 / 1024). The
            datamodule's ``batch_size`` must be the largest of them: each step uses the first
            ``batch_size_at(resolution)`` samples of the real batch (and as many latents). Under
            DDP each process keeps the first ``batch_size_at(resolution) / W`` of its slice, so
            which samples are used (not how many, nor the latents) depends on the process count.
        reset_optimizers_on_phase_change: clear Adam's moments whenever a fade-in or a
            stabilisation phase starts (the official code's ``reset_opt_for_new_lod``).
        max_images_shown: stop after this many real images (the paper's ``total_kimg * 1000``);
            None leaves the length to ``max_generator_iterations`` / the Trainer.
    """

    default_generator = {"name": "ProGANGenerator", "kwargs": {"latent_dim": 512, "resolution": 32, "channels": 3}}
    default_discriminator = {"name": "ProGANDiscriminator", "kwargs": {"resolution": 32, "channels": 3}}

    def __init__(
        self,
        generator: Optional[Generator] = None,
        discriminator: Optional[Discriminator] = None,
        loss: str = "wasserstein",
        gp_weight: float = 10.0,
        drift_weight: float = 0.001,
        g_lr: float = 1e-3,
        d_lr: float = 1e-3,
        g_betas: tuple[float, float] = (0.0, 0.99),
        d_betas: tuple[float, float] = (0.0, 0.99),
        n_critic: int = 1,
        ema_decay: Optional[float] = 0.999,
        fade_in_images: int = 800_000,
        stabilize_images: int = 800_000,
        batch_sizes: Optional[dict[int, int]] = None,
        reset_optimizers_on_phase_change: bool = True,
        max_images_shown: Optional[int] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            generator, discriminator, loss=loss, gp_weight=gp_weight, drift_weight=drift_weight, g_lr=g_lr,
            d_lr=d_lr, g_betas=g_betas, d_betas=d_betas, n_critic=n_critic, ema_decay=ema_decay, **kwargs,
        )
        _check_networks(self.generator, self.discriminator)
        if max_images_shown is not None and max_images_shown < 1:
            raise ValueError(f"max_images_shown={max_images_shown!r}: must be >= 1 or None")
        self.schedule = GrowthSchedule(self.generator.num_levels, fade_in_images, stabilize_images)
        self.batch_sizes = _normalise_batch_sizes(batch_sizes, self.final_resolution)
        # Stage counters are buffers: they are checkpointed and restored on resume.
        # images_shown is the source of truth; level / alpha mirror it for inspection.
        self.register_buffer("images_shown_t", torch.zeros((), dtype=torch.long))
        self.register_buffer("level_t", torch.zeros((), dtype=torch.long))
        self.register_buffer("alpha_t", torch.ones((), dtype=torch.float32))
        self._images_shown = 0  # the loop reads this mirror: reading a GPU buffer would sync host and device
        self._images_per_discriminator_step = 0
        self._apply_stage(self.schedule.stage_at(0))

    # ------------------------------------------------------------------ stage
    @property
    def final_resolution(self) -> int:
        return self.generator.output_shape[-1]

    @property
    def images_shown(self) -> int:
        """Real images shown to D so far (summed over processes): the unit of the schedule."""
        return self._images_shown

    @property
    def stage(self) -> Stage:
        return self.schedule.stage_at(self.images_shown)

    def batch_size_at(self, resolution: int) -> Optional[int]:
        """Global batch used at ``resolution`` (None: the dataloader's whole batch)."""
        return self.batch_sizes.get(int(resolution))

    def _apply_stage(self, stage: Stage) -> None:
        networks = [self.generator, self.discriminator]
        if self.generator_ema is not None:
            networks.append(self.generator_ema.module)
        for network in networks:
            network.set_stage(stage.level, stage.alpha)
        self.level_t.fill_(stage.level)
        self.alpha_t.fill_(stage.alpha)

    def _refresh_counters(self) -> None:
        # After any load (resume, load_from_checkpoint, ganzoo.load_gan) the buffers are the truth:
        # put the networks back at the checkpoint's stage.
        super()._refresh_counters()
        self._images_shown = int(self.images_shown_t)
        self._apply_stage(self.stage)

    def training_progress(self) -> dict[str, int]:
        return {**super().training_progress(), "images_shown": self.images_shown}

    def restore_training_progress(self, progress: dict[str, Any]) -> None:
        super().restore_training_progress(progress)
        self._jump_to(int(progress.get("images_shown", 0)))

    def continue_stage_of(self, pretrained: GAN) -> None:
        # Without this a fine-tune from a grown model would start again at 4x4, retraining the
        # low-resolution layers and fading the learned ones back in. ``max_images_shown`` of
        # the fine-tune therefore counts on from the pretrained run's total.
        shown = getattr(pretrained, "images_shown", None)
        if shown is None:
            raise ValueError(f"cannot continue a ProGAN from a {type(pretrained).__name__}: it has no growth stage")
        self._jump_to(int(shown))

    def _jump_to(self, images_shown: int) -> None:
        self.images_shown_t.fill_(images_shown)
        self._refresh_counters()

    # ------------------------------------------------------------------ hooks of the base loop
    def prepare_real(self, real: Tensor) -> Tensor:
        stage = self.stage
        self._apply_stage(stage)
        if tuple(real.shape[-2:]) != (self.final_resolution, self.final_resolution):
            raise ValueError(
                f"ProGAN built for {self.final_resolution}x{self.final_resolution} images got a real batch of "
                f"{tuple(real.shape)}; set the datamodule's resolution to {self.final_resolution}"
            )
        real = real[: self._local_batch_size(stage, real.shape[0])]
        world, _ = self._world_and_rank()
        self._images_per_discriminator_step = real.shape[0] * world
        return real_images_at_stage(real, stage)

    def after_generator_step(self) -> None:
        before = self.stage
        shown = self.images_shown + self.hparams.n_critic * self._images_per_discriminator_step
        self.images_shown_t.fill_(shown)
        self._images_shown = shown
        after = self.stage
        if after.phase != before.phase and self.hparams.reset_optimizers_on_phase_change:
            self._reset_optimizer_states()
        self._apply_stage(after)
        if self._trainer is not None and should_update_logs(self.trainer):
            self.log_dict(
                {"progan/level": float(after.level), "progan/alpha": after.alpha, "progan/kimg": shown / 1000.0},
                prog_bar=False, batch_size=1,
            )
        limit = self.hparams.max_images_shown
        if limit is not None and shown >= limit and self._trainer is not None:
            self.trainer.should_stop = True

    # ------------------------------------------------------------------ internals
    def _local_batch_size(self, stage: Stage, available: int) -> int:
        wanted = self.batch_size_at(stage.resolution)
        if wanted is None:
            return available
        world, _ = self._world_and_rank()
        if wanted % world:
            raise ValueError(
                f"batch_sizes[{stage.resolution}]={wanted} is not divisible by the number of processes ({world})"
            )
        local = wanted // world
        if local > available:
            raise ValueError(
                f"batch_sizes[{stage.resolution}]={wanted} needs {local} samples per process but the dataloader "
                f"gives {available}: the datamodule's batch_size must be the largest per-resolution batch"
            )
        return local

    def _reset_optimizer_states(self) -> None:
        for optimizer in self.optimizers():
            # LightningOptimizer wraps the torch optimizer; Adam re-initialises empty states.
            getattr(optimizer, "optimizer", optimizer).state.clear()


def _check_networks(generator: Generator, discriminator: Discriminator) -> None:
    if not isinstance(generator, ProGANGenerator) or not isinstance(discriminator, ProGANDiscriminator):
        raise TypeError(
            "ProGAN grows its networks and needs ganzoo.nn.ProGANGenerator and ProGANDiscriminator, got "
            f"{type(generator).__name__} and {type(discriminator).__name__}"
        )
    if generator.output_shape != discriminator.input_shape:
        raise ValueError(
            f"generator output shape {generator.output_shape} differs from discriminator input shape "
            f"{discriminator.input_shape}: give both the same resolution and channels"
        )
