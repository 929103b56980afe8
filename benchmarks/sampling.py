"""Sampling: ``ganzoo.load(...).sample(n)`` against a raw generator forward at the same batch size.

Measured for the zoo's bundled models (``ganzoo.load("sngan-cifar10")``, the path a user takes)
and for the benchmark's own generators, saved with ``ganzoo.save`` and loaded back by folder.
``sample`` adds what the raw loop does not: latents drawn on the CPU from the seed (identical on
every device) and moved over, eval mode, and one ``torch.cat`` of the chunks. The raw loop draws
latents on the device and keeps the chunks in a list.
"""
from __future__ import annotations

import tempfile
from typing import Callable, Optional

import torch

import ganzoo
from benchmarks.machine import spread, timed
from benchmarks.specs import ModelSpec
from ganzoo.nn import build_network

SAMPLE_BATCH = 1024  # Generator.sample's default chunk


def bundled_models() -> list[str]:
    """Registry models whose weights ship inside the package (loadable offline)."""
    return [entry["name"] for entry in ganzoo.list_models() if entry.get("bundled")]


def measure_spec_sampling(spec: ModelSpec, device: torch.device, count: int, repeats: int,
                          max_seconds: Optional[float] = None, log: Callable[[str], None] = print) -> dict:
    """Sampling for a benchmark generator: saved with ``ganzoo.save``, loaded by folder."""
    torch.manual_seed(0)
    network = build_network(**spec.generator)
    with tempfile.TemporaryDirectory() as folder:
        ganzoo.save(network, folder)
        return measure_sampling(folder, device, count, repeats, label=spec.name, size=spec.size_note,
                                max_seconds=max_seconds, log=log)


def affordable_count(generator: torch.nn.Module, device: torch.device, count: int, seconds: float) -> int:
    """``count``, or fewer (a multiple of 64) if sampling ``count`` images would take over ``seconds``.

    A 256-channel ResNet generator makes about 10 images/s on one CPU core: 1024 of them, ten
    times over, would be most of an hour.
    """
    with torch.no_grad():
        probe = timed(lambda: generator.sample(64, seed=0), device) / 64
    affordable = int(seconds / probe) // 64 * 64
    return max(64, min(count, affordable))


def measure_sampling(name_or_path: str, device: torch.device, count: int, repeats: int, label: Optional[str] = None,
                     size: str = "as published", max_seconds: Optional[float] = None,
                     log: Callable[[str], None] = print) -> dict:
    loaded = ganzoo.load(name_or_path, device=device)
    raw = build_network(**loaded.config).to(device).eval()
    raw.load_state_dict(loaded.state_dict())
    label = label or name_or_path
    if max_seconds is not None:
        count = affordable_count(loaded, device, count, max_seconds)

    @torch.no_grad()
    def raw_forward() -> list:
        chunks = []
        for start in range(0, count, SAMPLE_BATCH):
            chunk = min(SAMPLE_BATCH, count - start)
            chunks.append(raw(torch.randn(chunk, raw.latent_dim, device=device)))
        return chunks

    def ganzoo_sample() -> torch.Tensor:
        return loaded.sample(count, seed=0, batch_size=SAMPLE_BATCH)

    ganzoo_sample(), raw_forward()  # warm-up: allocator, cuDNN algorithm choice
    ganzoo_times, raw_times = [], []
    for repeat in range(repeats):
        pairs = [(ganzoo_sample, ganzoo_times), (raw_forward, raw_times)]
        if repeat % 2:
            pairs.reverse()  # alternate the order, so load drifts hit both sides alike
        for fn, sink in pairs:
            sink.append(timed(fn, device))
        log(f"  {label} sampling repeat {repeat + 1}/{repeats}: ganzoo.load().sample {count / ganzoo_times[-1]:.0f} img/s, "
            f"raw forward {count / raw_times[-1]:.0f} img/s")
    ganzoo_median, raw_median = spread(ganzoo_times)["median"], spread(raw_times)["median"]
    return {
        "model": label, "generator": loaded.config["name"], "size": size, "count": count,
        "batch_size": min(SAMPLE_BATCH, count),
        "ganzoo_images_per_second": count / ganzoo_median, "raw_images_per_second": count / raw_median,
        "ratio": ganzoo_median / raw_median,  # time ratio: > 1 means ganzoo is slower
        "ganzoo_seconds": spread(ganzoo_times), "raw_seconds": spread(raw_times),
    }
