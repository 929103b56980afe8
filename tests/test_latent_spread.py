"""scripts/latent_spread.py's two generator edits: scaled latents, and BatchNorm statistics recomputed."""
import sys
from pathlib import Path

import torch

from ganzoo.nn import build_network

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
try:
    from latent_spread import with_latent_scale, with_standing_statistics
finally:
    sys.path.pop(0)


def batch_norm_generator():
    torch.manual_seed(0)
    return build_network("MLPGenerator", {"latent_dim": 4, "out_dim": 3, "hidden_dim": 8, "n_layers": 2,
                                           "batch_norm": True})


def test_scaled_latents_are_the_same_draws_times_the_scale():
    generator = batch_norm_generator()
    plain = generator.sample_latent(16, seed=3)
    plain_samples = generator.sample(16, seed=3)
    scaled = with_latent_scale(generator, 1.5)
    torch.testing.assert_close(scaled.sample_latent(16, seed=3), 1.5 * plain)
    scaled.eval()
    with torch.no_grad():
        torch.testing.assert_close(scaled.sample(16, seed=3), scaled(1.5 * plain))
    assert not torch.allclose(scaled.sample(16, seed=3), plain_samples)


def test_standing_statistics_replace_stale_running_statistics():
    """The script's wrapper returns the generator itself with its statistics recomputed (the method is tested
    against its formula in tests/test_networks.py)."""
    generator = batch_norm_generator()
    norm = next(m for m in generator.modules() if isinstance(m, torch.nn.BatchNorm1d))
    norm.running_mean.fill_(5.0)
    assert with_standing_statistics(generator, batches=2) is generator
    assert norm.running_mean.abs().max() < 5.0


def test_standing_statistics_leave_a_generator_without_batch_norm_alone():
    torch.manual_seed(0)
    generator = build_network("MLPGenerator", {"latent_dim": 4, "out_dim": 3, "hidden_dim": 8, "n_layers": 2})
    assert with_standing_statistics(generator, batches=2) is None
