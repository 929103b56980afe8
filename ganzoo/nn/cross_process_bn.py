"""BatchNorm over the GLOBAL batch under multi-process training, so N processes train the model
that one process trains.

Plain ``BatchNorm`` under DDP normalises each process's share of the batch: a DCGAN trained on 2
processes then drifts from the 1-process model (1.6e-3 after a few steps). On CUDA, torch's
``SyncBatchNorm`` fixes that; it refuses CPU tensors, so on CPU (gloo) ``CrossProcessBatchNorm``
does the same thing: it all-reduces the per-channel sum, sum of squares and count, normalises with
the global mean and (biased) variance, and tracks running statistics with the unbiased global
variance, exactly as one process would. ``torch.distributed.nn.functional.all_reduce`` carries the
gradient back across processes, so the backward pass is the global batch's too.
"""
from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor, nn


class CrossProcessBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Drop-in for ``BatchNorm1d/2d/3d`` (same parameters and buffers, so checkpoints are unchanged)."""

    def _check_input_dim(self, x: Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2-D input (N, C, ...), got {x.dim()}-D")

    def forward(self, x: Tensor) -> Tensor:
        self._check_input_dim(x)
        if not (self.training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce  # autograd-aware

        dims = [0] + list(range(2, x.dim()))
        xf = x.float()  # statistics in fp32 whatever the autocast dtype, as BatchNorm does
        count = torch.full((1,), xf.numel() // xf.shape[1], dtype=xf.dtype, device=xf.device)
        totals = all_reduce(torch.cat([xf.sum(dims), (xf * xf).sum(dims), count]))
        channels = xf.shape[1]
        n = totals[-1]
        mean = totals[:channels] / n
        var = (totals[channels:2 * channels] / n - mean * mean).clamp_min(0.0)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                momentum = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.lerp_(mean.detach().to(self.running_mean.dtype), momentum)
                unbiased = var.detach() * n.detach() / (n.detach() - 1).clamp_min(1.0)
                self.running_var.lerp_(unbiased.to(self.running_var.dtype), momentum)
        shape = [1, channels] + [1] * (x.dim() - 2)
        y = (xf - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y.to(x.dtype)


def convert_batchnorm_for_processes(module: nn.Module, device_type: str) -> nn.Module:
    """Every BatchNorm in ``module`` normalising over the global batch: ``SyncBatchNorm`` on CUDA,
    ``CrossProcessBatchNorm`` elsewhere. Parameters and buffers are kept (same objects)."""
    if device_type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    return _convert_to_cross_process(module)


def _convert_to_cross_process(module: nn.Module) -> nn.Module:
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(
            module, (CrossProcessBatchNorm, nn.SyncBatchNorm)):
        converted = CrossProcessBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                                          module.track_running_stats)
        if module.affine:
            converted.weight, converted.bias = module.weight, module.bias
        if module.track_running_stats:
            converted.running_mean, converted.running_var = module.running_mean, module.running_var
            converted.num_batches_tracked = module.num_batches_tracked
        converted.train(module.training)
        return converted
    for name, child in module.named_children():
        module.add_module(name, _convert_to_cross_process(child))
    return module


def has_batchnorm(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())
