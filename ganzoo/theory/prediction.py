"""The prediction step of Yadav, Shah, Xu, Jacobs & Goldstein (2018), "Stabilizing
adversarial nets with prediction methods", as a wrapper around any torch optimizer.

For a saddle-point problem min_u max_v L(u, v), alternating gradient steps orbit the
saddle instead of approaching it (on L = v^T K u they conserve a quadratic quantity).
The prediction method lets the second player respond to where the first one is *going*:

    u_{k+1}  = u_k - a grad_u L(u_k, v_k)            (any optimizer step)
    u_bar    = u_{k+1} + (u_{k+1} - u_k)              (prediction)
    v_{k+1}  = v_k + b grad_v L(u_bar, v_k)           (other player, at the prediction)

which turns the rotation into a contraction. In a GAN loop whichever network is updated
first is wrapped; the other network's loss is computed and back-propagated inside
``with wrapped.lookahead():``::

    d_opt = PredictionStep(torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999)))
    ...
    d_opt.zero_grad(); d_loss(D, G).backward(); d_opt.step()     # D step, D is predicted
    g_opt.zero_grad()
    with d_opt.lookahead():                                       # D's weights = prediction
        g_loss(D, G).backward()                                   # backward INSIDE the block
    g_opt.step()

Backward must run inside the block: autograd saves the (predicted) weights it needs for
the backward pass, and restoring them in place on exit bumps their version counter, so a
backward after the block fails loudly ("modified by an inplace operation") instead of
silently mixing predicted and current weights. Gradients the second player's backward
leaves on the wrapped parameters are discarded by the next ``zero_grad`` as usual.
"""
from __future__ import annotations

import contextlib
import math
from typing import Any, Callable, Iterator

import torch
from torch import Tensor

from ganzoo.utils import parameters_set_to

__all__ = ["PredictionStep"]


class PredictionStep:
    """Wraps ``optimizer``; after each :meth:`step` the parameters can be temporarily moved
    to the prediction ``theta_new + extrapolation * (theta_new - theta_old)`` with
    :meth:`lookahead`. ``extrapolation=1`` is the paper's prediction step; 0 turns it off.

    Every other attribute (``param_groups``, ``state``, ...) is the wrapped optimizer's.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, extrapolation: float = 1.0) -> None:
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise ValueError(f"PredictionStep wraps a torch.optim.Optimizer, got {type(optimizer).__name__}")
        if not math.isfinite(extrapolation) or extrapolation < 0:
            raise ValueError(f"extrapolation must be a finite number >= 0, got {extrapolation}")
        self.optimizer = optimizer
        self.extrapolation = float(extrapolation)
        self._previous: list[Tensor] | None = None

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes not found on the wrapper itself.
        if name == "optimizer":  # not yet set (e.g. during unpickling)
            raise AttributeError(name)
        return getattr(self.optimizer, name)

    def _parameters(self) -> list[Tensor]:
        return [p for group in self.optimizer.param_groups for p in group["params"]]

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:
        """The wrapped optimizer's step, remembering the parameters from before it."""
        previous = [p.detach().clone() for p in self._parameters()]
        loss = self.optimizer.step(closure) if closure is not None else self.optimizer.step()
        self._previous = previous
        return loss

    @torch.no_grad()
    def predicted(self) -> list[Tensor]:
        """The predicted parameter values (copies); the current ones before any step."""
        current = [p.detach().clone() for p in self._parameters()]
        if self._previous is None:
            return current
        return [new + self.extrapolation * (new - old) for new, old in zip(current, self._previous)]

    @contextlib.contextmanager
    def lookahead(self) -> Iterator[None]:
        """Within the block the wrapped parameters hold their predicted values; on exit
        the current values are restored (in place, so optimizer state stays attached)."""
        with parameters_set_to(self._parameters(), self.predicted()):
            yield

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "extrapolation": self.extrapolation,
                "previous": self._previous}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.extrapolation = float(state["extrapolation"])
        previous = state["previous"]
        self._previous = None if previous is None else [t.clone() for t in previous]

    def __repr__(self) -> str:
        return f"PredictionStep({self.optimizer!r}, extrapolation={self.extrapolation})"
