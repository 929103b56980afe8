"""The fast paths compute what the plain path computes (the harness's own tests: benchmarks/test_harness.py).

* channels_last gives the plain path's losses, gradients and trained weights up to float rounding.
* ``GAN.training_only`` freezes exactly what Lightning's ``toggled_optimizer`` freezes.
* plain ``loss.backward()`` / ``optimizer.step()`` (when no hook listens) train exactly as Lightning's
  hook dispatch does, with the same step count;
* fused Adam makes the foreach update; the cached latent generator draws the same latents as a
  fresh one per step; compile skips D when a gradient penalty needs double backward.
"""
import sys
from pathlib import Path

import lightning as L
import pytest
import torch

import ganzoo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the benchmarks/ package lives at the repo root

from benchmarks.specs import TINY_DCGAN, TINY_WGAN_GP  # noqa: E402
from benchmarks.training import StepSettings, make_loader, random_images, run_ganzoo  # noqa: E402
from ganzoo.callbacks import DivergenceGuard  # noqa: E402
from ganzoo.gans import DCGAN, WGANGP  # noqa: E402
from ganzoo.gans.base import _make_optimizer  # noqa: E402
from ganzoo.seeding import Stream, step_seed  # noqa: E402

CPU = torch.device("cpu")


def _first_step_gradients(model_cls, spec, channels_last):
    """Losses and D / G gradients of one D+G update with the module's own step methods."""
    torch.manual_seed(0)
    module = model_cls(generator=spec.generator, discriminator=spec.discriminator, sample_every_n_iterations=0)
    real = random_images(spec)[: spec.batch_size]
    if channels_last:
        module.to(memory_format=torch.channels_last)
        real = real.contiguous(memory_format=torch.channels_last)
    d_real = module.discriminator(real)
    fake = module.generator(module._latents(spec.batch_size, stream=0))
    d_loss = module.loss.discriminator(d_real, module.discriminator(fake.detach()))
    if module.hparams.gp_weight > 0:
        from ganzoo.regularizers import gradient_penalty

        d_loss = d_loss + module.hparams.gp_weight * gradient_penalty(
            module.discriminator, real, fake, alpha=module._uniform(spec.batch_size, stream=1))
    g_loss = module.loss.generator(None, module.discriminator(fake))
    d_grads = torch.autograd.grad(d_loss, list(module.discriminator.parameters()))
    g_grads = torch.autograd.grad(g_loss, list(module.generator.parameters()))
    return d_loss, g_loss, d_grads, g_grads


@pytest.mark.parametrize("model_cls, spec", [(DCGAN, TINY_DCGAN), (WGANGP, TINY_WGAN_GP)], ids=["dcgan", "wgan-gp"])
def test_channels_last_gives_the_same_losses_and_gradients(model_cls, spec):
    plain = _first_step_gradients(model_cls, spec, channels_last=False)
    fast = _first_step_gradients(model_cls, spec, channels_last=True)
    torch.testing.assert_close(fast[0], plain[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(fast[1], plain[1], rtol=1e-5, atol=1e-6)
    for fast_grads, plain_grads in ((fast[2], plain[2]), (fast[3], plain[3])):
        # Summation order differs between memory formats: absolute tolerance relative to the scale of
        # the network's gradients (some, like biases before BatchNorm, are zero up to rounding).
        scale = max(float(b.abs().max()) for b in plain_grads)
        for a, b in zip(fast_grads, plain_grads):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4 * scale)


@pytest.mark.parametrize("spec", [TINY_DCGAN, TINY_WGAN_GP], ids=lambda s: s.name)
def test_channels_last_training_matches_plain_training(spec):
    images = random_images(spec)
    plain = run_ganzoo(spec, images, CPU, StepSettings(channels_last=False), warmup=1, measured=2)
    fast = run_ganzoo(spec, images, CPU, StepSettings(channels_last=True), warmup=1, measured=2)
    conv_weights = [p for p in fast.discriminator.parameters() if p.ndim == 4]
    assert conv_weights and all(p.is_contiguous(memory_format=torch.channels_last) for p in conv_weights)
    # The critics have no parameter with a zero gradient: their weights must agree.
    for name, tensor in plain.discriminator.state_dict().items():
        torch.testing.assert_close(fast.discriminator.state_dict()[name], tensor, rtol=1e-3, atol=1e-5, msg=name)
    # Generators: compare what they compute. A conv bias feeding BatchNorm has a gradient that is
    # zero up to rounding, and Adam turns that rounding noise into lr-sized steps of either sign; the
    # next BatchNorm removes the bias again, so outputs agree although such weights do not.
    z = torch.randn(16, spec.generator["kwargs"]["latent_dim"], generator=torch.Generator().manual_seed(5))
    for role in ("generator", "generator_ema"):
        with torch.no_grad():
            fast_out, plain_out = getattr(fast, role).train()(z), getattr(plain, role).train()(z)
        torch.testing.assert_close(fast_out, plain_out, rtol=1e-3, atol=1e-4, msg=role)


@pytest.mark.parametrize("choice", [None, False])
def test_channels_last_default_follows_the_device(choice, tiny_trainer_kwargs, tmp_path):
    torch.manual_seed(0)
    module = DCGAN(generator=TINY_DCGAN.generator, discriminator=TINY_DCGAN.discriminator, max_generator_iterations=2,
                   sample_every_n_iterations=0, channels_last=choice)
    data = torch.utils.data.DataLoader(random_images(TINY_DCGAN), batch_size=8)
    L.Trainer(**tiny_trainer_kwargs).fit(module, data)
    expected = choice is None and torch.backends.mkldnn.is_available()  # None: on where oneDNN runs the convs
    conv_weights = [p for p in module.parameters() if p.ndim == 4]
    assert all(p.is_contiguous(memory_format=torch.channels_last) is expected for p in conv_weights)
    # Published weights are written contiguous and load back to the same generator.
    ganzoo.save(module, tmp_path / "export")
    loaded = ganzoo.load(str(tmp_path / "export"))
    z = torch.randn(4, 8)
    with torch.no_grad():
        torch.testing.assert_close(loaded(z), module.sampling_generator.eval()(z), rtol=1e-5, atol=1e-6)


class _CompareWithLightningToggle(L.Callback):
    """At one batch, compare ``training_only`` with Lightning's ``toggled_optimizer`` for both optimizers."""

    def __init__(self):
        self.checked = 0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        params = list(pl_module.generator.parameters()) + list(pl_module.discriminator.parameters())
        user_frozen = next(pl_module.discriminator.parameters())
        user_frozen.requires_grad_(False)  # a user's own freeze must survive both
        before = [p.requires_grad for p in params]
        for optimizer in pl_module.optimizers():
            with pl_module.toggled_optimizer(optimizer):
                reference = [p.requires_grad for p in params]
            with pl_module.training_only(optimizer):
                ours = [p.requires_grad for p in params]
            assert ours == reference
            assert [p.requires_grad for p in params] == before
            self.checked += 1
        user_frozen.requires_grad_(True)


def test_training_only_freezes_what_lightnings_toggle_freezes(tiny_trainer_kwargs):
    torch.manual_seed(0)
    module = DCGAN(generator=TINY_DCGAN.generator, discriminator=TINY_DCGAN.discriminator, max_generator_iterations=1,
                   sample_every_n_iterations=0)
    check = _CompareWithLightningToggle()
    data = torch.utils.data.DataLoader(random_images(TINY_DCGAN), batch_size=8)
    L.Trainer(**tiny_trainer_kwargs, callbacks=[check]).fit(module, data)
    assert check.checked == 2


def test_fused_adam_makes_the_foreach_update():
    torch.manual_seed(0)
    weights = [torch.randn(16, 8, 3, 3), torch.randn(16)]
    grads = [[torch.randn_like(w) for w in weights] for _ in range(3)]
    results = []
    for fused in (False, True):
        params = [torch.nn.Parameter(w.clone()) for w in weights]
        optimizer = _make_optimizer("adam", params, 2e-4, (0.5, 0.999), fused=fused)
        assert optimizer.defaults["fused"] is (True if fused else None)
        for step in grads:
            for p, g in zip(params, step):
                p.grad = g.clone()
            optimizer.step()
        results.append(params)
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def _graph_capture_check_ran(*args, **kwargs):
    raise LookupError("the CUDA graph-capture check ran (it asks which accelerator is available)")


@pytest.mark.parametrize("name, torch_cls, kwargs", [
    ("adam", torch.optim.Adam, {"betas": (0.5, 0.999), "foreach": True}),
    ("rmsprop", torch.optim.RMSprop, {"foreach": True}),
])
def test_optimizers_skip_only_the_cuda_graph_check_on_cpu(monkeypatch, name, torch_cls, kwargs):
    torch.manual_seed(0)
    weights = [torch.randn(16, 8, 3, 3), torch.randn(16)]
    grads = [[torch.randn_like(w) for w in weights] for _ in range(3)]
    ours_params = [torch.nn.Parameter(w.clone()) for w in weights]
    torch_params = [torch.nn.Parameter(w.clone()) for w in weights]
    ours = _make_optimizer(name, ours_params, 2e-4, kwargs.get("betas", (0.5, 0.999)))
    reference = torch_cls(torch_params, lr=2e-4, **kwargs)
    assert isinstance(ours, torch_cls)
    for step in grads:
        for p, q, g in zip(ours_params, torch_params, step):
            p.grad, q.grad = g.clone(), g.clone()
        reference.step()
        with monkeypatch.context() as patch:
            patch.setattr(torch.accelerator, "current_accelerator", _graph_capture_check_ran)
            ours.step()  # would raise if the check ran
    for a, b in zip(ours_params, torch_params):
        assert torch.equal(a, b)
    # Parameters elsewhere (here: the meta device) still get torch's check.
    elsewhere = _make_optimizer(name, [torch.nn.Parameter(torch.empty(3, device="meta"))], 2e-4, (0.5, 0.999))
    monkeypatch.setattr(torch.accelerator, "current_accelerator", _graph_capture_check_ran)
    with pytest.raises(LookupError, match="graph-capture check ran"):
        elsewhere._accelerator_graph_capture_health_check()


def test_step_seed_formula_and_stream_names():
    assert step_seed(3, 7, Stream.G_LATENTS) == ((3 * 1_000_003 + 7) * 8 + 2) % (2**63)
    assert len({step_seed(0, 5, stream) for stream in Stream}) == len(Stream) == 8  # no two streams collide
    with pytest.raises(ValueError, match="stream"):
        step_seed(0, 0, 8)


def test_cached_latent_generator_draws_the_per_step_seeded_latents():
    torch.manual_seed(0)
    module = DCGAN(generator=TINY_DCGAN.generator, discriminator=TINY_DCGAN.discriminator, seed=3)
    for step in (0, 1, 7):
        module._discriminator_steps = step
        for stream in (Stream.D_LATENTS, Stream.G_LATENTS):
            fresh = torch.Generator().manual_seed(step_seed(3, step, stream))
            expected = torch.randn(5, 8, generator=fresh)
            assert torch.equal(module._latents(5, stream=stream), expected)


@pytest.mark.parametrize("gp_weight, d_compiled", [(0.0, True), (10.0, False)])
def test_compile_skips_the_discriminator_under_a_gradient_penalty(gp_weight, d_compiled):
    # nn.Module.compile is lazy: nothing compiles until the first forward, so this is cheap.
    module = WGANGP(generator=TINY_WGAN_GP.generator, discriminator=TINY_WGAN_GP.discriminator, gp_weight=gp_weight,
                    compile_networks=True)
    module.configure_model()
    assert module.generator._compiled_call_impl is not None
    assert (module.discriminator._compiled_call_impl is not None) is d_compiled


class _StepListener(L.Callback):
    """Counts the per-optimizer-step hooks Lightning calls (its presence forces the dispatching path)."""

    def __init__(self) -> None:
        self.backwards = self.steps = 0

    def on_before_backward(self, trainer, pl_module, loss) -> None:
        self.backwards += 1

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        self.steps += 1


def _fit_tiny_wgan_gp(trainer_kwargs, callbacks, iterations=3):
    torch.manual_seed(0)
    spec = TINY_WGAN_GP
    module = WGANGP(generator=spec.generator, discriminator=spec.discriminator, max_generator_iterations=iterations,
                    sample_every_n_iterations=0, seed=0)
    trainer = L.Trainer(**trainer_kwargs, callbacks=callbacks)
    trainer.fit(module, train_dataloaders=make_loader(random_images(spec), spec.batch_size, CPU, seed=0))
    return module, trainer


def test_plain_optimizer_steps_train_exactly_as_lightnings_hook_dispatch(tiny_trainer_kwargs):
    plain, plain_trainer = _fit_tiny_wgan_gp(tiny_trainer_kwargs, [DivergenceGuard()])  # no gradient-norm limit: needs no step hook
    listener = _StepListener()
    dispatched, dispatched_trainer = _fit_tiny_wgan_gp(tiny_trainer_kwargs, [listener])
    assert plain._plain_steps and not dispatched._plain_steps
    optimizer_steps = 3 * (plain.hparams.n_critic + 1)
    assert listener.backwards == listener.steps == optimizer_steps  # the hooks still run where they are wanted
    assert plain_trainer.global_step == dispatched_trainer.global_step == optimizer_steps
    for name, tensor in dispatched.state_dict().items():
        assert torch.equal(plain.state_dict()[name], tensor), name
    for a, b in zip(plain_trainer.optimizers, dispatched_trainer.optimizers):
        for state_a, state_b in zip(a.state.values(), b.state.values()):
            assert all(torch.equal(state_a[key], state_b[key]) for key in state_b)


def test_a_gradient_norm_limit_keeps_lightnings_step_hooks(tiny_trainer_kwargs):
    module, _ = _fit_tiny_wgan_gp(tiny_trainer_kwargs, [DivergenceGuard(max_grad_norm=1e6)], iterations=1)
    assert not module._plain_steps
