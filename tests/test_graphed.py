"""The CUDA-graphed iteration (ganzoo/gans/graphed.py) makes the Lightning loop's updates.

On the CPU the iteration runs eagerly: the same code a GPU captures. Each test trains two copies of one model
for two iterations on the same real batches, one with ``ganzoo``'s Lightning loop and one with
``GraphedIteration`` fed the latents (and WGAN-GP coefficients) the loop drew, and compares every weight, the
EMA and the counters. A flipped loss, a missing penalty, clip, EMA or schedule step fails it.
"""
import copy

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from ganzoo.gans import SNGAN, WGAN, WGANGP, RaSGAN
from ganzoo.gans.graphed import GraphedIteration, unsupported_options

BATCH, ITERATIONS = 4, 2
RESNET_G = {"name": "ResNetGenerator", "kwargs": {"latent_dim": 8, "channels": 3, "width": 8}}
RESNET_D = {"name": "ResNetDiscriminator", "kwargs": {"channels": 3, "width": 8, "spectral_norm": True}}
DCGAN_G = {"name": "DCGANGenerator", "kwargs": {"latent_dim": 8, "resolution": 32, "channels": 3, "base_width": 4}}
DCGAN_D = {"name": "DCGANDiscriminator", "kwargs": {"resolution": 32, "channels": 3, "base_width": 4}}
CNN_G = {"name": "SNGANCNNGenerator", "kwargs": {"latent_dim": 8, "channels": 3, "width": 16}}
CNN_D = {"name": "SNGANCNNDiscriminator", "kwargs": {"channels": 3, "spectral_norm": False, "width": 8}}

CASES = {
    # BatchNorm in G (EMA of buffers), spectral norm in D, hinge, n_critic 2, linear learning-rate decay
    "sngan-resnet-linear": lambda: SNGAN(generator=RESNET_G, discriminator=RESNET_D, n_critic=2, lr_schedule="linear",
                                   max_generator_iterations=ITERATIONS),
    "wgan-gp": lambda: WGANGP(generator=DCGAN_G, discriminator={**DCGAN_D, "kwargs": {**DCGAN_D["kwargs"],
                                                                                      "norm": "none"}}),
    "wgan-clip-rmsprop": lambda: WGAN(generator=DCGAN_G, discriminator=DCGAN_D, n_critic=2, d_lr=1e-3, g_lr=1e-3),
    "rasgan-relativistic": lambda: RaSGAN(generator=CNN_G, discriminator=CNN_D),
}



def _train_with_lightning(model, reals, trainer_kwargs):
    """ITERATIONS of the Lightning loop; returns the latents and WGAN-GP coefficients it drew, in order."""
    latents, coefficients = [], []
    generate, uniform = model.generate, model._uniform
    model.generate = lambda z: (latents.append(z.detach().clone()), generate(z))[1]
    model._uniform = lambda *args: (coefficients.append(uniform(*args).clone()), coefficients[-1])[1]
    model.hparams.max_generator_iterations = ITERATIONS
    loader = DataLoader(TensorDataset(reals), batch_size=BATCH, shuffle=False, drop_last=True)
    L.Trainer(**trainer_kwargs).fit(model, loader)
    return latents, coefficients


def _train_graphed(model, reals, latents, coefficients):
    n_critic = model.hparams.n_critic
    graphed = GraphedIteration(model, BATCH, max_generator_iterations=ITERATIONS)
    batches = reals.view(ITERATIONS, n_critic, BATCH, *reals.shape[1:])
    for i in range(ITERATIONS):
        drawn = latents[i * (n_critic + 1):(i + 1) * (n_critic + 1)]

        def given_draws_then_update():  # in place of iteration(), which draws its own
            graphed.d_latents.copy_(torch.stack(drawn[:n_critic]))
            graphed.g_latents.copy_(drawn[n_critic])
            if coefficients:
                graphed.mix.copy_(torch.stack(coefficients[i * n_critic:(i + 1) * n_critic]))
            graphed.update()

        graphed.iteration = given_draws_then_update
        graphed.step(batches[i])
    return graphed


def _state(model):
    return {name: tensor for name, tensor in model.state_dict().items() if not name.startswith("sample_latents")}


@pytest.mark.parametrize("case", CASES)
def test_graphed_iteration_makes_the_lightning_loops_updates(case, tiny_trainer_kwargs):
    torch.manual_seed(0)
    model = CASES[case]()
    model.hparams.channels_last = False  # the same memory order on both sides: equal up to float rounding only
    model.hparams.sample_every_n_iterations = 0
    graphed_model = copy.deepcopy(model)
    initial = {name: tensor.clone() for name, tensor in _state(model).items()}
    n_critic = model.hparams.n_critic
    reals = torch.rand(ITERATIONS * n_critic * BATCH, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1

    latents, coefficients = _train_with_lightning(model, reals, tiny_trainer_kwargs)
    assert len(latents) == ITERATIONS * (n_critic + 1)
    graphed = _train_graphed(graphed_model, reals, latents, coefficients)

    expected, got = _state(model), _state(graphed_model)
    assert expected.keys() == got.keys()
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], rtol=1e-4, atol=1e-6, msg=lambda m: f"{name}: {m}")
    moved = [name for name in expected if name.startswith(("generator.", "discriminator."))
             and expected[name].is_floating_point() and not torch.equal(expected[name], initial[name])]
    assert moved, "the iterations moved no weight: the comparison would prove nothing"
    assert graphed_model.generator_iterations == ITERATIONS
    assert graphed_model.discriminator_steps == ITERATIONS * n_critic
    assert set(graphed.losses()) == {"d_loss", "g_loss"}


def test_graphed_iteration_refuses_what_it_cannot_capture():
    model = SNGAN(generator=RESNET_G, discriminator=RESNET_D, augment="translation")
    assert unsupported_options(model) == ["augment='translation'"]
    with pytest.raises(ValueError, match="augment='translation'.*ganzoo fit"):
        GraphedIteration(model, BATCH)


def _train_graphed_script():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "gpu" / "train_graphed.py"
    spec = importlib.util.spec_from_file_location("train_graphed", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("recipe", ["sngan_cifar10", "sngan_cifar10_cpu", "wgan_gp_cifar10", "vanilla_cifar10"])
def test_the_gpu_script_builds_its_recipes_as_graphable_models(recipe):
    from pathlib import Path

    script = _train_graphed_script()
    gan, data, bf16, seed = script.build_from_recipe(Path(__file__).resolve().parents[1] / "recipes" / f"{recipe}.yaml")
    assert unsupported_options(gan) == [] and bf16 and seed == 0
    assert data.in_memory and data.hparams.batch_size == 64
    GraphedIteration(gan, data.hparams.batch_size)  # the optimizers and buffers build on the CPU too


def test_gpu_resident_batches_scale_like_the_datamodule_and_reshuffle_each_epoch():
    script = _train_graphed_script()
    images = torch.arange(10 * 3 * 2 * 2, dtype=torch.int64).remainder(256).to(torch.uint8).view(10, 3, 2, 2)
    batches = script.GPUResidentBatches(images, n_critic=2, batch_size=2, device=torch.device("cpu"))
    torch.manual_seed(0)
    seen = torch.cat([batches.next().flatten(0, 1) for _ in range(2)])  # 8 of the 10 images, then a new epoch
    assert seen.shape == (8, 3, 2, 2)
    expected = images.float() / 127.5 - 1
    assert all(any(torch.equal(image, real) for real in expected) for image in seen)
    assert len({tuple(image.flatten().tolist()) for image in seen}) == 8  # no image twice within an epoch
    batches.next()  # 2 left < 4 per iteration: a new permutation (drop_last)
    assert batches.position == 4
