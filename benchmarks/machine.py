"""The machine a benchmark ran on, and the small timing helpers every section shares."""
from __future__ import annotations

import datetime
import os
import platform
import re
import statistics
import time
from typing import Callable

import torch


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so that a wall-clock reading covers it. Only at clock reads."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device) -> float:
    """Seconds one call of ``fn`` takes, device work included."""
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start


def spread(values: list[float]) -> dict[str, float]:
    """Median, min, max and the interquartile range of repeated measurements."""
    ordered = sorted(values)
    if len(ordered) >= 2:
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    else:
        q1 = q3 = ordered[0]
    return {"median": statistics.median(ordered), "min": ordered[0], "max": ordered[-1], "q1": q1, "q3": q3,
            "n": len(ordered)}


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def describe_machine(device: torch.device) -> dict:
    """Everything needed to compare a result with another machine's."""
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "device_type": device.type,
        "cpu": cpu_name(),
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "load_average_at_start": load_average(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
    }
    for package in ("lightning", "torchmetrics", "torch_fidelity"):
        try:
            info[package] = __import__(package).__version__
        except ImportError:
            info[package] = None
    if device.type == "cuda":
        properties = torch.cuda.get_device_properties(device)
        info.update(gpu=properties.name, gpu_memory_gib=round(properties.total_memory / 2**30, 1),
                    cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version())
    return info


def device_slug(info: dict) -> str:
    """File-name-safe name of the machine, e.g. ``cpu-amd-epyc-2cores-avx512`` or ``cuda-nvidia-h100-80gb-hbm3``.

    A CPU's name includes its vector capability: VMs report the same model name (``AMD EPYC``) on hosts
    with and without AVX-512, whose speeds differ several-fold (bfloat16 most of all), and one machine's
    sections must not be merged into another's file."""
    if info["device_type"] == "cuda":
        name = f"cuda-{info['gpu']}"
    else:
        name = f"cpu-{info['cpu']}-{info['cpu_cores']}cores-{info['cpu_capability']}"
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
