"""Sampling: ``ganzoo.load(...).sample(n)`` against a raw generator forward at the same batch size.

The generator is saved with ``save_pretrained`` and loaded back through ``ganzoo.load``, the
path a user takes. ``sample`` adds what the raw loop does not: latents drawn on the CPU from
the seed (identical on every device) and moved over, eval mode, and one ``torch.cat`` of the
chunks. The raw loop draws latents on the device and keeps the chunks in a list.
"""
from __future__ import annotations

import tempfile
from typing import Callable

import torch

import ganzoo
from benchmarks.machine import spread, timed
from benchmarks.specs import ModelSpec
from ganzoo.nn import build_network

SAMPLE_BATCH = 1024  # Generator.sample's default chunk


def measure_sampling(spec: ModelSpec, device: torch.device, count: int, repeats: int,
                     log: Callable[[str], None] = print) -> dict:
    torch.manual_seed(0)
    network = build_network(**spec.generator)
    with tempfile.TemporaryDirectory() as folder:
        network.save_pretrained(folder)
        loaded = ganzoo.load(folder, device=device)
    raw = build_network(**spec.generator).to(device).eval()
    raw.load_state_dict(loaded.state_dict())

    @torch.no_grad()
    def raw_forward() -> list:
        chunks = []
        for start in range(0, count, SAMPLE_BATCH):
            size = min(SAMPLE_BATCH, count - start)
            chunks.append(raw(torch.randn(size, raw.latent_dim, device=device)))
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
        log(f"  {spec.name} sampling repeat {repeat + 1}/{repeats}: ganzoo.load().sample {count / ganzoo_times[-1]:.0f} img/s, "
            f"raw forward {count / raw_times[-1]:.0f} img/s")
    ganzoo_median, raw_median = spread(ganzoo_times)["median"], spread(raw_times)["median"]
    return {
        "model": spec.name, "generator": spec.generator["name"], "size": spec.size_note, "count": count,
        "batch_size": SAMPLE_BATCH,
        "ganzoo_images_per_second": count / ganzoo_median, "raw_images_per_second": count / raw_median,
        "ratio": ganzoo_median / raw_median,  # time ratio: > 1 means ganzoo is slower
        "ganzoo_seconds": spread(ganzoo_times), "raw_seconds": spread(raw_times),
    }
