"""Lightning callback: evaluate the generator every N generator iterations and log the numbers.

Generator iterations (``pl_module.generator_iterations``), not ``trainer.global_step``: Lightning
counts every optimizer step, D's and G's alike, while papers count G updates.

Fakes come from ``pl_module.sample(n, seed)`` (the EMA generator) with the same seeded-chunk
scheme as ``evaluate_generator``, split across processes, so the logged numbers equal what
``ganzoo eval`` reports for the same weights and protocol, on 1 or N GPUs. The extractor,
the metric states and the reference features live on the callback, never on the
LightningModule: they stay out of its ``state_dict`` and out of every checkpoint.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Optional, Sequence

import lightning as L
import torch

from ganzoo.lightning_compat import should_update_logs, write_logs_now
from ganzoo.metrics.evaluate import (
    DEFAULT_SAMPLE_CHUNK, feed_fakes, make_suite_with_reference, resolve_reference, results_from_suite,
    sampling_description,
)
from ganzoo.metrics.extractors import FeatureExtractor, get_extractor
from ganzoo.metrics.modes import mode_metrics
from ganzoo.metrics.protocol import MetricResult, Reference
from ganzoo.metrics.suite import parse_metrics

LOWER_IS_BETTER = {"fid": True, "kid": True, "is": False, "precision": False, "recall": False,
                   "modes": False, "high_quality": False, "reverse_kl": True}


class EvaluationCallback(L.Callback):
    """Every ``every_n_generator_iterations`` G updates, score ``n`` fakes and log ``eval/<metric>``.

    Args:
        every_n_generator_iterations: evaluation period in generator updates.
        metrics: image metrics ("fid", "kid", "is", "pr"); ignored in 2-D mode.
        features: "fashion-mnist", "cifar10" or "inception".
        n: number of fakes per evaluation.
        monitor_best: keep the checkpoint with the best ``monitor`` value at ``best_checkpoint``
            (default ``<default_root_dir>/checkpoints/best-<monitor>.ckpt``).
        monitor: which logged number decides "best" (default "fid"; "modes" etc. in 2-D mode).
        reference, seed, batch_size, sample_chunk, resize, data_dir, cache_dir, feature_weights,
        inception_weights: as in ``evaluate_generator``.
        mode_means, mode_std: switch to 2-D mode metrics for toy mixtures (``ring_means()``,
            ``RING_STD`` from ``ganzoo.data``): logs modes, high_quality, reverse_kl.
        extractor: a ready extractor (tests), overriding ``features``.
        suite_options: ``kid_subsets``, ``kid_subset_size``, ``is_splits``, ``pr_k``.
    """

    def __init__(self, every_n_generator_iterations: int, metrics: Sequence[str] | str = ("fid",),
                 features: str = "fashion-mnist", n: int = 10000, monitor_best: bool = False,
                 monitor: Optional[str] = None, *, reference: Reference | str | None = None, seed: int = 0,
                 batch_size: int = 250, sample_chunk: int = DEFAULT_SAMPLE_CHUNK, resize: str = "none",
                 data_dir=None, cache_dir=None, feature_weights=None, inception_weights=None,
                 best_checkpoint: Optional[str | os.PathLike] = None, mode_means=None, mode_std: Optional[float] = None,
                 extractor: Optional[FeatureExtractor] = None, **suite_options) -> None:
        super().__init__()
        if every_n_generator_iterations < 1:
            raise ValueError(f"every_n_generator_iterations must be >= 1, got {every_n_generator_iterations}")
        self.every = int(every_n_generator_iterations)
        self.toy = mode_means is not None
        if self.toy and mode_std is None:
            raise ValueError("2-D mode metrics need mode_std together with mode_means")
        self.metrics = () if self.toy else parse_metrics(metrics)
        self.monitor = monitor or ("modes" if self.toy else "fid")
        if monitor_best and not self.toy and self.monitor not in ("fid", "kid", "is", "precision", "recall"):
            raise ValueError(f"cannot monitor {self.monitor!r}; it is not among the computed metrics")
        if monitor_best and self.monitor == "fid" and "fid" not in self.metrics and not self.toy:
            raise ValueError("monitor_best by FID needs 'fid' in metrics")
        self.features, self.n, self.monitor_best = features, int(n), bool(monitor_best)
        self.reference, self.seed, self.batch_size, self.sample_chunk = reference, int(seed), int(batch_size), int(sample_chunk)
        self.resize, self.data_dir, self.cache_dir = resize, data_dir, cache_dir
        self.feature_weights, self.inception_weights = feature_weights, inception_weights
        self.best_checkpoint = best_checkpoint
        self.mode_means = None if mode_means is None else torch.as_tensor(mode_means, dtype=torch.float64)
        self.mode_std = mode_std
        self.suite_options = suite_options
        self._extractor = extractor
        self._suite = None
        self._reference_info: dict = {}
        # Checkpointed progress (see state_dict).
        self.last_evaluated = -1
        self.best_value: Optional[float] = None
        self.best_iteration: Optional[int] = None
        self.best_checkpoint_path: Optional[str] = None
        self.last_results: list[MetricResult] | dict = []

    # ------------------------------------------------------------------ hooks
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        iteration = int(pl_module.generator_iterations)
        # With n_critic > 1 several batches end at the same G iteration: evaluate once.
        if iteration > 0 and iteration % self.every == 0 and iteration != self.last_evaluated:
            self.last_evaluated = iteration
            self.evaluate(trainer, pl_module, iteration)

    def evaluate(self, trainer, pl_module, iteration: int) -> dict[str, float]:
        values = self.score(pl_module)
        logged = {f"eval/{name}": float(value) for name, value in values.items() if math.isfinite(value)}
        for name, value in logged.items():
            pl_module.log(name, value, on_step=True, on_epoch=False, sync_dist=False, batch_size=1)
        if logged and trainer.loggers and not should_update_logs(trainer):
            # Lightning writes self.log values only every log_every_n_steps and drops them at the
            # epoch's end: with n_critic > 1 an evaluation often falls just before an epoch boundary
            # and its numbers were lost. Write them now, with the iteration they belong to.
            write_logs_now(trainer, {**logged, "g_iter": float(iteration)})
        if self.monitor_best:
            self._maybe_save_best(trainer, iteration, values)
        return values

    @torch.no_grad()
    def score(self, pl_module) -> dict[str, float]:
        """This callback's numbers for the module's generator as it is now, logged nowhere (the
        evaluation a run makes, also for its checkpoints afterwards: scripts/evaluate_checkpoints.py)."""
        # Metric states are sums of squares: never update them under bf16/fp16 autocast.
        with torch.autocast(pl_module.device.type, enabled=False):
            return self._evaluate_toy(pl_module) if self.toy else self._evaluate_images(pl_module)

    def _evaluate_images(self, pl_module) -> dict[str, float]:
        if self._suite is None:
            extractor = self._extractor or get_extractor(
                self.features, resize=self.resize, weights_path=self.feature_weights,
                inception_weights=self.inception_weights, device=pl_module.device)
            extractor = extractor.to(pl_module.device)
            self._suite, self._reference_info = make_suite_with_reference(
                extractor, self.metrics, resolve_reference(self.reference, self.features), data_dir=self.data_dir,
                cache_dir=self.cache_dir, batch_size=self.batch_size, device=pl_module.device, seed=self.seed,
                **self.suite_options)
        self._suite.reset_fakes()
        feed_fakes(self._suite, lambda size, chunk_seed: pl_module.sample(size, seed=chunk_seed).float(),
                   self.n, self.seed, self.sample_chunk, self.batch_size)
        self.last_results = results_from_suite(
            self._suite, dict(seed=self.seed, sampling=sampling_description(self.sample_chunk), **self._reference_info))
        return {result.name: result.value for result in self.last_results}

    def _evaluate_toy(self, pl_module) -> dict[str, float]:
        samples = pl_module.sample(self.n, seed=self.seed).double()
        result = mode_metrics(samples, self.mode_means, self.mode_std)
        self.last_results = result
        return {"modes": float(result["modes"]), "high_quality": result["high_quality"],
                "reverse_kl": result["reverse_kl"]}

    def _maybe_save_best(self, trainer, iteration: int, values: dict[str, float]) -> None:
        value = values.get(self.monitor)
        if value is None or not math.isfinite(value):
            return
        lower = LOWER_IS_BETTER[self.monitor]
        if self.best_value is not None and not (value < self.best_value if lower else value > self.best_value):
            return
        self.best_value, self.best_iteration = value, iteration
        path = Path(self.best_checkpoint or Path(trainer.default_root_dir) / "checkpoints" / f"best-{self.monitor}.ckpt")
        trainer.save_checkpoint(str(path))  # every process calls it; rank 0 writes
        self.best_checkpoint_path = str(path)

    # ------------------------------------------------------------------ checkpointing
    def state_dict(self) -> dict:
        return {"last_evaluated": self.last_evaluated, "best_value": self.best_value,
                "best_iteration": self.best_iteration}

    def load_state_dict(self, state_dict: dict) -> None:
        self.last_evaluated = state_dict.get("last_evaluated", -1)
        self.best_value = state_dict.get("best_value")
        self.best_iteration = state_dict.get("best_iteration")
