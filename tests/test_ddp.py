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

from conftest import TOY_D, TOY_G

GLOBAL_BATCH = 16


def train(model_cls, devices, tmp_path, networks=(TOY_G, TOY_D), data=None, **model_kwargs):
    torch.manual_seed(0)  # identical initial weights in both runs
    model = model_cls(generator=networks[0], discriminator=networks[1], max_generator_iterations=4,
                      sample_every_n_iterations=0, **model_kwargs)
    # The datamodule splits each GLOBAL batch into contiguous per-process slices, the same way
    # the loop slices latents, so every real sample meets the same latent on 1 or 2 processes.
    data = data or ToyDataModule("ring", n_samples=512, batch_size=GLOBAL_BATCH, seed=1)
    strategy = DDPStrategy(start_method="fork", find_unused_parameters=True) if devices > 1 else "auto"
    trainer = L.Trainer(accelerator="cpu", devices=devices, strategy=strategy, max_epochs=-1, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        default_root_dir=str(tmp_path))
    trainer.fit(model, datamodule=data)
    return model


@pytest.mark.parametrize("model_cls, kwargs", [(GAN, {}), (WGANGP, {"n_critic": 2}), (GAN, {"prediction": True})],
                         ids=["ns-gan", "wgan-gp", "prediction-step"])
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


# DCGAN with BatchNorm in G and D: per-process BatchNorm would normalise half-batches (1.6e-3 off).
BN_G = {"name": "DCGANGenerator", "kwargs": {"latent_dim": 8, "resolution": 16, "channels": 1, "base_width": 4}}
BN_D = {"name": "DCGANDiscriminator", "kwargs": {"resolution": 16, "channels": 1, "base_width": 4, "norm": "batch"}}


class TinyImages(L.LightningDataModule):
    """64 fixed 16x16 images in GLOBAL batches, each split into contiguous per-process slices."""

    def train_dataloader(self):
        from ganzoo.data import GlobalBatchSampler
        from torch.utils.data import DataLoader, TensorDataset

        images = TensorDataset(torch.rand(64, 1, 16, 16, generator=torch.Generator().manual_seed(3)) * 2 - 1)
        sampler = GlobalBatchSampler(images, GLOBAL_BATCH, self.trainer.world_size, self.trainer.global_rank,
                                     shuffle=False)
        return DataLoader(images, batch_size=sampler.local_batch_size, sampler=sampler)


def test_two_process_ddp_with_batchnorm_matches_single_process(tmp_path):
    from ganzoo.gans import DCGAN

    single = train(DCGAN, 1, tmp_path / "one", networks=(BN_G, BN_D), data=TinyImages())
    double = train(DCGAN, 2, tmp_path / "two", networks=(BN_G, BN_D), data=TinyImages())
    for name, tensor in single.state_dict().items():  # weights AND running statistics
        torch.testing.assert_close(double.state_dict()[name], tensor, rtol=1e-5, atol=1e-5, msg=name)


def test_cross_process_batchnorm_is_batchnorm_in_one_process():
    from ganzoo.nn.cross_process_bn import convert_batchnorm_for_processes

    torch.manual_seed(0)
    plain = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3))
    converted = convert_batchnorm_for_processes(__import__("copy").deepcopy(plain), "cpu")
    assert type(converted[1]).__name__ == "CrossProcessBatchNorm"
    assert list(dict(converted.state_dict())) == list(dict(plain.state_dict()))  # checkpoints unchanged
    x = torch.randn(5, 2, 6, 6)
    torch.testing.assert_close(converted(x), plain(x))
    assert type(convert_batchnorm_for_processes(plain, "cuda")[1]) is torch.nn.SyncBatchNorm
