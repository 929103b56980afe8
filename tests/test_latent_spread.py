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


def test_standing_statistics_are_the_generators_own_activation_statistics():
    """After the recomputation, the first BatchNorm's running mean and variance are those of its inputs over the
    draws the function makes (a cumulative average of per-batch statistics); stale statistics are replaced."""
    generator = batch_norm_generator()
    norm = next(m for m in generator.modules() if isinstance(m, torch.nn.BatchNorm1d))
    norm.running_mean.fill_(5.0)
    inputs = []
    handle = norm.register_forward_pre_hook(lambda module, args: inputs.append(args[0].detach().clone()))
    with_standing_statistics(generator, batches=3, seed=7)
    handle.remove()
    assert len(inputs) == 3 and not generator.training
    torch.testing.assert_close(norm.running_mean, torch.stack([x.mean(0) for x in inputs]).mean(0))
    torch.testing.assert_close(norm.running_var, torch.stack([x.var(0, unbiased=True) for x in inputs]).mean(0))


def test_standing_statistics_leave_a_generator_without_batch_norm_alone():
    torch.manual_seed(0)
    generator = build_network("MLPGenerator", {"latent_dim": 4, "out_dim": 3, "hidden_dim": 8, "n_layers": 2})
    assert with_standing_statistics(generator, batches=2) is None
