"""The loop's iteration replayed as one CUDA graph: the GPU path for models whose steps are launch-bound.

Why: on an H200 the Lightning loop (``base.py``) trains the paper ResNet SN-GAN at 2.6 generator iterations
per second, and a hand-written loop is no faster (docs/runs/gpu-session-2026-12-04.md): the GPU waits while
the host issues thousands of small kernels per iteration. Here one whole iteration (``n_critic`` D updates,
the G update, the EMA) is captured once with ``torch.cuda.graph`` and then replayed: one launch per iteration.

It makes the updates of ``GAN.training_step``; ``tests/test_graphed.py`` compares the weights after
iterations with the Lightning loop's, running this iteration eagerly on the CPU. What differs:

- the latents (and WGAN-GP's mixing coefficients) are drawn inside the graph from the device's default
  random generator, seeded once, not re-seeded per step: the same distributions, another stream of numbers;
- the caller hands over the iteration's real batches (``scripts/gpu/train_graphed.py`` keeps the data set
  on the GPU);
- options that sync host and device inside a step or change the networks are refused: augment, instance
  noise, label noise, prediction, mode seeking, progressive growing.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from ganzoo import regularizers
from ganzoo.gans.base import GAN, _make_optimizer

WARMUP_ITERATIONS = 3  # eager iterations before the capture (torch.cuda.graph's documented requirement)


def unsupported_options(gan: GAN) -> list[str]:
    """The settings of ``gan`` a captured iteration cannot reproduce (empty: it can be graphed)."""
    hp = gan.hparams
    found = [f"{name}={hp[name]!r}" for name, off in (("augment", None), ("instance_noise_std", 0.0),
                                                    ("prediction", False), ("mode_seeking_weight", 0.0))
             if hp.get(name, off) != off]
    if (hp.get("loss_options") or {}).get("label_noise", 0):
        found.append("loss_options.label_noise")
    if type(gan).prepare_real is not GAN.prepare_real or type(gan).after_generator_step is not GAN.after_generator_step:
        found.append(f"{type(gan).__name__} (its networks change during training)")
    return found


class GraphedIteration:
    """One generator iteration of ``gan`` as a callable that is captured as a CUDA graph on a GPU.

    Args:
        gan: the model, already on its device (its networks and EMA are trained in place, so
            ``ganzoo.save(gan, ...)`` exports the result as usual).
        batch_size: the real batch of each update.
        max_generator_iterations: the length the linear learning-rate schedule decays over
            (default: ``gan.hparams.max_generator_iterations``).
        bf16: run the networks under bfloat16 autocast (the recipes' ``bf16-mixed``).

    Use: ``step(reals)`` once per iteration, ``reals`` shaped (n_critic, batch, C, H, W). On a GPU the first
    ``WARMUP_ITERATIONS`` run eagerly on a side stream, the next one is captured, and every later one replays.
    """

    def __init__(self, gan: GAN, batch_size: int, *, max_generator_iterations: Optional[int] = None,
                 bf16: bool = False) -> None:
        refused = unsupported_options(gan)
        if refused:
            raise ValueError(f"a CUDA-graphed iteration cannot reproduce {', '.join(refused)}; "
                             "train this recipe with `ganzoo fit`")
        hp = gan.hparams
        self.gan = gan
        self.device = next(gan.parameters()).device
        self.graphed = self.device.type == "cuda"
        if self.graphed and hp.optimizer == "sgd":  # its update reads a tensor learning rate on the host
            raise ValueError("a CUDA-graphed iteration takes optimizer 'adam' or 'rmsprop', not 'sgd'")
        self.max_generator_iterations = max_generator_iterations or hp.max_generator_iterations
        if hp.lr_schedule == "linear" and not self.max_generator_iterations:
            raise ValueError("lr_schedule 'linear' needs max_generator_iterations")
        # Captured optimizers keep their step counts and learning rates on the GPU ("capturable").
        self.base_lrs = (hp.d_lr, hp.g_lr)
        self.d_opt, self.g_opt = (
            _make_optimizer(hp.optimizer, network.parameters(), self._lr_value(lr), betas, capturable=self.graphed)
            for network, lr, betas in ((gan.discriminator, hp.d_lr, hp.d_betas), (gan.generator, hp.g_lr, hp.g_betas)))
        latent_dim, image_shape = gan.generator.latent_dim, gan.generator.output_shape
        # Static buffers: the graph reads and writes these same tensors on every replay.
        zeros = dict(device=self.device)
        self.reals = torch.zeros((hp.n_critic, batch_size, *image_shape), **zeros)
        if self.graphed and len(image_shape) == 3:  # each batch NHWC in memory, as cuDNN runs fastest
            channels, height, width = image_shape
            self.reals = torch.zeros((hp.n_critic, batch_size, height, width, channels), **zeros).permute(0, 1, 4, 2, 3)
        self.d_latents = torch.zeros((hp.n_critic, batch_size, latent_dim), **zeros)
        self.g_latents = torch.zeros((batch_size, latent_dim), **zeros)
        self.mix = torch.zeros((hp.n_critic, batch_size), **zeros)  # WGAN-GP's interpolation coefficients
        self.last_losses = torch.zeros(2, **zeros)  # (last D loss, G loss): read now and then, one sync each
        self.autocast = torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=bf16, cache_enabled=False)
        self.graph: Optional[torch.cuda.CUDAGraph] = None
        self.steps_taken = 0

    # ------------------------------------------------------------------ driving it
    def step(self, reals: Tensor) -> None:
        """Train one generator iteration on ``reals`` (n_critic, batch, C, H, W)."""
        self.reals.copy_(reals)
        self._set_learning_rates()
        if not self.graphed:
            self.iteration()
        elif self.steps_taken < WARMUP_ITERATIONS:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                self.iteration()
            torch.cuda.current_stream().wait_stream(side)
        else:
            if self.graph is None:
                self.graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(self.graph):  # records the kernels without running them
                    self.iteration()
            self.graph.replay()
        self.steps_taken += 1
        # The host mirrors of the on-device counters, advanced here: reading the buffers would sync.
        self.gan._generator_iterations += 1
        self.gan._discriminator_steps += self.gan.hparams.n_critic

    def losses(self) -> dict[str, float]:
        """The last iteration's D and G losses (a host-device sync: call it every few hundred steps)."""
        d_loss, g_loss = self.last_losses.tolist()
        return {"d_loss": d_loss, "g_loss": g_loss}

    # ------------------------------------------------------------------ the iteration (what is captured)
    def iteration(self) -> None:
        self.d_latents.normal_()
        self.g_latents.normal_()
        self.mix.uniform_()
        self.update()

    def update(self) -> None:
        """The updates of ``GAN.training_step`` given the static buffers' reals, latents and coefficients."""
        gan = self.gan
        with self.autocast:
            for real, latents, mix in zip(self.reals, self.d_latents, self.mix):
                d_loss = self._discriminator_update(real, latents, mix)
                gan.discriminator_steps_t.add_(1)
            g_loss = self._generator_update(self.reals[-1], self.g_latents)
        gan.generator_iterations_t.add_(1)
        self._ema_update()
        self.last_losses.copy_(torch.stack([d_loss.detach().float(), g_loss.detach().float()]))

    def _discriminator_update(self, real: Tensor, latents: Tensor, mix: Tensor) -> Tensor:
        gan, hp = self.gan, self.gan.hparams
        with torch.no_grad():
            fake = gan.generate(latents)
        d_real, d_fake = gan.discriminator(real), gan.discriminator(fake)
        loss = gan.loss.discriminator(d_real, d_fake)
        total = loss
        if hp.gp_weight > 0:
            total = total + hp.gp_weight * regularizers.gradient_penalty(gan.discriminator, real, fake, alpha=mix)
        if hp.r1_gamma > 0:
            total = total + regularizers.r1_penalty(gan.discriminator, real, hp.r1_gamma)
        if hp.r2_gamma > 0:
            total = total + regularizers.r2_penalty(gan.discriminator, fake, hp.r2_gamma)
        if hp.drift_weight > 0:
            total = total + hp.drift_weight * d_real.float().pow(2).mean()
        self.d_opt.zero_grad(set_to_none=True)
        total.backward()
        self.d_opt.step()
        if hp.clip_value is not None:
            regularizers.clip_weights_(gan.discriminator, hp.clip_value)
        return loss

    def _generator_update(self, real: Tensor, latents: Tensor) -> Tensor:
        gan = self.gan
        gan.discriminator.requires_grad_(False)  # no weight gradients for D in G's update
        try:
            d_fake = gan.discriminator(gan.generate(latents))
            d_real = gan.discriminator(real) if gan.loss.relativistic else None
            loss = gan.loss.generator(d_real, d_fake)
            self.g_opt.zero_grad(set_to_none=True)
            loss.backward()
        finally:
            gan.discriminator.requires_grad_(True)
        self.g_opt.step()
        return loss

    def _ema_update(self) -> None:
        """``AveragedModel.update_parameters`` without its host-side ``n_averaged == 0`` test (a sync): the first
        update, always eager, goes through it; later ones call its averaging function (``get_ema_multi_avg_fn``)
        directly, once for the floating-point tensors and once for the others, as it groups them."""
        ema = self.gan.generator_ema
        if ema is None:
            return
        if self.steps_taken == 0:
            ema.update_parameters(self.gan.generator)
            return
        pairs = list(zip([*ema.module.parameters(), *ema.module.buffers()],
                         [*self.gan.generator.parameters(), *self.gan.generator.buffers()]))
        for floating in (True, False):
            group = [(average, current.detach()) for average, current in pairs
                     if average.is_floating_point() == floating]
            if group:
                ema.multi_avg_fn([a for a, _ in group], [c for _, c in group], ema.n_averaged)
        ema.n_averaged.add_(1)

    # ------------------------------------------------------------------ learning rates
    def _lr_value(self, base_lr: float):
        return torch.tensor(base_lr, device=self.device) if self.graphed else base_lr

    def _set_learning_rates(self) -> None:
        """The linear schedule's rate for this iteration, as ``GAN``'s LambdaLR gives it."""
        if self.gan.hparams.lr_schedule != "linear":
            return
        factor = max(0.0, 1.0 - self.gan.generator_iterations / self.max_generator_iterations)
        for optimizer, base_lr in zip((self.d_opt, self.g_opt), self.base_lrs):
            for group in optimizer.param_groups:
                if isinstance(group["lr"], Tensor):
                    group["lr"].fill_(base_lr * factor)  # in place: the graph reads this tensor
                else:
                    group["lr"] = base_lr * factor
