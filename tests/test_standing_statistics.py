"""scripts/standing_statistics.py: a bundled GAN's EMA generator gets BatchNorm statistics of its own."""
import json
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ganzoo.gans import DCGAN
from ganzoo.nn import build_network
from ganzoo.zoo import save_gan

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
try:
    from standing_statistics import with_standing_statistics
finally:
    sys.path.pop(0)

SMALL_G = {"name": "DCGANGenerator", "kwargs": {"latent_dim": 8, "resolution": 28, "channels": 1, "base_width": 4}}
SMALL_D = {"name": "DCGANDiscriminator", "kwargs": {"resolution": 28, "channels": 1, "base_width": 4, "norm": "none"}}


def bundled_gan(tmp_path):
    torch.manual_seed(0)
    gan = DCGAN(generator=SMALL_G, discriminator=SMALL_D)
    for norm in gan.generator_ema.module.modules():
        if isinstance(norm, torch.nn.BatchNorm2d):
            norm.running_mean.fill_(2.0)  # stale statistics
    folder = save_gan(gan, tmp_path / "bundle", dtype="float16")
    return load_file(str(folder / "model.safetensors")), json.loads((folder / "config.json").read_text())


def test_only_the_ema_generators_batchnorm_buffers_change_to_its_own_statistics(tmp_path):
    state, config = bundled_gan(tmp_path)
    rewritten = with_standing_statistics(state, config, batches=2)
    changed = {key for key in state if not torch.equal(state[key], rewritten[key])}
    norm_buffers = (".running_mean", ".running_var", ".num_batches_tracked")
    assert changed and all(key.startswith("generator_ema.") and key.endswith(norm_buffers) for key in changed)
    assert all(rewritten[key].dtype == state[key].dtype for key in state)
    # What the method gives the fp16 weights cast to float32, stored in float16.
    expected = build_network(**config["generator"])
    expected.load_state_dict({k[len("generator_ema."):]: v.float() if v.is_floating_point() else v
                              for k, v in state.items() if k.startswith("generator_ema.")})
    expected.recompute_batchnorm_statistics(batches=2, batch_size=256, seed=123)
    for key, value in expected.state_dict().items():
        if "running_" in key:
            torch.testing.assert_close(rewritten["generator_ema." + key], value.half())


def test_a_generator_without_batchnorm_or_ema_is_refused(tmp_path):
    state, config = bundled_gan(tmp_path)
    plain = {k: v for k, v in state.items() if not k.startswith("generator_ema.")}
    with pytest.raises(SystemExit, match="EMA generator"):
        with_standing_statistics(plain, config, batches=1)


def test_measured_table_names_the_rewritten_models_and_bounds_the_others(tmp_path, monkeypatch):
    import standing_statistics

    monkeypatch.setattr(standing_statistics, "TABLE", tmp_path / "table.md")
    monkeypatch.setattr(standing_statistics, "_bundled_config",
                        lambda name: {"batchnorm_statistics": {}} if name == "a" else {})
    results = {"a": {"registry": {"fid": 13.16, "precision": 0.7975, "recall": 0.2702},
                     "standing": {"fid": 12.84, "precision": 0.8036, "recall": 0.2885}},
               "b": {"registry": {"fid": 9.55, "precision": 0.514, "recall": 0.5617},
                     "standing": {"fid": 9.53, "precision": 0.514, "recall": 0.5619}}}
    standing_statistics.write_table(results)
    text = (tmp_path / "table.md").read_text()
    assert "| `a` | 13.16 | 0.797 | 0.270 | 12.84 | 0.804 | 0.288 |" in text
    assert "(scripts/standing_statistics.py NAME): `a`." in text
    assert "FID moved by at most 0.02 and their recall by at most 0.0002" in text
