"""Device names given on the command line, checked before any expensive work."""
from __future__ import annotations

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
