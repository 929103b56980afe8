"""The divergence guard: stop within one batch when a loss or penalty term becomes NaN/inf."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from torch import Tensor

from ganzoo.checkpoints import is_local_path


class DivergenceError(RuntimeError):
    """Training produced a NaN/inf loss or penalty, or an exploding gradient norm.

    Attributes: ``generator_iteration``, ``term``, ``value`` and ``last_good_checkpoint``
    (a path, or None when no checkpoint had been saved yet).
    """

    def __init__(self, message: str, *, generator_iteration: int, term: str, value: float,
                 last_good_checkpoint: Optional[str]) -> None:
        super().__init__(message)
        self.generator_iteration = generator_iteration
        self.term = term
        self.value = value
        self.last_good_checkpoint = last_good_checkpoint


# ---------------------------------------------------------------------- divergence guard
@dataclass
class _BatchRecord:
    """The watched values of one batch, kept on the device until the next check."""

    generator_iteration: int
    discriminator_step: int
    names: list[str]
    limits: list[float]  # inf for loss terms (finiteness only), max_grad_norm for gradient norms
    values: Tensor


class DivergenceGuard(Callback):
    """Stop the run with a :class:`DivergenceError` when training diverges.

    Checks every term the GAN records with ``watch_term`` (``pl_module.watched_terms``:
    discriminator and generator losses, gradient / R1 / R2 penalties, drift) and, when
    ``max_grad_norm`` is set, the total gradient norm of each optimizer step (computed in
    ``on_before_optimizer_step``, i.e. after AMP unscaling and DDP gradient averaging).

    Cost: the values stay on the device; one host-device sync per check moves them all to the
    host at once. ``check_every_n_batches`` > 1 batches the syncs; every pending value is still
    checked (nothing is skipped) and always before a checkpoint is written, so a diverged state
    never reaches disk. The error names the generator iteration, the term, its value and the
    last good checkpoint; after a divergence, ``save_on_exception`` of the run's
    ``ModelCheckpoint`` callbacks is switched off so that checkpoint is not overwritten.

    Args:
        max_grad_norm: flag a total gradient norm above this (None: gradients are not checked).
        check_every_n_batches: batches between host syncs (1: stop within the diverging batch).
    """

    def __init__(self, max_grad_norm: Optional[float] = None, check_every_n_batches: int = 1) -> None:
        if max_grad_norm is not None and not (isinstance(max_grad_norm, (int, float)) and max_grad_norm > 0):
            raise ValueError(f"max_grad_norm={max_grad_norm!r}: must be a number > 0 or None (gradients unchecked)")
        if not isinstance(check_every_n_batches, int) or check_every_n_batches < 1:
            raise ValueError(f"check_every_n_batches={check_every_n_batches!r}: must be an integer >= 1")
        self.max_grad_norm = None if max_grad_norm is None else float(max_grad_norm)
        self.check_every_n_batches = check_every_n_batches
        self._pending: list[_BatchRecord] = []
        self._grad_norms: dict[str, Tensor] = {}
        self._optimizer_roles: dict[int, str] = {}
        self._batch_position = (0, 0)  # (generator iteration, discriminator step) this batch works on

    @property
    def needs_optimizer_step_hooks(self) -> bool:
        # Without a gradient-norm limit on_before_optimizer_step does nothing: the loop may skip it.
        return self.max_grad_norm is not None

    # ---- collecting (no host sync)
    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx) -> None:
        # A batch works on generator iteration (completed + 1), whether it is one of the n_critic
        # discriminator-only batches or the one that ends with the generator update.
        self._batch_position = (int(getattr(pl_module, "generator_iterations", trainer.global_step)) + 1,
                                int(getattr(pl_module, "discriminator_steps", batch_idx)) + 1)

    def on_before_optimizer_step(self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer) -> None:
        if self.max_grad_norm is None:
            return
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if grads:
            role = self._role(trainer, pl_module, optimizer)
            self._grad_norms[f"{role} gradient norm"] = torch.nn.utils.get_total_norm(grads)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch, batch_idx) -> None:
        terms = dict(getattr(pl_module, "watched_terms", {}) or {})
        limits = [float("inf")] * len(terms)
        terms.update(self._grad_norms)
        limits += [self.max_grad_norm] * len(self._grad_norms)  # type: ignore[list-item]
        self._grad_norms = {}
        if terms:
            # sum() of a scalar is itself; of a larger tensor it is non-finite if any entry is.
            values = torch.stack([value.detach().float().sum() for value in terms.values()])
            iteration, step = self._batch_position
            self._pending.append(_BatchRecord(generator_iteration=iteration, discriminator_step=step,
                                              names=list(terms), limits=limits, values=values))
        if len(self._pending) >= self.check_every_n_batches:
            self.check(trainer)

    # ---- checking (one host sync)
    def check(self, trainer: L.Trainer) -> None:
        """Check every pending value now; raise :class:`DivergenceError` on the first bad one."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        values = torch.cat([record.values for record in pending]).cpu()  # the one host sync
        limits = torch.tensor([limit for record in pending for limit in record.limits])
        if bool(torch.isfinite(values).all()) and bool((values <= limits).all()):
            return
        offset = 0
        for record in pending:
            for name, limit in zip(record.names, record.limits):
                value = float(values[offset])
                offset += 1
                if not (value == value and abs(value) != float("inf") and value <= limit):  # NaN != NaN
                    raise self._error(trainer, record, name, value, limit)

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
        # With check_every_n_batches > 1 some values may be unchecked: check them before the
        # checkpoint is written (raising here aborts the save), so no diverged state is saved.
        self.check(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.check(trainer)

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if isinstance(exception, DivergenceError):
            # Checkpoint callbacks come after this one; keep them from saving the diverged weights.
            for callback in trainer.checkpoint_callbacks:
                if isinstance(callback, ModelCheckpoint):
                    callback.save_on_exception = False
        self._pending, self._grad_norms = [], {}

    # ---- helpers
    def _role(self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer) -> str:
        key = id(optimizer)
        if key not in self._optimizer_roles:
            first = next((p for group in optimizer.param_groups for p in group["params"]), None)
            role = f"optimizer {len(self._optimizer_roles)}"
            for name in ("generator", "discriminator"):
                network = getattr(pl_module, name, None)
                if network is not None and first is not None and any(p is first for p in network.parameters()):
                    role = name
            self._optimizer_roles[key] = role
        return self._optimizer_roles[key]

    def _error(self, trainer: L.Trainer, record: _BatchRecord, term: str, value: float, limit: float) -> DivergenceError:
        checkpoint = last_good_checkpoint(trainer)
        problem = f"{term} = {value:g}" + (f" > max_grad_norm = {limit:g}" if limit != float("inf") else "")
        where = ("no checkpoint was saved before the divergence" if checkpoint is None else
                 f"the last good checkpoint is {checkpoint} (left as it was; resume from it, e.g. with "
                 f"--ckpt_path {checkpoint}, after lowering the learning rates or strengthening the regularization)")
        message = (f"training diverged in generator iteration {record.generator_iteration} "
                   f"(discriminator step {record.discriminator_step}): {problem}. No checkpoint is written "
                   f"after this point; {where}.")
        return DivergenceError(message, generator_iteration=record.generator_iteration, term=term, value=value,
                               last_good_checkpoint=checkpoint)


def last_good_checkpoint(trainer: L.Trainer) -> Optional[str]:
    """The most recently written checkpoint of the trainer's ModelCheckpoint callbacks, or None."""
    candidates = []
    for callback in trainer.checkpoint_callbacks:
        for attribute in ("last_model_path", "best_model_path"):
            path = getattr(callback, attribute, "")
            if path and is_local_path(path) and os.path.isfile(path):
                candidates.append(path)
    return max(candidates, key=os.path.getmtime) if candidates else None
