"""THE training loop: one LightningModule shared by every GAN variant.

Read this file top to bottom to know how every model in the zoo is trained.

One call of ``training_step`` = one generator iteration: it takes ``n_critic`` real
batches from the dataloader, makes one discriminator (critic) update on each, then one
generator update. (Lightning's per-batch machinery, about 2 ms, is paid once per
iteration instead of n_critic + 1 times.) Training length is counted in *generator
iterations* (what papers count), kept in the checkpointed buffer ``generator_iterations``;
Lightning's ``trainer.global_step`` counts every optimizer step (D and G together) and is
not used for schedules.

Variants (``dcgan.py``, ``wgan_gp.py``, ...) are presets of this class, written as data: their
networks (``default_generator`` / ``default_discriminator``) and what their paper changes from the
defaults below (``paper_defaults``: loss, optimizer, penalties); they override no code.
Progressive growing adds behaviour through the small hooks marked "hook".
"""
from __future__ import annotations

import functools
import inspect
import math
import warnings
from contextlib import contextmanager
from typing import Any, Iterator, Optional

import lightning as L
import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ganzoo import augment as diff_augment
from ganzoo import regularizers
from ganzoo.lightning_compat import plain_optimizer_step, plain_steps_are_equivalent, should_update_logs
from ganzoo.gans.sample_logging import log_sample_grid
from ganzoo.losses import get_loss
from ganzoo.nn import build_network
from ganzoo.nn.base import Discriminator, Generator
from ganzoo.nn.cross_process_bn import convert_batchnorm_for_processes
from ganzoo.seeding import AUGMENT_SEED_OFFSET, Stream, step_seed
from ganzoo.utils import parameters_set_to

# training_step takes Lightning's ``dataloader_iter`` (n_critic batches per step); Lightning calls the
# signature experimental on every fit. It is the documented way for a step to consume several batches.
warnings.filterwarnings("ignore", message="Found `dataloader_iter` argument")
warnings.filterwarnings("ignore", message="You are using the `dataloader_iter` step flavor")

OPTIMIZERS = ("adam", "rmsprop", "sgd")
LR_SCHEDULES = ("constant", "linear")


class GAN(L.LightningModule):
    """A GAN trained by alternating discriminator / generator updates (manual optimization).

    Args:
        generator, discriminator: the networks (``ganzoo.nn``), or their ``config`` dicts
            ``{"name": ..., "kwargs": ...}`` (how checkpoints and config.json store them).
        loss: a name from ``ganzoo.losses.LOSSES`` ("nonsaturating", "wasserstein", "hinge", ...).
        loss_options: keyword options bound into the loss (e.g. ``{"real_label": 0.9}``).
        n_critic: discriminator updates per generator update (>= 1).
        g_lr, d_lr, g_betas, d_betas, optimizer: separate optimizers for G and D
            ("adam" uses the betas; "rmsprop" and "sgd" ignore them).
        lr_schedule: "constant" or "linear" (decay to 0 at ``max_generator_iterations``).
        gp_weight: WGAN-GP gradient penalty weight lambda (0 = off).
        r1_gamma, r2_gamma: zero-centred penalties on real / fake samples (0 = off).
        clip_value: WGAN weight clipping bound c applied after each D update (None = off).
        drift_weight: epsilon-drift penalty eps * E[D(x)^2] (ProGAN); 0 = off.
        mode_seeking_weight: weight of MSGAN's mode-seeking term (Mao et al. 2019) added to the
            generator's loss (``ganzoo.regularizers.mode_seeking_term`` on the two halves of its batch;
            the paper's weight is 1); 0 = off.
        instance_noise_std, instance_noise_anneal: instance noise sigma, linearly annealed
            to 0 over that many generator iterations (0 = never anneal).
        augment: differentiable augmentation of everything D sees, real and fake, in both players'
            updates (DiffAugment, Zhao et al. 2020; ``ganzoo.augment``): a comma-separated policy
            from "color", "translation", "cutout" ("color,translation,cutout" is the paper's
            CIFAR-10 policy). Penalties are taken on the augmented images D scores. None = off.
        ema_decay: decay of the generator's exponential moving average (None = no EMA).
        max_generator_iterations: stop after this many generator updates (None = Trainer decides).
        sample_every_n_iterations, num_sample_images: periodic sample grids with fixed latents.
        seed: seeds the latent stream. Latents are drawn for the GLOBAL batch from a
            per-step seed and each process takes its slice, so 1 and N processes with the
            same global batch see the same latents (results are comparable across GPU counts).
        channels_last: keep conv weights and image batches in NHWC memory order, which cuDNN
            (tensor cores) and oneDNN (CPU) run faster: up to 25% per step on a 2-core CPU, see
            ``benchmarks/RESULTS.md``. None = on with a GPU or a oneDNN-enabled CPU build. Memory
            order changes results by float rounding only (tests/test_performance_paths.py).
        prediction: the prediction step of Yadav et al. (2018). ``True`` or ``"generator"``: each
            discriminator update sees the generator at its predicted parameters
            theta_bar = theta_{k+1} + (theta_{k+1} - theta_k), theta_k -> theta_{k+1} being its last
            update (the paper's choice). ``"discriminator"``: the generator update sees the
            discriminator at its prediction from this iteration's n_critic updates. ``False``: off.
            The EMA averages the real parameters; the previous parameters are a buffer, so they
            are in every checkpoint.
        compile_networks: ``torch.compile`` the generator and the discriminator when fitting.
            Pays a compile time up front (minutes on a CPU) for faster steps; see
            ``benchmarks/RESULTS.md``. With a gradient penalty (gp / r1 / r2) only the generator
            is compiled: compiled graphs do not support the double backward the penalty needs.
    """

    variant_id = "gan"  # presets override it: the name in recipes, registry entries and messages

    # Presets override these class attributes; __init__ arguments override presets.
    default_generator: dict[str, Any] = {"name": "MLPGenerator", "kwargs": {}}
    default_discriminator: dict[str, Any] = {"name": "MLPDiscriminator", "kwargs": {}}
    # What a preset's paper changes from this __init__'s defaults. A preset's __init__ is generated
    # from it (__init_subclass__), so its signature, --help, recipes, hparams and checkpoints show
    # the paper's values; arguments passed to __init__ override them.
    paper_defaults: dict[str, Any] = {}
    allowed_losses: Optional[tuple[str, ...]] = None  # a preset defined by its loss family refuses others

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("paper_defaults"):
            cls.__init__ = _init_with_defaults(cls.__init__, cls.paper_defaults, cls.__name__)

    def __init__(
        self,
        generator: Optional[Generator] = None,
        discriminator: Optional[Discriminator] = None,
        loss: str = "nonsaturating",
        loss_options: Optional[dict[str, Any]] = None,
        n_critic: int = 1,
        g_lr: float = 2e-4,
        d_lr: float = 2e-4,
        g_betas: tuple[float, float] = (0.5, 0.999),
        d_betas: tuple[float, float] = (0.5, 0.999),
        optimizer: str = "adam",
        lr_schedule: str = "constant",
        gp_weight: float = 0.0,
        r1_gamma: float = 0.0,
        r2_gamma: float = 0.0,
        clip_value: Optional[float] = None,
        drift_weight: float = 0.0,
        mode_seeking_weight: float = 0.0,
        instance_noise_std: float = 0.0,
        instance_noise_anneal: int = 0,
        augment: Optional[str] = None,
        ema_decay: Optional[float] = 0.999,
        max_generator_iterations: Optional[int] = None,
        sample_every_n_iterations: int = 500,
        num_sample_images: int = 64,
        seed: int = 0,
        channels_last: Optional[bool] = None,
        compile_networks: bool = False,
        prediction: bool | str = False,
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        _validate_hyperparameters(locals())
        if self.allowed_losses is not None and loss not in self.allowed_losses:
            raise ValueError(f"{type(self).__name__} loss={loss!r}: choose one of {', '.join(self.allowed_losses)}")
        self.save_hyperparameters(ignore=["generator", "discriminator"])

        self.generator = _as_network(generator, self.default_generator, Generator, "generator")
        self.discriminator = _as_network(discriminator, self.default_discriminator, Discriminator, "discriminator")
        # Checkpoints and load_from_checkpoint rebuild the networks from these JSON configs.
        # (class_path form, so LightningCLI can also re-parse them when resuming with --ckpt_path)
        self.hparams["generator"] = _class_path_spec(self.generator)
        self.hparams["discriminator"] = _class_path_spec(self.discriminator)

        self.loss = get_loss(loss, **(loss_options or {}))
        self.instance_noise = (
            regularizers.InstanceNoise(instance_noise_std, 0.0, instance_noise_anneal or 1,
                                       schedule="linear" if instance_noise_anneal > 0 else "constant")
            if instance_noise_std > 0
            else None
        )
        self.augmentations = diff_augment.parse_policy(augment)
        if self.augmentations and len(self.generator.output_shape) != 3:
            raise ValueError(f"augment={augment!r} transforms images (C, H, W); this generator makes samples of "
                             f"shape {tuple(self.generator.output_shape)}")
        # The EMA copy never trains: no grads keeps it out of the DDP reducer.
        self.generator_ema = None
        if ema_decay is not None:
            self.generator_ema = AveragedModel(
                self.generator, multi_avg_fn=get_ema_multi_avg_fn(ema_decay), use_buffers=True
            )
            self.generator_ema.requires_grad_(False)

        # Counters are buffers so they are saved in checkpoints and restored on resume. Python
        # mirrors are what the loop reads: reading a GPU buffer would sync host and device.
        self.register_buffer("generator_iterations_t", torch.zeros((), dtype=torch.long))
        self.register_buffer("discriminator_steps_t", torch.zeros((), dtype=torch.long))
        self.register_buffer("sample_latents", self.generator.sample_latent(num_sample_images, seed=seed))
        self._generator_iterations = 0
        self._discriminator_steps = 0
        self._latent_rngs: dict[torch.device, torch.Generator] = {}  # one per device, re-seeded every draw
        self._channels_last = False  # decided in configure_model, once the Trainer's device is known
        self._networks_compiled = False
        self._plain_steps = False  # decided in on_fit_start, once the Trainer's callbacks are known
        self.watched_terms: dict[str, Tensor] = {}  # this batch's loss terms, for the divergence guard
        self.register_load_state_dict_post_hook(_refresh_counters_hook)
        # The predicted player's parameters before its last move (prediction step; None = off).
        self.predicted = PREDICTION_CHOICES[prediction]
        if self.predicted is not None:
            self.register_buffer("prediction_previous", _flat_parameters(getattr(self, self.predicted)))

    # ------------------------------------------------------------------ counters
    @property
    def generator_iterations(self) -> int:
        """Generator updates so far: the unit of training length."""
        return self._generator_iterations

    @property
    def discriminator_steps(self) -> int:
        return self._discriminator_steps

    def training_progress(self) -> dict[str, int]:
        """How far training got, as plain counters: written into exports (``ganzoo.save``)."""
        return {"generator_iterations": self.generator_iterations}

    def restore_training_progress(self, progress: dict[str, Any]) -> None:
        """Inverse of ``training_progress`` (keys it does not know are ignored)."""
        self.generator_iterations_t.fill_(int(progress.get("generator_iterations", 0)))
        self._refresh_counters()

    def continue_stage_of(self, pretrained: "GAN") -> None:
        """Fine-tuning hook: variants whose networks change during training (ProGAN) take the
        pretrained model's stage here. The iteration counters are not copied: a fine-tune is
        a new run that counts from zero."""

    def _refresh_counters(self) -> None:
        """After weights are loaded (resume, ganzoo.load_gan) the buffers are the truth."""
        self._generator_iterations = int(self.generator_iterations_t)
        self._discriminator_steps = int(self.discriminator_steps_t)

    def _count(self, buffer: Tensor, attribute: str) -> None:
        buffer.add_(1)  # on-device, no sync
        setattr(self, attribute, getattr(self, attribute) + 1)

    # ------------------------------------------------------------------ fast path
    def configure_model(self) -> None:
        """Lightning calls this before it builds the optimizers: set memory order and compile here."""
        hp = self.hparams
        world, _ = self._world_and_rank()
        if world > 1:  # normalise over the GLOBAL batch, as one process does (ganzoo/nn/cross_process_bn.py)
            device_type = self.trainer.strategy.root_device.type
            for name in ("generator", "discriminator"):
                setattr(self, name, convert_batchnorm_for_processes(getattr(self, name), device_type))
        self._channels_last = _channels_last_helps(self) if hp.channels_last is None else hp.channels_last
        if self._channels_last:
            # Converts 4-D parameters and buffers in place (same Parameter objects), EMA copy included.
            self.to(memory_format=torch.channels_last)
        if hp.compile_networks and not self._networks_compiled:
            self.generator.compile()  # in place: parameter names and checkpoints stay the same
            if not (hp.gp_weight > 0 or hp.r1_gamma > 0 or hp.r2_gamma > 0):
                self.discriminator.compile()
            self._networks_compiled = True

    # ------------------------------------------------------------------ the loop
    def training_step(self, dataloader_iter: Iterator) -> None:
        """One generator iteration: ``n_critic`` D updates, each on its own real batch, then one G update."""
        reals = self.next_real_batches(dataloader_iter)
        d_opt, g_opt = self.optimizers()
        self.watched_terms = {}
        self._remember_before_move("discriminator")
        # G does not move during D's turn: its prediction (if on) is set once for all n_critic steps.
        with self._at_prediction("generator"):
            for real in reals:
                d_logs = self.discriminator_step(real, d_opt)
                self._count(self.discriminator_steps_t, "_discriminator_steps")

        self._last_g_logs = self.generator_step(reals[-1], g_opt)
        self._count(self.generator_iterations_t, "_generator_iterations")
        if self.generator_ema is not None:
            self.generator_ema.update_parameters(self.generator)
        self._step_lr_schedules()
        self.after_generator_step()
        self._maybe_log_samples()
        self._maybe_stop()
        self._maybe_log_scalars(d_logs)

    def next_real_batches(self, dataloader_iter: Iterator) -> list[Tensor]:
        """The iteration's ``n_critic`` real batches, on this module's device.

        All are fetched before any update: when the epoch runs out part-way, the StopIteration
        ends it with no update made (like ``drop_last``), and the next epoch starts a fresh
        iteration. With ``dataloader_iter`` Lightning leaves the device transfer to the step.
        """
        reals = []
        for _ in range(self.hparams.n_critic):
            batch, _, _ = next(dataloader_iter)
            batch = self.trainer.strategy.batch_to_device(self.trainer.precision_plugin.convert_input(batch))
            real = self.prepare_real(_real_images(batch))
            if self._channels_last and real.ndim == 4:
                real = real.contiguous(memory_format=torch.channels_last)
            reals.append(real)
        return reals

    def discriminator_step(self, real: Tensor, d_opt) -> dict[str, Tensor]:
        """One D update: loss on real vs detached fakes, plus the configured penalties."""
        hp = self.hparams
        with self.training_only(d_opt):
            with torch.no_grad():
                fake = self.generate(self._latents(real.shape[0], Stream.D_LATENTS))
            # What D sees (augmented, if augment is set): its scores and penalties are taken on these.
            real = self._augmented(real, Stream.D_NOISE_REAL)
            fake = self._augmented(fake, Stream.D_NOISE_FAKE)
            d_real = self.discriminator(self._noisy(real, Stream.D_NOISE_REAL))
            d_fake = self.discriminator(self._noisy(fake, Stream.D_NOISE_FAKE))
            adversarial = self.loss.discriminator(d_real, d_fake, **self._label_noise_draws(real.shape[0]))
            total = adversarial
            # Per-sample scores; averaged only in the batches that are logged (_maybe_log_scalars).
            logs = {"d_loss": adversarial.detach(), "d_real": d_real.detach(), "d_fake": d_fake.detach()}
            if hp.gp_weight > 0:
                alpha = self._uniform(real.shape[0], Stream.PENALTY_MIX)
                penalty = regularizers.gradient_penalty(self.discriminator, real, fake, alpha=alpha)
                total = total + hp.gp_weight * penalty
                logs["gradient_penalty"] = penalty.detach()
            if hp.r1_gamma > 0:
                penalty = regularizers.r1_penalty(self.discriminator, real, hp.r1_gamma)
                total = total + penalty
                logs["r1_penalty"] = penalty.detach()
            if hp.r2_gamma > 0:
                penalty = regularizers.r2_penalty(self.discriminator, fake, hp.r2_gamma)
                total = total + penalty
                logs["r2_penalty"] = penalty.detach()
            if hp.drift_weight > 0:
                drift = d_real.float().pow(2).mean()
                total = total + hp.drift_weight * drift
                logs["drift"] = drift.detach()
            for name, value in logs.items():
                if name in ("gradient_penalty", "r1_penalty", "r2_penalty", "drift"):
                    self.watch_term(value, name.replace("_", " "))
            self.watch_term(total, "discriminator loss")
            d_opt.zero_grad(set_to_none=True)
            self._backward(total)
            self._optimizer_step(d_opt)
        if hp.clip_value is not None:
            regularizers.clip_weights_(self.discriminator, hp.clip_value)
        return logs

    def generator_step(self, real: Tensor, g_opt) -> dict[str, Tensor]:
        """One G update. Relativistic losses also need D's scores on the real batch."""
        with self.training_only(g_opt):
            # Backward inside the block: autograd keeps the predicted D weights it needs.
            with self._at_prediction("discriminator"):
                latents = self._latents(real.shape[0], Stream.G_LATENTS)
                fake = self.generate(latents)
                d_fake = self.discriminator(self._as_seen_by_discriminator(fake, Stream.G_NOISE_FAKE))
                d_real = (self.discriminator(self._as_seen_by_discriminator(real, Stream.G_NOISE_REAL))
                          if self.loss.relativistic else None)
                g_loss = self.loss.generator(d_real, d_fake)
                logs = {"g_loss": g_loss.detach()}
                total = g_loss
                if self.hparams.mode_seeking_weight > 0:
                    mode_seeking = regularizers.mode_seeking_term(fake, latents)
                    total = total + self.hparams.mode_seeking_weight * mode_seeking
                    logs["mode_seeking"] = mode_seeking.detach()
                    self.watch_term(mode_seeking, "mode seeking")
                self.watch_term(total, "generator loss")
                g_opt.zero_grad(set_to_none=True)
                self._backward(total)
            self._remember_before_move("generator")
            self._optimizer_step(g_opt)
        return logs

    def _backward(self, loss: Tensor) -> None:
        if self._plain_steps:
            loss.backward()
        else:
            self.manual_backward(loss)

    def _optimizer_step(self, optimizer) -> None:
        if self._plain_steps:
            plain_optimizer_step(optimizer)
        else:
            optimizer.step()

    # ------------------------------------------------------------------ prediction step
    def _remember_before_move(self, player: str) -> None:
        """Record the predicted player's parameters just before its move (one G step, or D's n_critic steps)."""
        if self.predicted == player:
            self.prediction_previous.copy_(_flat_parameters(getattr(self, player)))

    @contextmanager
    def _at_prediction(self, player: str) -> Iterator[None]:
        """Inside, ``player``'s parameters are theta + (theta - theta_previous); restored on exit."""
        if self.predicted != player:
            yield
            return
        parameters = list(getattr(self, player).parameters())
        previous = self.prediction_previous.split([p.numel() for p in parameters])
        predicted = [2 * p.detach() - before.view(p.shape).to(p.dtype) for p, before in zip(parameters, previous)]
        with parameters_set_to(parameters, predicted):
            yield

    @contextmanager
    def training_only(self, optimizer) -> Iterator[None]:
        """Inside, only ``optimizer``'s parameters require gradients: no weight gradients for D in
        the G update, none for G in the D update.

        The effect of Lightning's ``toggled_optimizer``, which builds a dict keyed by every parameter
        on each call (about 6x slower; it adds up over n_critic + 1 calls per iteration). G and D
        have separate parameters, so freezing the other optimizers' parameters is all it takes.
        """
        own = getattr(optimizer, "optimizer", optimizer)  # unwrap Lightning's LightningOptimizer
        frozen = [p for opt in self.trainer.optimizers if opt is not own for group in opt.param_groups
                  for p in group["params"]]
        previous = [p.requires_grad for p in frozen]
        for parameter in frozen:
            parameter.requires_grad_(False)
        try:
            yield
        finally:
            for parameter, flag in zip(frozen, previous):
                parameter.requires_grad_(flag)

    # ------------------------------------------------------------------ hooks
    def prepare_real(self, real: Tensor) -> Tensor:
        """Hook: transform the real batch before use (ProGAN downsamples it)."""
        return real

    def generate(self, z: Tensor) -> Tensor:
        """Hook: the training generator's forward (ProGAN passes its fade-in alpha)."""
        return self.generator(z)

    def after_generator_step(self) -> None:
        """Hook: called after each generator update (ProGAN advances its schedule)."""

    def watch_term(self, value: Tensor, term: str) -> None:
        """Record (not check) a loss term for the divergence guard (``ganzoo.callbacks.DivergenceGuard``).

        Recording costs nothing (no host-device sync); the guard checks all terms of a batch
        with a single sync at the end of the batch, and only when it is installed.
        """
        self.watched_terms[term] = value.detach()

    # ------------------------------------------------------------------ sampling
    @property
    def sampling_generator(self) -> Generator:
        """The EMA generator when there is one (what we publish), else the trained one."""
        return self.generator_ema.module if self.generator_ema is not None else self.generator

    @torch.no_grad()
    def sample(self, n: int, seed: Optional[int] = None, ema: bool = True) -> Tensor:
        generator = self.sampling_generator if ema else self.generator
        was_training = generator.training
        generator.eval()
        try:
            return generator.sample(n, seed=seed)
        finally:
            generator.train(was_training)

    # ------------------------------------------------------------------ saving
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Lets `ganzoo publish` rebuild the right variant from a checkpoint alone.
        variant = type(self).__dict__.get("variant_id")  # a user's subclass of a preset: None
        checkpoint["ganzoo"] = {"variant": variant, "generator_iterations": self.generator_iterations}

    def on_fit_start(self) -> None:
        # Skip Lightning's per-step hook dispatch when nothing listens to it (same updates, same counts).
        self._plain_steps = plain_steps_are_equivalent(self.trainer, self)
        if self._trainer is not None and self.trainer.is_global_zero:  # the short form of a model summary
            count = lambda module: sum(p.numel() for p in module.parameters())  # noqa: E731
            print(f"{type(self).__name__}: G {type(self.generator).__name__} {count(self.generator):,} parameters, "
                  f"D {type(self.discriminator).__name__} {count(self.discriminator):,} parameters, "
                  f"n_critic {self.hparams.n_critic}, {self.hparams.max_generator_iterations or 'unbounded'} "
                  "generator iterations")

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Remembered so that on_train_start can apply what the resume command changed.
        self._checkpoint_hparams = dict(checkpoint.get("hyper_parameters") or {})

    def on_train_start(self) -> None:
        saved = getattr(self, "_checkpoint_hparams", None)
        if saved is None:
            return
        self._checkpoint_hparams = None
        limit = self.hparams.max_generator_iterations
        if limit is not None and self.generator_iterations >= limit:
            raise ValueError(
                f"the checkpoint is already at {self.generator_iterations} generator iterations and "
                f"max_generator_iterations is {limit}: nothing to train. To continue, pass a larger "
                "--model.init_args.max_generator_iterations")
        changed = {key: (saved[key], value) for key, value in self.hparams.items()
                   if key in saved and _plain(saved[key]) != _plain(value)}
        if changed and self.trainer.is_global_zero:
            print("resume: values changed since the checkpoint: "
                  + ", ".join(f"{key} {old} -> {new}" for key, (old, new) in changed.items()))
        self._apply_optimizer_settings()

    def _apply_optimizer_settings(self) -> None:
        """A resumed optimizer carries the checkpoint's lr and betas in its state: set the current
        hyper-parameters' values (a resume with lower learning rates must really lower them)."""
        hp = self.hparams
        schedulers = self.lr_schedulers()
        schedulers = schedulers if isinstance(schedulers, list) else [schedulers] if schedulers else [None, None]
        for optimizer, scheduler, lr, betas in zip(self.trainer.optimizers, schedulers, (hp.d_lr, hp.g_lr),
                                                   (hp.d_betas, hp.g_betas)):
            factor = scheduler.lr_lambdas[0](None) if scheduler is not None else 1.0
            for group in optimizer.param_groups:
                group["lr"] = lr * factor
                group["initial_lr"] = lr
                if "betas" in group:
                    group["betas"] = tuple(betas)
            if scheduler is not None:
                scheduler.base_lrs = [lr] * len(optimizer.param_groups)

    # ------------------------------------------------------------------ optimizers
    def configure_optimizers(self):
        hp = self.hparams
        fused = self.device.type == "cuda"  # Lightning has moved the module to its device by now
        d_opt = _make_optimizer(hp.optimizer, self.discriminator.parameters(), hp.d_lr, hp.d_betas, fused)
        g_opt = _make_optimizer(hp.optimizer, self.generator.parameters(), hp.g_lr, hp.g_betas, fused)
        if hp.lr_schedule == "constant":
            return [d_opt, g_opt]
        total = hp.max_generator_iterations
        factor = lambda _: max(0.0, 1.0 - self.generator_iterations / total)  # noqa: E731
        schedulers = [torch.optim.lr_scheduler.LambdaLR(opt, factor) for opt in (d_opt, g_opt)]
        return [d_opt, g_opt], schedulers

    def _step_lr_schedules(self) -> None:
        # Manual optimization: Lightning never steps schedulers for us.
        schedulers = self.lr_schedulers()
        if schedulers is None:
            return
        for scheduler in schedulers if isinstance(schedulers, list) else [schedulers]:
            scheduler.step()

    # ------------------------------------------------------------------ internals
    def _latents(self, local_batch: int, stream: int) -> Tensor:
        return self._draw_for_global_batch(torch.randn, local_batch, (self.generator.latent_dim,), stream)

    def _uniform(self, local_batch: int, stream: int) -> Tensor:
        return self._draw_for_global_batch(torch.rand, local_batch, (), stream)

    def _draw_for_global_batch(self, draw, local_batch: int, sample_shape: tuple, stream: int,
                               seed_offset: int = 0) -> Tensor:
        """This process's rows of one draw for the GLOBAL batch from the per-step stream: every
        process makes the same draw, so 1 and N processes train the same model."""
        world, rank = self._world_and_rank()
        values = draw((local_batch * world, *sample_shape), generator=self._step_rng(stream, seed_offset),
                      device=self.device)
        return values[rank * local_batch : (rank + 1) * local_batch]

    def _step_rng(self, stream: int, seed_offset: int = 0) -> torch.Generator:
        """A generator seeded from (seed, step, stream): runs stay reproducible after resume too.

        One generator per device is kept and re-seeded, rather than a new one per draw; callers
        draw from it at once, before the next call re-seeds it.
        """
        step = self.discriminator_steps
        rng = self._latent_rngs.get(self.device)
        if rng is None:
            rng = self._latent_rngs[self.device] = torch.Generator(device=self.device)
        rng.manual_seed(step_seed(self.hparams.seed, step, stream) + seed_offset)
        return rng

    def _label_noise_draws(self, local_batch: int) -> dict[str, Any]:
        """The BCE losses' ``label_noise`` flips, drawn like the latents (per step, global batch)
        rather than from the global random state, so 1 and N processes flip the same labels."""
        if not (self.hparams.loss_options or {}).get("label_noise", 0) > 0:
            return {}
        uniforms = self._draw_for_global_batch(torch.rand, local_batch, (2,), Stream.LABEL_FLIPS)
        return {"label_uniforms": (uniforms[:, 0], uniforms[:, 1])}

    def _world_and_rank(self) -> tuple[int, int]:
        trainer = self._trainer
        if trainer is None:
            return 1, 0
        return trainer.world_size, trainer.global_rank

    def _as_seen_by_discriminator(self, x: Tensor, stream: int) -> Tensor:
        return self._noisy(self._augmented(x, stream), stream)

    def _augmented(self, x: Tensor, stream: int) -> Tensor:
        """``x`` under the augment policy, its random choices drawn like instance noise (per step, for the
        global batch) from the noise stream's augmentation twin: reproducible after a resume and across
        world sizes."""
        if not self.augmentations:
            return x
        columns = diff_augment.uniforms_needed(self.augmentations)
        uniforms = self._draw_for_global_batch(torch.rand, x.shape[0], (columns,), stream, AUGMENT_SEED_OFFSET)
        return diff_augment.augment(x, self.augmentations, uniforms)

    def _noisy(self, x: Tensor, stream: int) -> Tensor:
        """``x`` plus instance noise from the per-step stream: reproducible across resumes and world sizes."""
        if self.instance_noise is None:
            return x
        sigma = self.instance_noise.sigma(self.generator_iterations)
        if sigma == 0.0:
            return x
        noise = self._draw_for_global_batch(torch.randn, x.shape[0], tuple(x.shape[1:]), stream)
        return x + sigma * noise.to(x.dtype)

    def _maybe_log_scalars(self, d_logs: dict[str, Tensor]) -> None:
        # self.log costs about a millisecond per call: call it only in the batches whose values
        # the Trainer writes out (every `log_every_n_steps`, and the last one).
        trainer = self._trainer
        if trainer is None or not should_update_logs(trainer):
            return
        scalars = {name: value.mean() for name, value in {**d_logs, **getattr(self, "_last_g_logs", {})}.items()}
        # batch_size: with dataloader_iter Lightning cannot infer it; values are per step, never averaged.
        self.log_dict(scalars, batch_size=1)
        self.log("g_iter", float(self.generator_iterations), prog_bar=True, batch_size=1)

    def _maybe_stop(self) -> None:
        limit = self.hparams.max_generator_iterations
        if limit is not None and self.generator_iterations >= limit:
            self.trainer.should_stop = True

    def _maybe_log_samples(self) -> None:
        every = self.hparams.sample_every_n_iterations
        if every <= 0 or self.generator_iterations % every != 0 or self._trainer is None:
            return
        if not self.trainer.is_global_zero:
            return
        log_sample_grid(self)

    def on_train_end(self) -> None:
        if self.hparams.sample_every_n_iterations > 0 and self.trainer.is_global_zero:
            log_sample_grid(self)


# ---------------------------------------------------------------------- helpers
def _init_with_defaults(init, defaults: dict[str, Any], class_name: str):
    """``init`` with some defaults replaced, as a real signature (LightningCLI reads it)."""
    signature = inspect.signature(init)
    unknown = sorted(set(defaults) - set(signature.parameters))
    if unknown:
        raise TypeError(f"{class_name}.paper_defaults: {', '.join(unknown)} not arguments of {init.__qualname__}")
    signature = signature.replace(parameters=[
        parameter.replace(default=defaults[parameter.name]) if parameter.name in defaults else parameter
        for parameter in signature.parameters.values()])

    @functools.wraps(init)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        init(*bound.args, **bound.kwargs)

    __init__.__signature__ = signature
    return __init__


PREDICTION_CHOICES = {False: None, None: None, True: "generator", "generator": "generator",
                      "discriminator": "discriminator", "none": None}


def _flat_parameters(network: nn.Module) -> Tensor:
    """All parameters of ``network`` as one fp32 vector (whatever their memory order)."""
    return torch.cat([p.detach().reshape(-1).float() for p in network.parameters()])


def _plain(value: Any) -> Any:
    """Hyper-parameter values compared across a checkpoint (tuples come back as lists)."""
    return list(value) if isinstance(value, tuple) else value


def _refresh_counters_hook(module: GAN, incompatible_keys) -> None:
    module._refresh_counters()  # a named function, not a lambda: DDP spawn pickles the module


def _real_images(batch: Any) -> Tensor:
    """Datamodules yield (x, y); plain tensors are accepted too."""
    return batch[0] if isinstance(batch, (tuple, list)) else batch


def _class_path_spec(network: nn.Module) -> dict[str, Any]:
    config = network.config
    return {"class_path": f"ganzoo.nn.{config['name']}", "init_args": config["kwargs"]}


def _as_network(spec: Any, default: dict[str, Any], kind: type[nn.Module], role: str) -> nn.Module:
    if spec is None:
        spec = default
    if isinstance(spec, dict) and "class_path" in spec:  # jsonargparse style, from YAML
        spec = {"name": spec["class_path"].rsplit(".", 1)[-1], "kwargs": spec.get("init_args", {})}
    if isinstance(spec, dict):
        if set(spec) - {"name", "kwargs"} or "name" not in spec:
            raise ValueError(f"{role} config must be {{'name': ..., 'kwargs': {{...}}}}, got keys {sorted(spec)}")
        spec = build_network(spec["name"], **spec.get("kwargs", {}))
    if not isinstance(spec, kind):
        raise TypeError(f"{role} must be a ganzoo.nn.{kind.__name__} (or its config dict), got {type(spec).__name__}")
    return spec


def _channels_last_helps(module: GAN) -> bool:
    """NHWC convolutions are the fast ones on cuDNN and on oneDNN (PyTorch's x86 / ARM CPU builds)."""
    device = module.trainer.strategy.root_device if module._trainer is not None else module.device
    return device.type == "cuda" or (device.type == "cpu" and torch.backends.mkldnn.is_available())


class _SkipGraphCaptureCheckOnCPU:
    """Adam and RMSprop ask, on every step, whether a CUDA graph is being captured. With a CUDA
    build of PyTorch on a machine without a GPU the answer is never cached: each step queries the
    driver library (NVML), about 0.25 ms, paid n_critic + 1 times per generator iteration. CPU
    parameters cannot be updated inside a CUDA graph, so the check is skipped for them."""

    def _accelerator_graph_capture_health_check(self) -> None:
        if self.param_groups[0]["params"][0].device.type != "cpu":
            super()._accelerator_graph_capture_health_check()


class _Adam(_SkipGraphCaptureCheckOnCPU, torch.optim.Adam):
    pass


class _RMSprop(_SkipGraphCaptureCheckOnCPU, torch.optim.RMSprop):
    pass


def _make_optimizer(name: str, params, lr: float | Tensor, betas, fused: bool = False,
                    capturable: bool = False) -> torch.optim.Optimizer:
    """Multi-tensor ("foreach") updates everywhere; on a GPU, single-kernel "fused" Adam / SGD
    (RMSprop has no fused version). Both compute the same update up to float rounding.
    ``capturable``: Adam / RMSprop keep their step counts on the GPU, so a CUDA graph can replay them
    (``graphed.py``); ``lr`` may then be a GPU tensor that a schedule changes in place."""
    if name == "adam":
        return _Adam(params, lr=lr, betas=tuple(betas), capturable=capturable, **_fast_impl(fused))
    if name == "rmsprop":
        return _RMSprop(params, lr=lr, foreach=True, capturable=capturable)
    return torch.optim.SGD(params, lr=lr, **_fast_impl(fused))


def _fast_impl(fused: bool) -> dict[str, bool]:
    return {"fused": True} if fused else {"foreach": True}


def _validate_hyperparameters(args: dict[str, Any]) -> None:
    """Refuse bad settings at construction with a message that names the value."""

    def bad(name: str, why: str) -> None:
        raise ValueError(f"{name}={args[name]!r}: {why}")

    if not isinstance(args["n_critic"], int) or args["n_critic"] < 1:
        bad("n_critic", "must be an integer >= 1 (discriminator updates per generator update)")
    for name in ("g_lr", "d_lr"):
        if not (isinstance(args[name], (int, float)) and math.isfinite(args[name]) and args[name] > 0):
            bad(name, "learning rate must be a finite number > 0")
    for name in ("g_betas", "d_betas"):
        betas = args[name]
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            bad(name, "Adam betas must be two numbers in [0, 1)")
    if args["optimizer"] not in OPTIMIZERS:
        bad("optimizer", f"choose one of {', '.join(OPTIMIZERS)}")
    if args["lr_schedule"] not in LR_SCHEDULES:
        bad("lr_schedule", f"choose one of {', '.join(LR_SCHEDULES)}")
    if args["lr_schedule"] == "linear" and not args["max_generator_iterations"]:
        bad("lr_schedule", "'linear' decays to 0 at max_generator_iterations, which must then be set")
    for name in ("gp_weight", "r1_gamma", "r2_gamma", "drift_weight", "mode_seeking_weight", "instance_noise_std"):
        if args[name] < 0:
            bad(name, "must be >= 0")
    if args["clip_value"] is not None and args["clip_value"] <= 0:
        bad("clip_value", "weight clipping bound must be > 0 (or None to disable)")
    if args["ema_decay"] is not None and not 0.0 < args["ema_decay"] < 1.0:
        bad("ema_decay", "must be in (0, 1) or None")
    if args["max_generator_iterations"] is not None and args["max_generator_iterations"] < 1:
        bad("max_generator_iterations", "must be >= 1 or None")
    if args["num_sample_images"] < 1:
        bad("num_sample_images", "must be >= 1")
    if args["channels_last"] not in (None, True, False):
        bad("channels_last", "must be True, False or None (None = on for GPUs and oneDNN CPUs)")
    if not isinstance(args["prediction"], (bool, str, type(None))) or args["prediction"] not in PREDICTION_CHOICES:
        bad("prediction", "choose False, True (= 'generator': D updates see G's prediction) or 'discriminator'")
    if args["compile_networks"] not in (True, False):
        bad("compile_networks", "must be True or False")
