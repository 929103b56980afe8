"""The lab's zoo tab: sample grids, latent interpolations and the card of any bundled model."""
from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path
from typing import Optional

import torch
from torch import Tensor
from torchvision.utils import save_image

import ganzoo
from ganzoo.zoo import get_entry

MAX_SAMPLES = 256
MAX_INTERPOLATION_STEPS = 32
REPOSITORY_CARDS = Path(__file__).resolve().parents[2] / "model_cards"  # present in a clone, not in a wheel


def bundled_models() -> list[dict]:
    """The registry entries whose weights ship with the package (what the lab can load offline)."""
    return [entry for entry in ganzoo.list_models() if entry.get("bundled")]


@lru_cache(maxsize=4)
def _generator(name: str):
    return ganzoo.load(name)


def truncated_latents(latent_dim: int, n: int, seed: int, truncation: Optional[float]) -> Tensor:
    """``n`` standard-normal latents from ``seed``; with ``truncation`` t > 0 every entry with
    |z| > t is redrawn until none is (the truncation trick of BigGAN: fewer, typical samples).
    Without truncation this is exactly ``Generator.sample_latent(n, seed)``."""
    rng = torch.Generator().manual_seed(int(seed))
    z = torch.randn(n, latent_dim, generator=rng)
    if truncation is not None and truncation > 0:
        outside = z.abs() > truncation
        while outside.any():
            z[outside] = torch.randn(int(outside.sum()), generator=rng)
            outside = z.abs() > truncation
    return z


def sample_grid(name: str, seed: int = 0, n: int = 64, truncation: Optional[float] = None) -> bytes:
    """A PNG grid of ``n`` samples of model ``name``."""
    if not 1 <= n <= MAX_SAMPLES:
        raise ValueError(f"n={n}: choose 1 to {MAX_SAMPLES} samples")
    generator = _generator(name)
    with torch.inference_mode():
        images = generator(truncated_latents(generator.latent_dim, n, seed, truncation)).float()
    return _png(images, nrow=max(1, round(n ** 0.5)))


def interpolation_strip(name: str, seed_a: int = 0, seed_b: int = 1, steps: int = 8) -> bytes:
    """A PNG strip walking the latent space from ``seed_a``'s latent to ``seed_b``'s along the
    great circle (slerp: intermediate latents keep a typical norm, unlike a straight line)."""
    if not 2 <= steps <= MAX_INTERPOLATION_STEPS:
        raise ValueError(f"steps={steps}: choose 2 to {MAX_INTERPOLATION_STEPS}")
    generator = _generator(name)
    a = truncated_latents(generator.latent_dim, 1, seed_a, None)[0]
    b = truncated_latents(generator.latent_dim, 1, seed_b, None)[0]
    z = torch.stack([slerp(a, b, t) for t in torch.linspace(0, 1, steps)])
    with torch.inference_mode():
        images = generator(z).float()
    return _png(images, nrow=steps)


def slerp(a: Tensor, b: Tensor, t: float) -> Tensor:
    cos = torch.clamp(torch.dot(a, b) / (a.norm() * b.norm()), -1.0, 1.0)
    omega = torch.arccos(cos)
    if omega.abs() < 1e-6:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def card_text(name: str) -> str:
    """The model card from the repository when the lab runs in a clone, else the registry's summary."""
    card = REPOSITORY_CARDS / f"{name}.md"
    if not card.is_file():
        return get_entry(name).details()
    text = card.read_text()
    if text.startswith("---\n"):  # the Hub's YAML metadata block: the page shows the readable part
        text = text.split("\n---\n", 1)[-1].lstrip()
    return text


def _png(images: Tensor, nrow: int) -> bytes:
    """A PNG grid of images in [-1, 1] (what ``ganzoo sample`` writes, as bytes)."""
    buffer = io.BytesIO()
    save_image(images, buffer, format="png", nrow=nrow, normalize=True, value_range=(-1, 1), pad_value=1)
    return buffer.getvalue()
