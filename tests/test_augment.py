"""DiffAugment (ganzoo.augment) against its definitions, and its place in the training loop."""
import pytest
import torch

from conftest import TOY_D, TOY_G
from ganzoo.augment import augment, parse_policy, uniforms_needed
from ganzoo.gans import DCGAN, SNGAN
from ganzoo.seeding import Stream
from test_gans import SMALL_IMAGE_NETWORKS, fit, flat_params


def _images(n=2, channels=3, size=8):
    return torch.arange(n * channels * size * size, dtype=torch.float32).reshape(n, channels, size, size) + 1


def _uniform_for(integer, low, high):
    """The uniform in [0, 1) that _integers maps to ``integer`` in [low, high]."""
    return (integer - low + 0.5) / (high - low + 1)


@pytest.mark.parametrize("shift_y, shift_x", [(1, 0), (0, -1), (-1, 1), (0, 0)])
def test_translation_shifts_with_zero_fill(shift_y, shift_x):
    x = _images(n=1, size=8)  # shifts of up to 8 * 0.125 = 1 pixel
    u = torch.tensor([[_uniform_for(shift_y, -1, 1), _uniform_for(shift_x, -1, 1)]])
    expected = torch.zeros_like(x)
    for i in range(8):
        for j in range(8):
            if 0 <= i - shift_y < 8 and 0 <= j - shift_x < 8:
                expected[..., i, j] = x[..., i - shift_y, j - shift_x]
    assert torch.equal(augment(x, ("translation",), u), expected)


def test_translation_reaches_its_largest_shift_at_the_ends():
    x = _images(n=2, size=16)  # up to 2 pixels
    moved = augment(x, ("translation",), torch.tensor([[0.0, 0.0], [0.9999, 0.9999]]))
    assert torch.equal(moved[0, :, :14, :14], x[0, :, 2:, 2:]) and moved[0, :, 14:].abs().sum() == 0
    assert torch.equal(moved[1, :, 2:, 2:], x[1, :, :14, :14]) and moved[1, :, :2].abs().sum() == 0


def test_cutout_zeroes_a_half_size_square_clipped_at_the_border():
    x = _images(n=2, size=8)  # a 4x4 square; centres in [0, 8] (the paper's range for even sizes)
    u = torch.tensor([[_uniform_for(4, 0, 8), _uniform_for(3, 0, 8)],
                      [_uniform_for(0, 0, 8), _uniform_for(7, 0, 8)]])
    out = augment(x, ("cutout",), u)
    inside = torch.zeros(2, 1, 8, 8, dtype=torch.bool)
    inside[0, :, 2:6, 1:5] = True  # centre (4, 3): rows 2-5, columns 1-4
    inside[1, :, 0:2, 5:8] = True  # centre (0, 7): clipped to rows 0-1, columns 5-7
    assert torch.equal(out, torch.where(inside, torch.zeros_like(x), x))


def test_color_follows_the_papers_three_formulas():
    x = torch.randn(2, 3, 4, 4)
    u = torch.tensor([[0.1, 0.7, 0.2], [0.9, 0.3, 0.6]])
    b, s, c = (u[:, i].view(2, 1, 1, 1) for i in range(3))
    y = x + (b - 0.5)
    y = (y - y.mean(1, keepdim=True)) * 2 * s + y.mean(1, keepdim=True)
    y = (y - y.mean((1, 2, 3), keepdim=True)) * (c + 0.5) + y.mean((1, 2, 3), keepdim=True)
    torch.testing.assert_close(augment(x, ("color",), u), y)


def test_augmentations_are_differentiable_and_compose_in_order():
    x = _images(n=2, size=8).requires_grad_(True)
    names = parse_policy("translation,cutout")
    u = torch.rand(2, uniforms_needed(names), generator=torch.Generator().manual_seed(0))
    out = augment(x, names, u)
    expected = augment(augment(x, ("translation",), u[:, :2]), ("cutout",), u[:, 2:])
    assert torch.equal(out, expected)
    out.sum().backward()
    # Each kept output pixel passes its input pixel's gradient (1) back; dropped ones pass nothing.
    assert x.grad.sum() == (out != 0).sum()
    assert set(x.grad.unique().tolist()) <= {0.0, 1.0}


def test_policy_names_are_checked():
    assert parse_policy(None) == () and parse_policy("") == ()
    assert parse_policy("color, cutout") == ("color", "cutout")
    assert uniforms_needed(("color", "translation", "cutout")) == 7
    with pytest.raises(ValueError, match="unknown augmentation 'flip'"):
        parse_policy("translation,flip")
    with pytest.raises(ValueError, match="named twice"):
        parse_policy("cutout,cutout")
    with pytest.raises(ValueError, match="unknown augmentation"):
        DCGAN(generator=TOY_G, discriminator=TOY_D, augment="rotate")
    with pytest.raises(ValueError, match=r"this generator makes samples of shape \(2,\)"):
        DCGAN(generator=TOY_G, discriminator=TOY_D, augment="cutout")
    with pytest.raises(ValueError, match="uniforms of shape"):
        augment(_images(), ("color",), torch.rand(2, 2))


def test_the_discriminator_sees_augmented_images_from_the_step_stream(tiny_trainer_kwargs):
    g_cfg, d_cfg = SMALL_IMAGE_NETWORKS[SNGAN]
    model = SNGAN(generator=g_cfg, discriminator=d_cfg, sample_every_n_iterations=0, ema_decay=None,
                  n_critic=1, augment="cutout")
    seen = []
    model.discriminator.register_forward_pre_hook(lambda module, args: seen.append(args[0].detach().clone()))
    # No zero pixels in what D is shown, so cutout's zeros are the only ones: reals in [0.5, 1.5), and
    # fakes moved off zero (a tiny generator's tanh gives an exact 0 wherever its last conv sees only ReLU zeros).
    images = torch.rand(64, 3, 32, 32) + 0.5
    model.generator.register_forward_hook(lambda module, args, output: output + 3.0)
    fit(model, images, 8, 1, tiny_trainer_kwargs)
    # D update: real, fake; G update: fake. Each loses at most a quarter of its pixels (a 16x16 square).
    assert len(seen) == 3
    assert all(batch[batch != 0].min() > 0.4 for batch in seen)  # the shift reached the fakes
    for batch in seen:
        zero_fraction = (batch == 0).float().mean(dim=(1, 2, 3))
        assert (zero_fraction > 0).all() and (zero_fraction <= 0.25).all()
    # Redrawing the first step's stream gives the same squares (reproducible after a resume, the
    # same for every process count), and the real and fake streams differ.
    model._discriminator_steps = 0
    mask_real = model._augmented(torch.ones(8, 3, 32, 32), Stream.D_NOISE_REAL) == 0
    mask_fake = model._augmented(torch.ones(8, 3, 32, 32), Stream.D_NOISE_FAKE) == 0
    assert torch.equal(mask_real, seen[0] == 0) and not torch.equal(mask_real, mask_fake)


def test_augmentation_changes_training_and_is_reproducible(tiny_trainer_kwargs):
    g_cfg, d_cfg = SMALL_IMAGE_NETWORKS[DCGAN]
    images = torch.rand(64, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    results = []
    for policy in (None, "color,translation,cutout", "color,translation,cutout"):
        torch.manual_seed(0)
        model = DCGAN(generator=g_cfg, discriminator=d_cfg, sample_every_n_iterations=0, ema_decay=None,
                      augment=policy)
        torch.manual_seed(len(results))  # the global RNG must not matter
        fit(model, images, 8, 2, tiny_trainer_kwargs)
        results.append(flat_params(model.generator))
    assert not torch.equal(results[0], results[1])
    assert torch.equal(results[1], results[2])
