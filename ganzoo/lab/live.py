"""The lab's live-training tab: ganzoo's own training loop on a 2-D mixture, watched as it trains.

A :class:`LiveTraining` runs ``lightning.Trainer.fit`` on a :class:`ganzoo.gans.GAN` (the same
LightningModule, losses and regularizers as every zoo model) in a background thread. A callback
between generator iterations records the losses, honours pause / step / stop, and every
``snapshot_every`` iterations copies G and D into a snapshot the page draws from, so drawing never
races with training:

* G's samples over the data, on D's score as a heat map;
* G's gradient field: at each point x, the direction -dL_G/dx in which a fake sample at x is
  pushed by the generator's loss (what G learns to follow);
* the losses and the mode coverage (modes captured, % high-quality samples; VEEGAN / PacGAN).
"""
from __future__ import annotations

import copy
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Optional

import lightning as L
import torch

from ganzoo.data import ToyDataModule
from ganzoo.data.toy import sample_mixture
from ganzoo.devices import one_thread_for_small_mlps
from ganzoo.gans import GAN
from ganzoo.losses import LOSSES
from ganzoo.metrics.modes import mode_metrics
from ganzoo.theory.common import figure_png, new_figure

DATASETS = ("ring", "grid")
IDLE_PAUSE_SECONDS = 30.0  # nobody has looked for this long (tab closed): pause instead of burning the CPU
EVAL_SAMPLES = 2500  # as in the VEEGAN / PacGAN tables
MAX_ITERATIONS = 100_000


@dataclass(frozen=True)
class LiveSettings:
    """What the page lets a student choose; every field maps to a ``GAN`` / network argument."""

    dataset: str = "ring"
    loss: str = "nonsaturating"
    n_critic: int = 1
    g_lr: float = 1e-3
    d_lr: float = 1e-3
    gp_weight: float = 0.0
    r1_gamma: float = 0.0
    spectral_norm: bool = False
    instance_noise: float = 0.0
    prediction: bool = False
    batch_size: int = 256
    hidden: int = 128
    seed: int = 0
    snapshot_every: int = 20

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ValueError(f"dataset={self.dataset!r}: choose one of {', '.join(DATASETS)}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss={self.loss!r}: choose one of {', '.join(LOSSES)}")
        if not 1 <= self.n_critic <= 20 or not 1 <= self.snapshot_every <= 1000:
            raise ValueError("n_critic must be in 1..20 and snapshot_every in 1..1000")
        if not 8 <= self.batch_size <= 4096 or not 4 <= self.hidden <= 1024:
            raise ValueError("batch_size must be in 8..4096 and hidden in 4..1024")

    def build_model(self) -> GAN:
        torch.manual_seed(self.seed)
        return GAN(
            generator={"name": "MLPGenerator", "kwargs": {"latent_dim": 2, "out_dim": 2, "hidden_dim": self.hidden}},
            discriminator={"name": "MLPDiscriminator",
                           "kwargs": {"in_dim": 2, "hidden_dim": self.hidden, "spectral_norm": self.spectral_norm}},
            loss=self.loss, n_critic=self.n_critic, g_lr=self.g_lr, d_lr=self.d_lr, gp_weight=self.gp_weight,
            r1_gamma=self.r1_gamma, instance_noise_std=self.instance_noise, prediction=self.prediction,
            max_generator_iterations=MAX_ITERATIONS, sample_every_n_iterations=0, seed=self.seed, ema_decay=None,
        )


class LiveTraining:
    """One training session: start, pause, step, stop; ``state()`` and ``figure_png()`` for the page."""

    def __init__(self, settings: LiveSettings) -> None:
        self.settings = settings
        self.data = ToyDataModule(settings.dataset, n_samples=20_000, batch_size=settings.batch_size, seed=settings.seed)
        self.model = settings.build_model()
        self.history: list[tuple[int, float, float]] = []  # (generator iteration, D loss, G loss)
        self.error: Optional[str] = None
        self._lock = threading.Lock()
        self._snapshot = (copy.deepcopy(self.model.generator).eval(), copy.deepcopy(self.model.discriminator).eval())
        self._snapshot_iteration = 0
        self._view_cache: Optional[tuple] = None  # what the page shows of the latest snapshot (see _view)
        self._paused = threading.Event()
        self._steps_left: Optional[int] = None  # pause again after this many iterations (Step)
        self._stopping = False
        self._thread: Optional[threading.Thread] = None
        self._trainer: Optional[L.Trainer] = None
        self._last_seen = time.monotonic()

    # ------------------------------------------------------------------ control
    def start(self, paused: bool = False) -> None:
        if self._thread is not None:
            return
        if paused:
            self._paused.set()
        one_thread_for_small_mlps(self.model)  # the lab's MLPs: about 4x faster than on 2 threads
        self._trainer = L.Trainer(accelerator="cpu", devices=1, max_epochs=-1, logger=False,
                                  enable_checkpointing=False, enable_progress_bar=False,
                                  enable_model_summary=False, callbacks=[_Control(self)])
        self._thread = threading.Thread(target=self._fit, name="ganzoo-lab-training", daemon=True)
        self._thread.start()

    def pause(self) -> None:
        self._paused.set()

    def resume(self) -> None:
        self._last_seen = time.monotonic()
        self._steps_left = None
        self._paused.clear()

    def step(self, iterations: Optional[int] = None) -> None:
        """Run ``iterations`` generator iterations (default: one snapshot's worth), then pause."""
        self._last_seen = time.monotonic()
        self._steps_left = iterations or self.settings.snapshot_every
        self._paused.clear()
        if self._thread is None:
            self.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping = True
        self._paused.clear()
        if self._trainer is not None:
            self._trainer.should_stop = True
        if self._thread is not None:
            self._thread.join(timeout)

    def wait_until(self, iteration: int, timeout: float = 30.0) -> bool:
        """Block until the snapshot has reached ``iteration`` (tests, scripts)."""
        deadline = time.monotonic() + timeout
        while self._snapshot_iteration < iteration and time.monotonic() < deadline and self.error is None:
            time.sleep(0.05)
        return self._snapshot_iteration >= iteration

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._paused.is_set()

    def _fit(self) -> None:
        try:
            self._trainer.fit(self.model, datamodule=self.data)
        except Exception as error:  # noqa: BLE001 - shown on the page, e.g. a diverged loss
            self.error = f"{type(error).__name__}: {error}"

    # ------------------------------------------------------------------ called by the training thread
    def _after_iteration(self, trainer: L.Trainer, module: GAN) -> None:
        iteration = module.generator_iterations
        terms = module.watched_terms
        d_loss, g_loss = terms.get("discriminator loss"), terms.get("generator loss")
        if d_loss is not None and g_loss is not None:
            self.history.append((iteration, float(d_loss), float(g_loss)))
        if self._steps_left is not None:
            self._steps_left -= 1
            if self._steps_left <= 0:
                self._steps_left = None
                self._paused.set()
        if time.monotonic() - self._last_seen > IDLE_PAUSE_SECONDS:
            self._paused.set()
        if iteration % self.settings.snapshot_every == 0 or self._paused.is_set():
            self._take_snapshot(module)
        while self._paused.is_set() and not self._stopping:
            time.sleep(0.05)
        if self._stopping:
            trainer.should_stop = True

    def _take_snapshot(self, module: GAN) -> None:
        with self._lock:
            self._snapshot[0].load_state_dict(module.generator.state_dict())
            self._snapshot[1].load_state_dict(module.discriminator.state_dict())
            self._snapshot_iteration = module.generator_iterations

    # ------------------------------------------------------------------ what the page shows
    def _view(self) -> tuple:
        """(D copy, iteration, G's samples, their mode coverage) of the latest snapshot, computed once
        per snapshot: the page asks for the state and the plot every second."""
        with self._lock:
            if self._view_cache is None or self._view_cache[1] != self._snapshot_iteration:
                samples = self._snapshot[0].sample(EVAL_SAMPLES, seed=1)
                coverage = mode_metrics(samples, self.data.means, float(self.data.std))
                self._view_cache = (copy.deepcopy(self._snapshot[1]), self._snapshot_iteration, samples, coverage)
            return self._view_cache

    def state(self) -> dict[str, Any]:
        self._last_seen = time.monotonic()
        _, iteration, _, coverage = self._view()
        return {
            "iteration": iteration, "running": self.running, "paused": self._paused.is_set(),
            "error": self.error, "settings": asdict(self.settings),
            "modes": coverage["modes"], "num_modes": coverage["num_modes"],
            "high_quality": round(coverage["high_quality"], 1),
            "d_loss": self.history[-1][1] if self.history else None,
            "g_loss": self.history[-1][2] if self.history else None,
        }

    def figure_png(self) -> bytes:
        self._last_seen = time.monotonic()
        discriminator, iteration, samples, coverage = self._view()
        return figure_png(draw(discriminator, self.model.loss, self.data, list(self.history), iteration,
                               self.settings, samples, coverage))


class _Control(L.Callback):
    def __init__(self, session: LiveTraining) -> None:
        self.session = session

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.session._after_iteration(trainer, pl_module)


def generator_gradient_field(discriminator, loss, points: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """-dL_G/dx at each point x, as if x were a fake sample: where the generator's loss pushes it."""
    x = points.clone().requires_grad_(True)
    d_real = discriminator(real) if loss.relativistic else None
    g_loss = loss.generator(d_real, discriminator(x)) * len(x)  # per-point gradients, not divided by N
    (gradient,) = torch.autograd.grad(g_loss, x)
    return -gradient


def draw(discriminator, loss, data: ToyDataModule, history, iteration: int, settings: LiveSettings,
         samples: torch.Tensor, coverage: dict):
    """The two panels of the live tab (a matplotlib figure): G's ``samples`` over the data on D's
    heat map with G's gradient field, and the losses."""
    means = data.means
    span = float(means.abs().max()) * 1.6 + 0.3
    figure, axes = new_figure(1, 2, size=(5.25, 4.6))
    field_ax, loss_ax = axes[0]
    axis = torch.linspace(-span, span, 120)
    xx, yy = torch.meshgrid(axis, axis, indexing="xy")
    grid = torch.stack([xx.flatten(), yy.flatten()], 1)
    with torch.no_grad():
        scores = discriminator(grid).reshape(xx.shape)
    samples = samples[:1000]
    heat = field_ax.contourf(xx.numpy(), yy.numpy(), scores.numpy(), levels=30, cmap="RdBu_r", alpha=0.85)
    figure.colorbar(heat, ax=field_ax, fraction=0.046, pad=0.04, label="D(x): real-ness score")
    real, _ = sample_mixture(means, float(data.std), 1000, generator=0)
    field_ax.scatter(real[:, 0], real[:, 1], s=4, c="black", alpha=0.5, label="data")
    field_ax.scatter(samples[:, 0], samples[:, 1], s=4, c="orange", alpha=0.6, label="G(z)")
    arrows_axis = torch.linspace(-span, span, 15)
    ax_, ay_ = torch.meshgrid(arrows_axis, arrows_axis, indexing="xy")
    points = torch.stack([ax_.flatten(), ay_.flatten()], 1)
    field = generator_gradient_field(discriminator, loss, points, real[:256])
    norm = field.norm(dim=1, keepdim=True).clamp_min(1e-12)
    field_ax.quiver(points[:, 0], points[:, 1], (field / norm)[:, 0], (field / norm)[:, 1], color="green",
                    alpha=0.7, scale=25, width=0.004)
    field_ax.set_title(f"iteration {iteration}: {coverage['modes']}/{coverage['num_modes']} modes, "
                       f"{coverage['high_quality']:.0f}% high quality", fontsize=10)
    field_ax.set_xlim(-span, span)
    field_ax.set_ylim(-span, span)
    field_ax.set_aspect("equal")
    field_ax.legend(loc="upper right", fontsize=8, markerscale=3)
    if history:
        steps, d_losses, g_losses = zip(*history)
        loss_ax.plot(steps, d_losses, label="D loss", lw=1)
        loss_ax.plot(steps, g_losses, label="G loss", lw=1)
        loss_ax.legend(fontsize=8)
    loss_ax.set_xlabel("generator iteration")
    loss_ax.set_title(f"{settings.loss} loss, n_critic {settings.n_critic}"
                      + (", SN" if settings.spectral_norm else "") + (", prediction" if settings.prediction else "")
                      + (f", GP {settings.gp_weight:g}" if settings.gp_weight else "")
                      + (f", R1 {settings.r1_gamma:g}" if settings.r1_gamma else "")
                      + (f", noise {settings.instance_noise:g}" if settings.instance_noise else ""), fontsize=10)
    return figure
