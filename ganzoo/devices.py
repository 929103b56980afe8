"""Devices and threads: names given on the command line checked before any expensive work, and the
CPU thread count for small models."""
from __future__ import annotations

import os
from typing import Optional


def check_device(device: Optional[str]) -> None:
    """One clear line, before any loading, for a device this machine does not have."""
    if device is None:
        return
    import torch

    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        raise ValueError(f"--device {device!r} is not a device name (cpu, cuda, cuda:1, mps)") from None
    if parsed.type == "cuda":
        available = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if available == 0:
            raise ValueError(f"--device {device}: no CUDA GPU on this machine; use --device cpu")
        if parsed.index is not None and parsed.index >= available:
            raise ValueError(f"--device {device}: this machine has {available} CUDA GPU(s) (cuda:0..cuda:{available - 1})")
    elif parsed.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ValueError(f"--device {device}: Apple MPS is not available on this machine; use --device cpu")


# A GAN of small fully connected networks (no convolution, under this many parameters) is a few small
# matmuls per step on the CPU: synchronising threads costs more than a second core gives. Measured on the
# 2-core dev machine with another training running: the 2-D MLP GAN (67k parameters, batch 256) does
# 135-156 generator iterations/s on 1 thread and 31-33 on 2. Convolutional models are left alone: the
# Fashion-MNIST DCGAN (270k parameters) steps in 0.027 s on 2 threads and 0.045 s on 1 (idle machine).
# Never oversubscribe the cores either: on the same machine (2026-12-01) a 2-thread CIFAR-10 SN-GAN run
# went from 0.18 to 0.62 s per generator iteration while a 1-thread Fashion-MNIST run shared the two
# cores, and that run from 0.13 to 0.19 s. Run jobs one after the other, or give each OMP_NUM_THREADS=1.
TINY_MODEL_PARAMETERS = 1_000_000


def one_thread_for_small_mlps(model) -> bool:
    """Train a small MLP GAN on one CPU thread unless the user chose (OMP_NUM_THREADS); True if it did.
    Call it only for CPU training (``ganzoo fit`` does, and the lab's live training)."""
    import torch

    if os.environ.get("OMP_NUM_THREADS"):
        return False
    parameters = sum(p.numel() for p in model.parameters())
    convolutional = any(isinstance(m, torch.nn.modules.conv._ConvNd) for m in model.modules())
    if parameters < TINY_MODEL_PARAMETERS and not convolutional and torch.get_num_threads() > 1:
        torch.set_num_threads(1)
        print(f"{parameters:,} parameters, no convolution: training on 1 CPU thread (faster for small MLPs; "
              "set OMP_NUM_THREADS to choose)")
        return True
    return False


# bfloat16 is fast on a CPU only with native instructions (AVX512_BF16, or AMX tiles); without them
# PyTorch emulates it. Measured on a 2-core AMD EPYC with AVX2 only (2026-12-02, one thread, one G + D
# step of the zoo's networks, bf16 autocast against float32): the Fashion-MNIST vanilla MLPs 678 / 57 ms
# (12x slower), the CIFAR-10 SN-GAN standard CNNs 9.9 / 0.60 s (16x slower). The recipes use
# bf16-mixed because the development machine has AVX512_BF16 (there it halves the time).
def cpu_has_native_bfloat16() -> bool:
    """True where this CPU runs bfloat16 natively (AVX512_BF16 or AMX); True too if torch cannot tell."""
    import torch

    checks = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    if any(check is None for check in checks):
        return True  # an older or newer torch without these probes: say nothing rather than guess
    return any(check() for check in checks)


def slow_cpu_bfloat16_warning(precision: str, on_cpu: bool) -> Optional[str]:
    """The line to print when a bfloat16 run is about to train on a CPU that only emulates it."""
    if not on_cpu or "bf16" not in str(precision) or cpu_has_native_bfloat16():
        return None
    import torch

    capability = torch.backends.cpu.get_cpu_capability()
    return (f"warning: trainer.precision={precision} on a CPU without native bfloat16 ({capability}; no AVX512_BF16 "
            "or AMX): PyTorch emulates it, measured 12-16x slower than float32 for the zoo's networks. "
            "Add --trainer.precision 32-true to train in float32 here.")
