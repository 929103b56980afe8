"""Progressive growing: networks at every stage, seamless fade-in, the schedule, resuming, export."""
import math
from pathlib import Path

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback
from torch.utils.data import DataLoader, TensorDataset

import ganzoo
from ganzoo import regularizers
from ganzoo.callbacks import GeneratorIterationCheckpoint
from ganzoo.data import GlobalBatchSampler
from ganzoo.gans import ProGAN
from ganzoo.gans.progan import GrowthSchedule, Stage, real_images_at_stage
from ganzoo.losses import wasserstein_d_loss
from ganzoo.nn import ProGANDiscriminator, ProGANGenerator
from ganzoo.nn.progan import EqualizedConv2d, EqualizedLinear, minibatch_stddev, pixel_norm
from ganzoo.zoo.serialization import save_generator

TINY = {"fmap_base": 32, "fmap_max": 8}


def tiny_networks(resolution, channels=3, latent_dim=8, **d_kwargs):
    g = {"name": "ProGANGenerator",
         "kwargs": {"latent_dim": latent_dim, "resolution": resolution, "channels": channels, **TINY}}
    d = {"name": "ProGANDiscriminator", "kwargs": {"resolution": resolution, "channels": channels, **TINY, **d_kwargs}}
    return g, d


def tiny_progan(resolution=16, **kwargs):
    g, d = tiny_networks(resolution)
    kwargs.setdefault("sample_every_n_iterations", 0)
    return ProGAN(generator=g, discriminator=d, **kwargs)


def trainer(tmp_path, **extra):
    extra.setdefault("devices", 1)
    return L.Trainer(accelerator="cpu", max_epochs=-1, logger=False, enable_progress_bar=False,
                     enable_model_summary=False, deterministic=True, default_root_dir=str(tmp_path),
                     **{"enable_checkpointing": False, **extra})


# ------------------------------------------------------------------------------------------ networks


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_output_shapes_at_every_resolution(alpha):
    generator = ProGANGenerator(latent_dim=8, resolution=32, channels=3, **TINY)
    discriminator = ProGANDiscriminator(resolution=32, channels=3, **TINY)
    assert generator.num_levels == discriminator.num_levels == 4
    z = torch.randn(4, 8)
    for level, resolution in enumerate([4, 8, 16, 32]):
        generator.set_stage(level, alpha)
        discriminator.set_stage(level, alpha)
        images = generator(z)
        assert images.shape == (4, 3, resolution, resolution)
        assert discriminator(images).shape == (4,)
        with pytest.raises(ValueError, match=f"level {level} expects inputs of shape"):
            discriminator(torch.randn(4, 3, 2 * resolution, 2 * resolution))


def test_fresh_networks_are_at_their_final_stage():
    generator = ProGANGenerator(latent_dim=8, resolution=16, channels=1, **TINY)
    discriminator = ProGANDiscriminator(resolution=16, channels=1, **TINY)
    assert (generator.level, generator.alpha) == (2, 1.0) == (discriminator.level, discriminator.alpha)
    assert generator.sample(3, seed=0).shape == (3, 1, 16, 16)


def test_generator_fade_in_is_seamless():
    torch.manual_seed(0)
    generator = ProGANGenerator(latent_dim=8, resolution=32, channels=3, **TINY)
    z = torch.randn(6, 8)
    for level in range(1, generator.num_levels):
        generator.set_stage(level - 1, 1.0)
        old = generator(z)
        generator.set_stage(level, 0.0)
        just_grown = generator(z)
        torch.testing.assert_close(just_grown, F.interpolate(old, scale_factor=2, mode="nearest"), atol=1e-5, rtol=0)
        # The blend is a real blend: halfway is the mean of the old (upsampled) and new outputs.
        generator.set_stage(level, 1.0)
        new = generator(z)
        assert (new - just_grown).abs().max() > 1e-3
        generator.set_stage(level, 0.5)
        torch.testing.assert_close(generator(z), 0.5 * (new + just_grown), atol=1e-5, rtol=1e-5)


def test_discriminator_fade_in_is_seamless():
    torch.manual_seed(0)
    discriminator = ProGANDiscriminator(resolution=32, channels=3, **TINY)
    for level in range(1, discriminator.num_levels):
        x = torch.randn(8, 3, 4 * 2**level, 4 * 2**level)
        discriminator.set_stage(level - 1, 1.0)
        old = discriminator(F.avg_pool2d(x, 2))
        discriminator.set_stage(level, 0.0)
        torch.testing.assert_close(discriminator(x), old, atol=1e-5, rtol=0)


def test_real_images_fade_like_the_generator():
    full = torch.randn(4, 3, 16, 16)
    # Fully at a level: plain box downsampling (mean of each factor x factor block).
    at_4 = real_images_at_stage(full, Stage(0, 1.0, 0))
    torch.testing.assert_close(at_4, full.reshape(4, 3, 4, 4, 4, 4).mean(dim=(3, 5)))
    torch.testing.assert_close(real_images_at_stage(full, Stage(2, 1.0, 4)), full)
    # Just grown (alpha = 0): the previous level's images, upsampled, as G's output is.
    just_grown = real_images_at_stage(full, Stage(2, 0.0, 3))
    torch.testing.assert_close(just_grown, F.interpolate(real_images_at_stage(full, Stage(1, 1.0, 2)), scale_factor=2))
    halfway = real_images_at_stage(full, Stage(2, 0.5, 3))
    torch.testing.assert_close(halfway, 0.5 * (full + just_grown))


def test_equalized_lr_runtime_weight_scale():
    generator = ProGANGenerator(latent_dim=16, resolution=16, channels=3, **TINY)
    discriminator = ProGANDiscriminator(resolution=16, channels=3, **TINY)
    gain_one = {id(layer) for layer in generator.to_rgb} | {id(discriminator.blocks[0].linear)}
    layers = [m for net in (generator, discriminator) for m in net.modules()
              if isinstance(m, (EqualizedConv2d, EqualizedLinear))]
    # G: dense + conv, 2 up blocks of 2 convs, 3 toRGB; D: 3 fromRGB, 2 down blocks of 2 convs, conv + 4x4 conv + linear
    assert len(layers) == (2 + 2 * 2 + 3) + (3 + 2 * 2 + 3)
    for layer in layers:
        out_features, in_features, *kernel = layer.weight.shape
        fan_in = in_features * math.prod(kernel)
        if layer is generator.blocks[0].dense:
            fan_in = 16 * 16  # the paper's 4x4 conv on the latent: 16 * latent_dim
        gain = 1.0 if id(layer) in gain_one else math.sqrt(2.0)
        assert layer.weight_scale == pytest.approx(gain / math.sqrt(fan_in), rel=1e-12)

    # The scale is applied at run time to N(0, 1) weights, never folded into them.
    conv = EqualizedConv2d(64, 64, 3)
    assert conv.weight.std().item() == pytest.approx(1.0, abs=0.02)
    with torch.no_grad():
        conv.weight.mul_(3.0)
        conv.bias.normal_()
    x = torch.randn(2, 64, 5, 5)
    expected = F.conv2d(x, conv.weight * math.sqrt(2.0 / (64 * 9)), conv.bias, padding=1)
    torch.testing.assert_close(conv(x), expected)
    linear = EqualizedLinear(32, 4)
    torch.testing.assert_close(linear(x[:, :32, 0, 0]), x[:, :32, 0, 0] @ (linear.weight * math.sqrt(2 / 32)).T)


def test_pixel_norm_and_minibatch_stddev_closed_forms():
    x = torch.randn(5, 7, 3, 3, dtype=torch.float64)
    normed = pixel_norm(x)
    torch.testing.assert_close(normed, x / (x.pow(2).mean(1, keepdim=True) + 1e-8).sqrt())
    torch.testing.assert_close(normed.pow(2).mean(1), torch.ones(5, 3, 3, dtype=torch.float64), atol=1e-6, rtol=0)

    x = torch.randn(8, 3, 4, 4, dtype=torch.float64)
    whole = minibatch_stddev(x, group_size=8)
    assert whole.shape == (8, 4, 4, 4)
    torch.testing.assert_close(whole[:, :3], x)
    expected = (x.var(dim=0, unbiased=False) + 1e-8).sqrt().mean()
    torch.testing.assert_close(whole[:, 3], expected.expand(8, 4, 4))
    grouped = minibatch_stddev(x, group_size=4)  # groups of consecutive samples
    for start in (0, 4):
        members = x[start : start + 4]
        stat = (members.var(dim=0, unbiased=False) + 1e-8).sqrt().mean()
        torch.testing.assert_close(grouped[start : start + 4, 3], stat.expand(4, 4, 4))
    # A batch split into slices of whole groups (as DDP splits a global batch) gets the same statistics.
    torch.testing.assert_close(torch.cat([minibatch_stddev(half, 4) for half in x.split(4)]), grouped)
    with pytest.raises(ValueError, match="batch size 6 is not divisible by the group size 4"):
        minibatch_stddev(x[:6], group_size=4)


def test_cifar10_penalty_centred_at_gamma_matches_the_paper_up_to_scale():
    # The paper's CIFAR-10 loss: W(D) + lambda/gamma^2 (||grad D|| - gamma)^2 + eps D(x)^2. The recipe gets it
    # from the 1-centred penalty on D' = D / gamma (output_scale) with lambda/gamma and eps*gamma: the loss is
    # the paper's divided by gamma, so gradients are too (and Adam's steps do not change).
    gamma, lam, eps = 750.0, 10.0, 0.001
    torch.manual_seed(0)
    paper_d = ProGANDiscriminator(resolution=8, channels=3, **TINY).double()
    scaled_d = ProGANDiscriminator(resolution=8, channels=3, **TINY, output_scale=1 / gamma).double()
    scaled_d.load_state_dict(paper_d.state_dict())
    real, fake = torch.randn(4, 3, 8, 8, dtype=torch.float64), torch.randn(4, 3, 8, 8, dtype=torch.float64)
    mix = torch.rand(4, dtype=torch.float64)

    def loss(d, gp_weight, center, drift_weight):
        d_real = d(real)
        return (wasserstein_d_loss(d_real, d(fake))
                + gp_weight * regularizers.gradient_penalty(d, real, fake, alpha=mix, center=center)
                + drift_weight * d_real.pow(2).mean())

    def grads(d, *weights):  # the unused 4x4 fromRGB gets zeros
        return torch.autograd.grad(loss(d, *weights), list(d.parameters()), allow_unused=True, materialize_grads=True)

    paper, ours = grads(paper_d, lam / gamma**2, gamma, eps), grads(scaled_d, lam / gamma, 1.0, eps * gamma)
    assert sum(g.abs().sum() for g in paper) > 0
    for g_paper, g_ours in zip(paper, ours):
        torch.testing.assert_close(g_ours * gamma, g_paper, rtol=1e-9, atol=1e-12)


def test_bad_configurations_are_named():
    with pytest.raises(ValueError, match="power of two >= 4.*got 24"):
        ProGANGenerator(resolution=24)
    with pytest.raises(ValueError, match="alpha"):
        ProGANGenerator(latent_dim=8, resolution=8, **TINY).set_stage(1, 1.5)
    with pytest.raises(ValueError, match=r"level must be in \[0, 1\]"):
        ProGANDiscriminator(resolution=8, **TINY).set_stage(2)
    with pytest.raises(TypeError, match="ProGANGenerator"):
        ProGAN(generator={"name": "DCGANGenerator", "kwargs": {"resolution": 32}})
    g, d = tiny_networks(16)
    d["kwargs"]["resolution"] = 32
    with pytest.raises(ValueError, match="same resolution"):
        ProGAN(generator=g, discriminator=d)
    with pytest.raises(ValueError, match="batch_sizes key 12"):
        tiny_progan(batch_sizes={12: 4})


# ------------------------------------------------------------------------------------------ schedule


def test_growth_schedule_follows_images_shown():
    schedule = GrowthSchedule(num_levels=3, fade_in_images=100, stabilize_images=50)
    expected = {
        0: (0, 1.0, 0), 49: (0, 1.0, 0),            # 4x4 only: stabilise
        50: (1, 0.0, 1), 75: (1, 0.25, 1), 149: (1, 0.99, 1),  # fade 8x8 in
        150: (1, 1.0, 2), 199: (1, 1.0, 2),         # stabilise 8x8
        200: (2, 0.0, 3), 290: (2, 0.9, 3),         # fade 16x16 in
        300: (2, 1.0, 4), 10**9: (2, 1.0, 4),       # fully grown for good
    }
    for shown, stage in expected.items():
        assert tuple(schedule.stage_at(shown)) == pytest.approx(stage), shown
    assert schedule.growth_images == 350


class StageRecorder(Callback):
    """Per training step: images shown before / after it, the stage of D and of G's EMA copy and the
    stage buffers after it, and how many steps D's Adam has taken since its state was (re)initialised."""

    def __init__(self):
        self.rows = []

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        self.shown_before = module.images_shown

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        steps = [int(state["step"]) for state in trainer.optimizers[0].state.values()]
        self.rows.append({
            "shown_before": self.shown_before, "shown_after": module.images_shown,
            "d_stage": (module.discriminator.level, module.discriminator.alpha),
            "ema_stage": (module.generator_ema.module.level, module.generator_ema.module.alpha),
            "buffers": (int(module.level_t), float(module.alpha_t)), "adam_steps": max(steps, default=0),
        })


def test_training_follows_the_schedule_with_per_resolution_batches(tmp_path):
    model = tiny_progan(resolution=8, fade_in_images=64, stabilize_images=32, batch_sizes={8: 4},
                        max_generator_iterations=26)
    recorder = StageRecorder()
    data = DataLoader(TensorDataset(torch.rand(64, 3, 8, 8) * 2 - 1), batch_size=8)
    trainer(tmp_path, callbacks=[recorder]).fit(model, data)
    schedule = model.schedule
    phase_start = 0
    for step, row in enumerate(recorder.rows):
        stage, next_stage = schedule.stage_at(row["shown_before"]), schedule.stage_at(row["shown_after"])
        # After each step every network (and the buffers) is at the stage the counter says.
        assert row["d_stage"] == row["ema_stage"] == (next_stage.level, next_stage.alpha)
        assert row["buffers"] == pytest.approx((next_stage.level, next_stage.alpha))
        # 8 samples per step at 4x4, the first 4 of each batch at 8x8.
        assert row["shown_after"] - row["shown_before"] == (8 if stage.resolution == 4 else 4)
        # Adam's moments restart with every phase: cleared at the step that ends one.
        if step and schedule.stage_at(recorder.rows[step - 1]["shown_after"]).phase != schedule.stage_at(
                recorder.rows[step - 1]["shown_before"]).phase:
            phase_start = step
        expected_steps = 0 if next_stage.phase != stage.phase else step - phase_start + 1
        assert row["adam_steps"] == expected_steps, step
    # 4 steps of 8 at 4x4 (32 images), 16 steps of 4 fading 8x8 in (64), 6 of 4 stabilising it (24).
    assert model.images_shown == 32 + 64 + 24
    assert model.stage == Stage(1, 1.0, 2)


@pytest.mark.parametrize("loss", [{}, {"loss": "lsgan", "gp_weight": 0.0, "drift_weight": 0.0}], ids=["wgan-gp", "lsgan"])
def test_max_images_shown_stops_training(tmp_path, loss):
    model = tiny_progan(resolution=8, fade_in_images=16, stabilize_images=16, max_images_shown=40, **loss)
    trainer(tmp_path).fit(model, DataLoader(TensorDataset(torch.rand(32, 3, 8, 8)), batch_size=8))
    assert model.images_shown == 40 and model.generator_iterations == 5
    assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.parametrize("recipe", ["progan_cifar10.yaml", "progan_cifar10_cpu.yaml",
                                    "progan_cifar10_cpu_standard_gp.yaml", "progan_fashion_mnist.yaml",
                                    "toy/progan_smoke.yaml"])
def test_recipes_build_the_model_they_describe(recipe, tmp_path, monkeypatch):
    from lightning.pytorch import LightningDataModule

    from ganzoo.gans.base import GAN
    from ganzoo.training_cli import GanzooCLI

    path = Path(__file__).resolve().parents[1] / "recipes" / recipe
    monkeypatch.chdir(tmp_path)
    cli = GanzooCLI(GAN, LightningDataModule, subclass_mode_model=True, subclass_mode_data=True, run=False,
                    args=["--config", str(path)], auto_configure_optimizers=False)
    model = cli.model
    assert isinstance(model, ProGAN) and model.final_resolution == 32
    assert cli.datamodule.image_shape == model.generator.output_shape
    if recipe in ("progan_cifar10.yaml", "progan_cifar10_cpu.yaml"):  # the paper's gamma = 750 penalty, for D / gamma
        gamma = 1 / model.discriminator.output_scale
        assert gamma == pytest.approx(750)
        assert model.hparams.gp_weight * gamma == pytest.approx(10)
        assert model.hparams.drift_weight / gamma == pytest.approx(0.001)
        assert model.generator.latent_dim == 128
    if recipe == "progan_cifar10_cpu_standard_gp.yaml":  # the paper's default penalty: gamma = 1, lambda = 10
        assert model.discriminator.output_scale == 1.0
        assert (model.hparams.gp_weight, model.hparams.drift_weight) == (10.0, 0.001)
        assert model.generator.latent_dim == 128
        assert model.hparams.max_images_shown == 560_000  # 17.5k generator iterations at batch 32
    if recipe == "progan_cifar10.yaml":
        assert model.schedule.images_per_level == 800_000
    if recipe == "progan_cifar10_cpu.yaml":  # grown to 32x32 with most of the run left to train there
        assert model.schedule.images_per_level == 64_000
        assert model.schedule.growth_images == 224_000 and model.hparams.max_images_shown - model.schedule.growth_images == 128_000
    if recipe == "toy/progan_smoke.yaml":
        assert model.batch_size_at(32) == 8 and model.batch_size_at(16) is None


# ------------------------------------------------------------------------------------------ resume


def test_resume_mid_fade_in_matches_uninterrupted_run(tmp_path):
    """A checkpoint written by the callback mid-fade-in, resumed, ends where the uninterrupted run ends.

    Lightning restarts an epoch from its first batch (or skips to the next epoch) when resuming
    mid-epoch with a plain DataLoader; with one global batch per epoch and the epoch-seeded
    GlobalBatchSampler the batches are a function of the step, so the comparison is exact.
    """
    images = torch.rand(8, 3, 16, 16) * 2 - 1

    def loader():
        dataset = TensorDataset(images)
        return DataLoader(dataset, batch_size=8, sampler=GlobalBatchSampler(dataset, 8, seed=3))

    def model():
        return tiny_progan(resolution=16, fade_in_images=64, stabilize_images=32, batch_sizes={16: 4},
                           max_generator_iterations=22, seed=7)

    L.seed_everything(0)
    uninterrupted = model()
    checkpoints = GeneratorIterationCheckpoint(every_n_generator_iterations=10, dirpath=str(tmp_path / "ckpt"))
    first = trainer(tmp_path / "a", callbacks=[checkpoints], enable_checkpointing=True)
    first.fit(uninterrupted, loader())

    [path] = [p for p in (tmp_path / "ckpt").glob("giter-*.ckpt") if p.stem.endswith("-10") or p.stem.endswith("010")]
    saved = torch.load(path, weights_only=False)
    assert saved["ganzoo"]["generator_iterations"] == 10
    stage = uninterrupted.schedule.stage_at(int(saved["state_dict"]["images_shown_t"]))
    assert stage == Stage(1, 0.75, 1)  # 80 images: three quarters into fading 8x8 in

    L.seed_everything(1)  # the global RNG must not matter
    resumed = model()
    second = trainer(tmp_path / "b")
    second.fit(resumed, loader(), ckpt_path=str(path))

    # 4 steps of 8 at 4x4, 8 + 4 steps of 8 fading in / stabilising 8x8, then 6 steps of 4 fading 16x16 in.
    assert resumed.images_shown == uninterrupted.images_shown == 32 + 64 + 32 + 6 * 4
    assert resumed.stage == uninterrupted.stage == Stage(2, 24 / 64, 3)
    assert resumed.generator.level == 2 and resumed.discriminator.alpha == uninterrupted.discriminator.alpha
    for key, value in uninterrupted.state_dict().items():  # G, D, EMA G, counters
        assert torch.equal(resumed.state_dict()[key], value), key
    for opt_a, opt_b in zip(first.optimizers, second.optimizers):
        state_a, state_b = opt_a.state_dict()["state"], opt_b.state_dict()["state"]
        assert state_a.keys() == state_b.keys() and state_a
        for index in state_a:
            for name, value in state_a[index].items():
                assert torch.equal(state_b[index][name], value), (index, name)


def test_load_from_checkpoint_restores_the_stage(tmp_path):
    model = tiny_progan(resolution=8, fade_in_images=16, stabilize_images=8, max_generator_iterations=2)
    fitted = trainer(tmp_path)
    fitted.fit(model, DataLoader(TensorDataset(torch.rand(16, 3, 8, 8)), batch_size=8))
    fitted.save_checkpoint(tmp_path / "model.ckpt")
    restored = ProGAN.load_from_checkpoint(tmp_path / "model.ckpt", weights_only=False)
    assert restored.stage == model.stage == Stage(1, 0.5, 1)
    assert (restored.generator_ema.module.level, restored.generator_ema.module.alpha) == (1, 0.5)
    torch.testing.assert_close(restored.sample(3, seed=0), model.sample(3, seed=0))


# ------------------------------------------------------------------------------------------ export


def test_ganzoo_load_gives_the_final_resolution_generator(tmp_path):
    model = tiny_progan(resolution=16, batch_sizes={16: 4})
    ema = model.sampling_generator
    assert ema.level == 0  # training starts at 4x4
    save_generator(ema, tmp_path / "g")
    loaded = ganzoo.load(str(tmp_path / "g"))
    assert isinstance(loaded, ProGANGenerator) and not loaded.training
    z = torch.randn(5, 8)
    images = loaded(z)
    assert images.shape == (5, 3, 16, 16) and images.abs().max() <= 1.0
    ema.set_stage(ema.max_level, 1.0)
    torch.testing.assert_close(images, ema.eval()(z))

    ganzoo.save(model, tmp_path / "gan")  # config.json stores batch_sizes' keys as strings
    rebuilt = ganzoo.load_gan(str(tmp_path / "gan"))
    assert isinstance(rebuilt, ProGAN) and rebuilt.batch_size_at(16) == 4
    assert ganzoo.load(str(tmp_path / "gan")).sample(2, seed=0).shape == (2, 3, 16, 16)


# ------------------------------------------------------------------------------------------ DDP


def test_two_process_ddp_matches_single_process(tmp_path):
    """Growing counts images over all processes and minibatch-stddev groups never straddle the
    per-process slices, so 2-process CPU DDP (fork, unused parameters allowed: levels not yet grown
    get no gradient) ends where 1 process does, through a fade-in."""
    from lightning.pytorch.strategies import DDPStrategy

    from ganzoo.data.base import GlobalBatchDataModule, TensorPairDataset

    class Images(GlobalBatchDataModule):
        def setup(self, stage=None):
            super().setup(stage)
            self.train_dataset = TensorPairDataset(torch.rand(64, 3, 8, 8, generator=torch.Generator().manual_seed(0)),
                                                   torch.zeros(64, dtype=torch.long))

    def run(devices):
        torch.manual_seed(0)
        g, d = tiny_networks(8, mbstd_group_size=2)
        model = ProGAN(generator=g, discriminator=d, fade_in_images=32, stabilize_images=16, max_generator_iterations=8,
                       sample_every_n_iterations=0)
        strategy = DDPStrategy(start_method="fork", find_unused_parameters=True) if devices > 1 else "auto"
        trainer(tmp_path / str(devices), devices=devices, strategy=strategy).fit(model, datamodule=Images(batch_size=8))
        return model

    single, double = run(1), run(2)
    assert single.images_shown == double.images_shown == 64 and single.stage == Stage(1, 1.0, 2)
    for name, tensor in single.state_dict().items():
        torch.testing.assert_close(double.state_dict()[name], tensor, rtol=1e-5, atol=1e-5, msg=name)


# ------------------------------------------------------------------------------------------ fine-tuning


def test_export_keeps_the_stage_and_fine_tuning_continues_from_it(tmp_path):
    from ganzoo.callbacks import FineTuneFrom

    model = tiny_progan(resolution=8, fade_in_images=16, stabilize_images=8, max_generator_iterations=3)
    trainer(tmp_path / "pretrain").fit(model, DataLoader(TensorDataset(torch.rand(16, 3, 8, 8)), batch_size=8))
    per_iteration = model.hparams.n_critic * 8
    assert model.images_shown == 3 * per_iteration and model.stage.level == 1
    ganzoo.save(model, tmp_path / "gan")
    rebuilt = ganzoo.load_gan(str(tmp_path / "gan"))
    assert rebuilt.images_shown == model.images_shown and rebuilt.stage == model.stage
    assert (rebuilt.generator.level, rebuilt.generator.alpha) == (model.stage.level, model.stage.alpha)

    # A fine-tune of the grown model starts at its stage (8x8), not again at 4x4; its own
    # iteration count starts at zero.
    fresh = tiny_progan(resolution=8, fade_in_images=16, stabilize_images=8, max_generator_iterations=1)
    assert fresh.stage == Stage(0, 1.0, 0)
    recorder = StageRecorder()
    trainer(tmp_path / "finetune", callbacks=[FineTuneFrom(str(tmp_path / "gan")), recorder]).fit(
        fresh, DataLoader(TensorDataset(torch.rand(16, 3, 8, 8)), batch_size=8)
    )
    first = recorder.rows[0]
    assert first["shown_before"] == model.images_shown
    assert first["d_stage"] == first["ema_stage"] == (model.stage.level, model.stage.alpha)
    assert fresh.generator_iterations == 1 and fresh.images_shown == model.images_shown + per_iteration


def test_sample_returns_the_final_resolution_cropped_as_configured():
    from ganzoo.nn import ProGANGenerator

    torch.manual_seed(0)
    cropped = ProGANGenerator(latent_dim=8, resolution=32, channels=1, fmap_base=32, fmap_max=8, sample_crop=28)
    full = ProGANGenerator(latent_dim=8, resolution=32, channels=1, fmap_base=32, fmap_max=8)
    full.load_state_dict(cropped.state_dict())
    assert cropped.sample(2, seed=0).shape == (2, 1, 28, 28)
    # the centre of the full image: the 2-pixel border that padding 28 -> 32 added is removed
    torch.testing.assert_close(cropped.sample(2, seed=1), full.sample(2, seed=1)[..., 2:30, 2:30])
    for generator in (cropped, full):
        generator.set_stage(1, 1.0)  # 8x8 stage: enlarged to 32 (nearest), then cropped
    small = full.sample(2, seed=3)
    assert small.shape == (2, 1, 32, 32)
    torch.testing.assert_close(small[..., ::4, ::4], small[..., 3::4, 3::4])  # 4x4 blocks of one value
    with pytest.raises(ValueError, match="sample_crop"):
        ProGANGenerator(latent_dim=8, resolution=32, channels=1, fmap_base=32, fmap_max=8, sample_crop=40)


def test_spectral_norm_option_gives_unit_norm_layers():
    from ganzoo.nn import spectral_norm_sigma, spectrally_normalized_layers
    from ganzoo.nn.progan import EqualizedConv2d, EqualizedLinear

    torch.manual_seed(0)
    plain = ProGANDiscriminator(resolution=16, channels=1, fmap_base=64, fmap_max=32)
    normalised = ProGANDiscriminator(resolution=16, channels=1, fmap_base=64, fmap_max=32, spectral_norm=True)
    weighted = [m for m in normalised.modules() if isinstance(m, (EqualizedConv2d, EqualizedLinear))]
    assert len(spectrally_normalized_layers(normalised)) == len(weighted) > 0 and not spectrally_normalized_layers(plain)
    x = torch.randn(8, 1, 16, 16)
    for _ in range(100):  # warm up the power iterations (one step per forward pass)
        normalised(x)
    for layer in weighted:  # the effective weight, weight_scale included, has spectral norm 1
        assert layer.weight_scale == 1.0 and spectral_norm_sigma(layer) == pytest.approx(1.0, abs=3e-2)
    assert normalised.config["kwargs"]["spectral_norm"] is True
