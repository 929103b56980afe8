"""The shared training loop and the variant presets."""
import copy
import math

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from ganzoo.gans import DCGAN, GAN, SNGAN, WGAN, WGANGP, RaSGAN, VanillaGAN, get_variant
from ganzoo.nn import Discriminator, Generator
from conftest import TOY_D, TOY_G

# Each variant's own architecture family, shrunk so 50 generator iterations run in seconds.
SMALL_IMAGE_NETWORKS = {
    VanillaGAN: (
        {"name": "DCGANGenerator", "kwargs": {"latent_dim": 8, "resolution": 32, "channels": 3, "base_width": 4}},
        {"name": "DCGANDiscriminator", "kwargs": {"resolution": 32, "channels": 3, "base_width": 4, "norm": "none"}},
    ),
    DCGAN: (
        {"name": "DCGANGenerator", "kwargs": {"latent_dim": 8, "resolution": 32, "channels": 3, "base_width": 4}},
        {"name": "DCGANDiscriminator", "kwargs": {"resolution": 32, "channels": 3, "base_width": 4}},
    ),
    WGAN: (
        {"name": "DCGANGenerator", "kwargs": {"latent_dim": 8, "resolution": 32, "channels": 3, "base_width": 4}},
        {"name": "DCGANDiscriminator", "kwargs": {"resolution": 32, "channels": 3, "base_width": 4}},
    ),
    WGANGP: (
        {"name": "ResNetGenerator", "kwargs": {"latent_dim": 8, "channels": 3, "width": 8}},
        {"name": "ResNetDiscriminator", "kwargs": {"channels": 3, "width": 8, "spectral_norm": False}},
    ),
    SNGAN: (
        {"name": "ResNetGenerator", "kwargs": {"latent_dim": 8, "channels": 3, "width": 8}},
        {"name": "ResNetDiscriminator", "kwargs": {"channels": 3, "width": 8, "spectral_norm": True}},
    ),
    RaSGAN: (
        {"name": "SNGANCNNGenerator", "kwargs": {"latent_dim": 8, "channels": 3, "width": 16}},
        {"name": "SNGANCNNDiscriminator", "kwargs": {"channels": 3, "spectral_norm": False, "width": 8}},
    ),
}
VARIANT_CLASSES = list(SMALL_IMAGE_NETWORKS)


def loader(data, batch_size):
    return DataLoader(TensorDataset(data), batch_size=batch_size, shuffle=False, drop_last=True)


def toy_data(n=4096, seed=0):
    g = torch.Generator().manual_seed(seed)
    angles = torch.randint(0, 8, (n,), generator=g) * (2 * torch.pi / 8)
    return torch.stack([angles.cos(), angles.sin()], 1) + 0.01 * torch.randn(n, 2, generator=g)


def fit(model, data, batch_size, iterations, trainer_kwargs, **extra):
    model.hparams.max_generator_iterations = iterations
    trainer = L.Trainer(**trainer_kwargs, **extra)
    trainer.fit(model, loader(data, batch_size))
    return trainer


def flat_params(module):
    return torch.cat([p.detach().flatten().clone() for p in module.parameters()])


# Faster learning rates than the papers' (same optimizer, betas, loss and n_critic) so that 150
# generator iterations on a 2-D toy are enough to see which way each variant moves its generator.
TOY_LEARNING_RATES = {WGAN: 2e-3}


@pytest.mark.parametrize("variant", VARIANT_CLASSES, ids=lambda c: c.__name__)
def test_variant_moves_its_generator_to_the_data(variant, tiny_trainer_kwargs):
    """Each variant's own loss, optimizer and n_critic pull G's samples toward the data (a blob at
    (2, 2); the untrained G samples near the origin). A flipped loss sign pushes them away."""
    torch.manual_seed(0)
    lr = TOY_LEARNING_RATES.get(variant, 1e-3)
    model = variant(generator=TOY_G, discriminator=TOY_D, g_lr=lr, d_lr=lr, sample_every_n_iterations=0)
    target = torch.tensor([2.0, 2.0])
    data = target + 0.2 * torch.randn(4096, 2, generator=torch.Generator().manual_seed(0))
    distance = lambda: (model.generator.sample(512, seed=1).mean(0) - target).norm().item()  # noqa: E731
    before = distance()
    trainer = fit(model, data, 32, 150, tiny_trainer_kwargs)
    assert model.generator_iterations == 150
    # global_step counts every optimizer step: n_critic D steps + 1 G step per iteration.
    assert trainer.global_step == 150 * (model.hparams.n_critic + 1)
    assert model.discriminator_steps == 150 * model.hparams.n_critic
    assert distance() < 0.5 * before, f"{variant.__name__}: mean sample {before:.2f} -> {distance():.2f} from the data"


@pytest.mark.parametrize("variant", VARIANT_CLASSES, ids=lambda c: c.__name__)
def test_variant_trains_on_32x32_images(variant, tiny_trainer_kwargs):
    g_cfg, d_cfg = SMALL_IMAGE_NETWORKS[variant]
    model = variant(generator=g_cfg, discriminator=d_cfg, sample_every_n_iterations=0)
    images = torch.rand(64 * 8, 3, 32, 32) * 2 - 1
    before = flat_params(model.generator)
    trainer = fit(model, images, 8, 50, tiny_trainer_kwargs)
    assert model.generator_iterations == 50
    assert trainer.global_step == 50 * (model.hparams.n_critic + 1)
    assert not torch.equal(before, flat_params(model.generator))
    assert torch.isfinite(trainer.callback_metrics["d_loss"]) and torch.isfinite(trainer.callback_metrics["g_loss"])
    samples = model.sample(4, seed=0)
    assert samples.shape == (4, 3, 32, 32) and samples.abs().max() <= 1


def test_variant_presets_carry_paper_defaults():
    wgan = WGAN(generator=TOY_G, discriminator=TOY_D)
    assert (wgan.hparams.n_critic, wgan.hparams.clip_value, wgan.hparams.optimizer) == (5, 0.01, "rmsprop")
    assert wgan.hparams.d_lr == 5e-5
    gp = WGANGP(generator=TOY_G, discriminator=TOY_D)
    assert (gp.hparams.gp_weight, gp.hparams.n_critic, tuple(gp.hparams.d_betas)) == (10.0, 5, (0.0, 0.9))
    sn = SNGAN(generator=TOY_G, discriminator=TOY_D)
    assert (sn.hparams.loss, sn.hparams.n_critic, sn.hparams.d_lr) == ("hinge", 5, 2e-4)
    assert RaSGAN(generator=TOY_G, discriminator=TOY_D).loss.relativistic
    assert RaSGAN(generator=TOY_G, discriminator=TOY_D, loss="rahinge").hparams.loss == "rahinge"


def test_presets_are_data_with_a_real_signature():
    """paper_defaults become the preset's __init__ defaults (what LightningCLI shows and parses);
    arguments still override them, subclasses inherit them, and a misspelt key fails at class creation."""
    import inspect

    parameters = inspect.signature(WGAN).parameters
    assert (parameters["optimizer"].default, parameters["n_critic"].default, parameters["seed"].default) == ("rmsprop", 5, 0)
    assert WGAN(generator=TOY_G, discriminator=TOY_D, n_critic=2).hparams.n_critic == 2

    class MyWGAN(WGAN):
        pass

    assert MyWGAN(generator=TOY_G, discriminator=TOY_D).hparams.clip_value == 0.01
    with pytest.raises(TypeError, match="n_critc"):
        type("Typo", (GAN,), {"paper_defaults": {"n_critc": 3}})
    with pytest.raises(ValueError, match="choose one of rasgan, ralsgan, rahinge"):
        RaSGAN(generator=TOY_G, discriminator=TOY_D, loss="hinge")


def test_weight_clipping_bounds_critic(tiny_trainer_kwargs):
    model = WGAN(generator=TOY_G, discriminator=TOY_D, d_lr=0.05, sample_every_n_iterations=0)
    fit(model, toy_data(), 32, 5, tiny_trainer_kwargs)
    for p in model.discriminator.parameters():
        assert p.abs().max() <= 0.01 + 1e-7


def test_ema_tracks_generator_with_decay(tiny_trainer_kwargs):
    decay = 0.9
    model = GAN(generator=TOY_G, discriminator=TOY_D, ema_decay=decay, sample_every_n_iterations=0)
    snapshots = []

    class Record(L.Callback):
        def on_train_batch_end(self, trainer, pl_module, *args):
            snapshots.append(flat_params(pl_module.generator))

    fit(model, toy_data(), 32, 4, tiny_trainer_kwargs, callbacks=[Record()])
    expected = snapshots[0]  # the first update copies the weights
    for weights in snapshots[1:]:
        expected = decay * expected + (1 - decay) * weights
    ema = torch.cat([p.detach().flatten() for p in model.generator_ema.module.parameters()])
    torch.testing.assert_close(ema, expected, rtol=1e-5, atol=1e-6)
    assert not any(p.requires_grad for p in model.generator_ema.parameters())


def test_linear_lr_schedule_decays_to_zero(tiny_trainer_kwargs):
    model = GAN(generator=TOY_G, discriminator=TOY_D, lr_schedule="linear", g_lr=1e-3, d_lr=1e-3,
                sample_every_n_iterations=0, max_generator_iterations=10)
    trainer = fit(model, toy_data(), 32, 10, tiny_trainer_kwargs)
    for opt in trainer.optimizers:
        assert opt.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_sample_uses_ema_and_is_deterministic():
    model = GAN(generator=TOY_G, discriminator=TOY_D)
    with torch.no_grad():
        for p in model.generator_ema.module.parameters():
            p.add_(1.0)
    torch.testing.assert_close(model.sample(8, seed=3), model.sample(8, seed=3))
    assert not torch.allclose(model.sample(8, seed=3), model.sample(8, seed=3, ema=False))


def test_sample_grid_written(tiny_trainer_kwargs, tmp_path):
    g_cfg, d_cfg = SMALL_IMAGE_NETWORKS[DCGAN]
    model = DCGAN(generator=g_cfg, discriminator=d_cfg, sample_every_n_iterations=2, num_sample_images=4)
    fit(model, torch.rand(64, 3, 32, 32) * 2 - 1, 8, 2, tiny_trainer_kwargs)
    assert (tmp_path / "samples" / "iter_0000002.png").exists()


def test_checkpoint_round_trip_rebuilds_networks(tiny_trainer_kwargs, tmp_path):
    model = WGANGP(generator=TOY_G, discriminator=TOY_D, sample_every_n_iterations=0)
    trainer = fit(model, toy_data(), 32, 3, tiny_trainer_kwargs)
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    restored = WGANGP.load_from_checkpoint(path, weights_only=True)
    assert restored.generator_iterations == 3
    torch.testing.assert_close(restored.sample(5, seed=1), model.sample(5, seed=1))


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"n_critic": 0}, "n_critic=0"),
        ({"loss": "hingee"}, "hingee"),
        ({"g_lr": -1.0}, "g_lr=-1.0"),
        ({"optimizer": "adamw"}, "adamw"),
        ({"lr_schedule": "linear"}, "max_generator_iterations"),
        ({"clip_value": 0.0}, "clip_value"),
    ],
)
def test_bad_hyperparameters_are_named(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        GAN(generator=TOY_G, discriminator=TOY_D, **kwargs)


def test_unknown_variant_suggests_close_name():
    with pytest.raises(ValueError, match="wgan-gp"):
        get_variant("wgan_gp")


def test_wrong_image_shape_reaching_discriminator(tiny_trainer_kwargs):
    g_cfg, d_cfg = SMALL_IMAGE_NETWORKS[DCGAN]
    model = DCGAN(generator=g_cfg, discriminator=d_cfg, sample_every_n_iterations=0)
    with pytest.raises(ValueError, match=r"\(8, 1, 28, 28\)"):
        fit(model, torch.rand(64, 1, 28, 28), 8, 1, tiny_trainer_kwargs)


def test_bf16_mixed_with_gradient_penalty(tiny_trainer_kwargs):
    model = WGANGP(generator=TOY_G, discriminator=TOY_D, sample_every_n_iterations=0)
    trainer = fit(model, toy_data(), 32, 5, tiny_trainer_kwargs, precision="bf16-mixed")
    assert torch.isfinite(trainer.callback_metrics["gradient_penalty"])
    assert model.generator_iterations == 5


@pytest.mark.parametrize("noise", [dict(instance_noise_std=0.5, instance_noise_anneal=100),
                                   dict(loss_options={"label_noise": 0.3})], ids=["instance_noise", "label_noise"])
def test_noise_in_the_loop_ignores_the_global_rng(tiny_trainer_kwargs, noise):
    # The loop draws instance noise and label flips from its per-step seeded stream (like the
    # latents), so two runs with the same seed agree whatever else consumed the global RNG in between.
    results = []
    for global_seed in (1, 2):
        torch.manual_seed(0)
        model = DCGAN(generator=TOY_G, discriminator=TOY_D, sample_every_n_iterations=0, ema_decay=None, **noise)
        torch.manual_seed(global_seed)
        fit(model, toy_data(), 32, 5, tiny_trainer_kwargs)
        results.append(flat_params(model.discriminator))
    assert torch.equal(results[0], results[1])


def test_label_noise_flips_labels_in_the_loop(tiny_trainer_kwargs):
    # The per-step draws must actually reach the loss: with label noise D trains differently.
    results = []
    for options in (None, {"label_noise": 0.3}):
        torch.manual_seed(0)
        model = DCGAN(generator=TOY_G, discriminator=TOY_D, sample_every_n_iterations=0, ema_decay=None,
                      loss_options=options)
        fit(model, toy_data(), 32, 5, tiny_trainer_kwargs)
        results.append(flat_params(model.discriminator))
    assert not torch.equal(results[0], results[1])


def test_instance_noise_anneal_zero_never_anneals():
    model = DCGAN(generator=TOY_G, discriminator=TOY_D, instance_noise_std=0.3, instance_noise_anneal=0)
    assert [model.instance_noise.sigma(step) for step in (0, 1, 10_000)] == [0.3, 0.3, 0.3]
    annealed = DCGAN(generator=TOY_G, discriminator=TOY_D, instance_noise_std=0.3, instance_noise_anneal=10)
    assert annealed.instance_noise.sigma(5) == pytest.approx(0.15) and annealed.instance_noise.sigma(10) == 0.0


# ------------------------------------------------------------------------------ prediction step
def _hand_written_prediction_loop(model, data, batch_size, iterations, predicted):
    """The prediction method written out in plain torch, independently of the loop: each player
    predicted is extrapolated to theta + (theta - theta_before_its_last_move) while the OTHER
    player updates. Same latents (ganzoo.seeding streams), data order and optimizers as the loop."""
    from ganzoo.losses import get_loss
    from ganzoo.seeding import Stream, step_seed

    hp = model.hparams
    G, D = copy.deepcopy(model.generator), copy.deepcopy(model.discriminator)
    d_opt = torch.optim.Adam(D.parameters(), lr=hp.d_lr, betas=tuple(hp.d_betas))
    g_opt = torch.optim.Adam(G.parameters(), lr=hp.g_lr, betas=tuple(hp.g_betas))
    loss = get_loss(hp.loss)
    player = {"generator": G, "discriminator": D}[predicted]
    previous = [p.detach().clone() for p in player.parameters()]

    def latents(step, stream):
        return torch.randn(batch_size, G.latent_dim, generator=torch.Generator().manual_seed(step_seed(hp.seed, step, stream)))

    def extrapolated(network):
        predicted_net = copy.deepcopy(network)
        with torch.no_grad():
            for p, before in zip(predicted_net.parameters(), previous):
                p.copy_(2 * p - before)
        return predicted_net

    batches = iter(data.split(batch_size))
    d_steps = 0
    for _ in range(iterations):
        if predicted == "discriminator":
            previous = [p.detach().clone() for p in D.parameters()]
        for _ in range(hp.n_critic):
            real = next(batches)
            generator_used = extrapolated(G) if predicted == "generator" else G
            with torch.no_grad():
                fake = generator_used(latents(d_steps, Stream.D_LATENTS))
            d_loss = loss.discriminator(D(real), D(fake))
            d_opt.zero_grad()
            d_loss.backward()
            d_opt.step()
            d_steps += 1
        discriminator_used = extrapolated(D) if predicted == "discriminator" else D
        g_loss = loss.generator(None, discriminator_used(G(latents(d_steps, Stream.G_LATENTS))))
        g_opt.zero_grad()
        g_loss.backward()
        if predicted == "generator":
            previous = [p.detach().clone() for p in G.parameters()]
        g_opt.step()
    return G, D


@pytest.mark.parametrize("predicted", ["generator", "discriminator"])
def test_prediction_step_matches_an_independent_implementation(predicted, tiny_trainer_kwargs):
    torch.manual_seed(0)
    model = GAN(generator=TOY_G, discriminator=TOY_D, n_critic=2, ema_decay=None, sample_every_n_iterations=0,
                prediction=predicted)
    data = toy_data(n=256)
    G, D = _hand_written_prediction_loop(model, data, 16, 4, predicted)
    fit(model, data, 16, 4, tiny_trainer_kwargs)
    torch.testing.assert_close(flat_params(model.generator), flat_params(G), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(flat_params(model.discriminator), flat_params(D), rtol=1e-5, atol=1e-6)
    assert "prediction_previous" in model.state_dict()  # in every checkpoint: exact resume


def test_prediction_step_changes_training_and_leaves_the_ema_on_real_parameters(tiny_trainer_kwargs):
    results = {}
    for prediction in (False, True):
        torch.manual_seed(0)
        model = GAN(generator=TOY_G, discriminator=TOY_D, sample_every_n_iterations=0, prediction=prediction,
                    ema_decay=0.5)
        fit(model, toy_data(n=256), 16, 6, tiny_trainer_kwargs)
        results[prediction] = model
    assert not torch.equal(flat_params(results[False].discriminator), flat_params(results[True].discriminator))
    # The buffer holds G before its last step: G itself (and so its EMA) moved on with its real update.
    model = results[True]
    assert model.prediction_previous.shape == flat_params(model.generator).shape
    assert not torch.equal(model.prediction_previous, flat_params(model.generator))


class _PointGenerator(Generator):
    """Dirac-GAN generator: a single parameter theta, output theta whatever z (a view of it)."""

    def __init__(self, theta: float = 1.0) -> None:
        super().__init__(1, (1,))
        self.theta = torch.nn.Parameter(torch.tensor([theta]))
        self._record_config(locals())

    def forward(self, z):
        return self.theta.expand(z.shape[0], 1)


class _LinearCritic(Discriminator):
    """Dirac-GAN discriminator D(x) = psi * x."""

    def __init__(self, psi: float = 1.0) -> None:
        super().__init__((1,))
        self.psi = torch.nn.Parameter(torch.tensor([psi]))
        self._record_config(locals())

    def forward(self, x):
        return x.reshape(x.shape[0], -1) @ self.psi


@pytest.mark.parametrize("prediction", [True, "discriminator"])
def test_prediction_step_makes_the_dirac_gan_converge_where_alternating_updates_orbit(prediction, tiny_trainer_kwargs):
    # The bilinear game of the theory lab (ganzoo.theory.prediction), through the real training loop:
    # data at 0, G = theta, D(x) = psi x. Plain alternating updates circle the equilibrium (0, 0).
    distance = {}
    for setting in (False, prediction):
        model = GAN(generator=_PointGenerator(), discriminator=_LinearCritic(), prediction=setting, ema_decay=None,
                    optimizer="rmsprop", g_lr=0.05, d_lr=0.05, sample_every_n_iterations=0)
        fit(model, torch.zeros(1200, 1), 4, 300, tiny_trainer_kwargs)
        distance[setting] = math.hypot(model.generator.theta.item(), model.discriminator.psi.item())
    assert distance[False] > 0.1, distance
    assert distance[prediction] < 1e-6, distance


@pytest.mark.parametrize("networks, omp, expected", [
    ((TOY_G, TOY_D), None, True),  # small MLPs: one thread
    (tuple(SMALL_IMAGE_NETWORKS[DCGAN]), None, False),  # convolutions: left alone
    ((TOY_G, TOY_D), "2", False),  # the user chose
], ids=["mlp", "conv", "user-choice"])
def test_small_mlp_gans_train_on_one_cpu_thread(networks, omp, expected, monkeypatch):
    from ganzoo.devices import one_thread_for_small_mlps

    if omp is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", omp)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        model = GAN(generator=networks[0], discriminator=networks[1], sample_every_n_iterations=0)
        assert one_thread_for_small_mlps(model) is expected
        assert torch.get_num_threads() == (1 if expected else 2)
    finally:
        torch.set_num_threads(before)


def test_mode_seeking_weight_adds_the_term_to_the_generator_loss(tiny_trainer_kwargs):
    """One iteration with plain SGD, with and without the term, same seeds: the generator updates differ by
    exactly -lr * weight * grad(mode_seeking_term) on the step's latents (and the term is logged). A flipped
    sign, a missing weight or the term on the wrong batch fails it."""
    from ganzoo.regularizers import mode_seeking_term

    data = torch.randn(256, 2, generator=torch.Generator().manual_seed(0))
    lr, weight = 0.01, 3.0

    def one_iteration(mode_seeking_weight: float):
        torch.manual_seed(0)
        model = VanillaGAN(generator=TOY_G, discriminator=TOY_D, optimizer="sgd", g_lr=lr, d_lr=lr,
                           mode_seeking_weight=mode_seeking_weight, sample_every_n_iterations=0, ema_decay=None)
        start = copy.deepcopy(model.generator)
        latents = []
        generate = model.generate
        model.generate = lambda z: (latents.append(z.detach().clone()), generate(z))[1]
        trainer = fit(model, data, 32, 1, tiny_trainer_kwargs, log_every_n_steps=1)
        return start, latents[-1], flat_params(model.generator), trainer.callback_metrics

    start, latents, with_term, metrics = one_iteration(weight)
    _, same_latents, without_term, plain_metrics = one_iteration(0.0)
    assert torch.equal(latents, same_latents)
    assert "mode_seeking" in metrics and "mode_seeking" not in plain_metrics
    gradient = torch.autograd.grad(mode_seeking_term(start(latents), latents), list(start.parameters()))
    expected = -lr * weight * torch.cat([g.flatten() for g in gradient])
    assert expected.abs().max() > 1e-4  # the term moves the weights measurably
    torch.testing.assert_close(with_term - without_term, expected, rtol=1e-4, atol=1e-6)


def test_mode_seeking_weight_must_not_be_negative():
    with pytest.raises(ValueError, match="mode_seeking_weight"):
        VanillaGAN(generator=TOY_G, discriminator=TOY_D, mode_seeking_weight=-1.0)
