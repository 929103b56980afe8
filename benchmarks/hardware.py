"""Hardware use: model FLOPs per generator iteration, times iterations per second, against the
machine's measured peak for the same kind of work (a large 3x3 convolution and a large matmul,
in the training dtype and memory format).

FLOPs are counted with ``torch.utils.flop_counter.FlopCounterMode`` over one generator
iteration of the hand-written loop (which does the same work as ganzoo's step): all
discriminator steps (forward, backward, and for WGAN-GP the penalty's double backward) and the
generator step. It counts matmuls and convolutions (forward and backward), i.e. model FLOPs;
elementwise work, normalisation and optimizer updates are not counted.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.machine import timed
from benchmarks.specs import ModelSpec
from benchmarks.training import (StepSettings, build_module, hand_written_training, make_loader, preset_n_critic,
                                 random_images, run_ganzoo)


class _NoModuleTracking:
    """Stands in for FlopCounterMode's per-module tracker, charging every op to "Global".

    The tracker hooks every module's backward, which makes ``torch.autograd.grad`` on a leaf input
    (the gradient penalty's input gradient) fail with "A leaf node was passed to
    _will_engine_execute_node". Totals need no per-module breakdown.
    """

    parents = ("Global",)

    def __enter__(self):
        return self

    def __exit__(self, *args) -> None:
        return None


def total_flop_counter() -> FlopCounterMode:
    """A FlopCounterMode that only counts the total (and so works with gradient penalties)."""
    counter = FlopCounterMode(display=False)
    counter.mod_tracker = _NoModuleTracking()
    return counter


def flops_per_iteration(spec: ModelSpec, device: torch.device, settings: StepSettings) -> int:
    """Model FLOPs of one generator iteration (n_critic D steps + 1 G step), forward + backward."""
    module = build_module(spec, 1, StepSettings(settings.precision, settings.channels_last, compile=False))
    generator, discriminator = module.generator.to(device), module.discriminator.to(device)
    ema = AveragedModel(generator, multi_avg_fn=get_ema_multi_avg_fn(module.hparams.ema_decay), use_buffers=True)
    images = random_images(spec)[: 8 * spec.batch_size]
    counter = total_flop_counter()
    with counter:
        hand_written_training(generator, discriminator, ema, module.loss, module.hparams,
                              make_loader(images, spec.batch_size, device), device, settings, iterations=1)
    return counter.get_total_flops()


def peak_flops(device: torch.device, dtype: torch.dtype, channels_last: bool) -> dict[str, float]:
    """Measured FLOP/s of a large matmul and a large 3x3 convolution (best of a few runs)."""
    big = device.type == "cuda"
    n = 8192 if big else 1024
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    matmul = _best_rate(lambda: a @ b, 2 * n**3, device, repeats=20 if big else 3)

    batch, channels, side = (256, 256, 32) if big else (32, 128, 16)
    x = torch.randn(batch, channels, side, side, device=device, dtype=dtype)
    w = torch.randn(channels, channels, 3, 3, device=device, dtype=dtype)
    if channels_last:
        x, w = x.contiguous(memory_format=torch.channels_last), w.contiguous(memory_format=torch.channels_last)
    conv_flops = 2 * batch * channels * channels * 9 * side * side
    conv = _best_rate(lambda: F.conv2d(x, w, padding=1), conv_flops, device, repeats=20 if big else 3)
    return {"matmul_flops_per_second": matmul, "matmul_shape": f"{n}x{n} @ {n}x{n}",
            "conv_flops_per_second": conv,
            "conv_shape": f"3x3 conv, batch {batch}, {channels}->{channels} channels, {side}x{side}",
            "dtype": str(dtype).replace("torch.", ""), "channels_last": channels_last}


def _best_rate(fn: Callable[[], object], flops: int, device: torch.device, repeats: int) -> float:
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    fn()  # warm-up (and cuDNN algorithm search)
    return max(flops / timed(fn, device) for _ in range(repeats))


def _logged_peak(device: torch.device, settings: StepSettings, log: Callable[[str], None]) -> dict:
    """The peaks in the training step's dtype (bf16 under autocast) and memory format."""
    dtype = torch.bfloat16 if settings.autocast_dtype is not None else torch.float32
    peak = peak_flops(device, dtype, settings.channels_last)
    log(f"  peak: matmul {peak['matmul_flops_per_second'] / 1e12:.3f} TFLOP/s, "
        f"conv {peak['conv_flops_per_second'] / 1e12:.3f} TFLOP/s ({peak['dtype']})")
    return peak


def hardware_use(training_rows: list[dict], specs: dict[str, ModelSpec], device: torch.device,
                 settings: StepSettings, log: Callable[[str], None] = print) -> dict:
    """Achieved model FLOP/s of ganzoo's training step as a fraction of the measured peaks."""
    peak = _logged_peak(device, settings, log)
    rows = []
    for row in training_rows:
        flops = flops_per_iteration(specs[row["model"]], device, settings)
        achieved = flops * row["ganzoo_iterations_per_second"]
        rows.append({
            "model": row["model"], "flops_per_iteration": flops,
            "iterations_per_second": row["ganzoo_iterations_per_second"], "achieved_flops_per_second": achieved,
            "fraction_of_conv_peak": achieved / peak["conv_flops_per_second"],
            "fraction_of_matmul_peak": achieved / peak["matmul_flops_per_second"],
        })
        log(f"  {row['model']}: {flops / 1e9:.2f} GFLOP/iteration, {achieved / 1e12:.3f} TFLOP/s = "
            f"{rows[-1]['fraction_of_conv_peak']:.1%} of conv peak")
    return {"peak": peak, "models": rows}


def paper_size_use(specs: list[ModelSpec], device: torch.device, settings: StepSettings, warmup: int, measured: int,
                   log: Callable[[str], None] = print, on_model: Optional[Callable[[dict], None]] = None) -> dict:
    """ganzoo's training step on the paper-size CIFAR-10 networks in the recipes' precision, as a
    fraction of this machine's peak for that precision measured in the same run (one timed run per
    model: these steps take seconds on a CPU, so the overhead ratio is left to the small models).

    ``on_model`` gets the section so far after each model, so a run cut by a time limit (a device
    call) keeps the models it finished."""
    peak = _logged_peak(device, settings, log)
    rows = []
    section = {"peak": peak, "warmup": warmup, "measured": measured, "models": rows}
    for spec in specs:
        seconds = run_ganzoo(spec, random_images(spec), device, settings, warmup, measured).seconds_per_iteration
        flops = flops_per_iteration(spec, device, settings)
        rows.append({"model": spec.name, "networks": spec.describe(), "n_critic": preset_n_critic(spec),
                     "settings": settings.label(), "seconds_per_iteration": seconds, "flops_per_iteration": flops,
                     "achieved_flops_per_second": flops / seconds,
                     "fraction_of_conv_peak": flops / seconds / peak["conv_flops_per_second"],
                     "fraction_of_matmul_peak": flops / seconds / peak["matmul_flops_per_second"]})
        log(f"  {spec.name}: {seconds:.3f} s/iteration, {flops / 1e9:.1f} GFLOP/iteration, "
            f"{flops / seconds / 1e12:.3f} TFLOP/s = {rows[-1]['fraction_of_conv_peak']:.1%} of conv peak")
        if on_model is not None:
            on_model(section)
    return section
