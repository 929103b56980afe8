"""Multi-process training gives the same weights as one process with the same global batch.

Runs real 2-process DDP on CPU (gloo). `fork` is used because the default popen
launcher would re-run pytest in the child (DESIGN.md trap) and fork starts in
milliseconds where spawn takes a minute on 2 busy cores; `find_unused_parameters`
because the D step leaves G unused and vice versa.
"""
import lightning as L
import pytest
import torch
from lightning.pytorch.strategies import DDPStrategy

from ganzoo.data import ToyDataModule

from ganzoo.gans import WGANGP, GAN

TOY_G = {"name": "MLPGenerator", "kwargs": {"latent_dim": 2, "out_dim": 2, "hidden_dim": 16, "n_layers": 2}}
TOY_D = {"name": "MLPDiscriminator", "kwargs": {"in_dim": 2, "hidden_dim": 16, "n_layers": 2}}
GLOBAL_BATCH = 16


def train(model_cls, devices, tmp_path, **model_kwargs):
    torch.manual_seed(0)  # identical initial weights in both runs
    model = model_cls(generator=TOY_G, discriminator=TOY_D, max_generator_iterations=4,
                      sample_every_n_iterations=0, **model_kwargs)
    # The datamodule splits each GLOBAL batch into contiguous per-process slices, the same way
    # the loop slices latents, so every real sample meets the same latent on 1 or 2 processes.
    data = ToyDataModule("ring", n_samples=512, batch_size=GLOBAL_BATCH, seed=1)
    strategy = DDPStrategy(start_method="fork", find_unused_parameters=True) if devices > 1 else "auto"
    trainer = L.Trainer(accelerator="cpu", devices=devices, strategy=strategy, max_epochs=-1, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        default_root_dir=str(tmp_path))
    trainer.fit(model, datamodule=data)
    return model


@pytest.mark.parametrize("model_cls, kwargs", [(GAN, {}), (WGANGP, {"n_critic": 2})], ids=["ns-gan", "wgan-gp"])
def test_two_process_ddp_matches_single_process(model_cls, kwargs, tmp_path):
    single = train(model_cls, 1, tmp_path / "one", **kwargs)
    double = train(model_cls, 2, tmp_path / "two", **kwargs)
    assert single.generator_iterations == 4
    for name, tensor in single.state_dict().items():
        torch.testing.assert_close(double.state_dict()[name], tensor, rtol=1e-5, atol=1e-5, msg=name)
    # The run actually moved the weights (a no-op run would trivially match).
    torch.manual_seed(0)
    fresh = model_cls(generator=TOY_G, discriminator=TOY_D, **kwargs)
    assert not torch.allclose(next(fresh.generator.parameters()), next(single.generator.parameters()))
