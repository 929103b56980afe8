"""Fine-tuning a pretrained zoo model on new data (``recipes/finetune/``).

``FineTuneFrom`` is a callback so any variant can be fine-tuned from any recipe: at
``setup`` it copies a pretrained full GAN (G, EMA G, D; a zoo name or a folder written by
``ganzoo publish`` / ``ganzoo.save``) into the module being trained, strictly, then

* optionally freezes the first ``freeze_discriminator_layers`` conv/linear layers of D
  (FreezeD, Mo et al. 2020: keep the low-level features, adapt the top), and
* optionally restarts the generator's EMA from the loaded weights, so the average does
  not carry the old data set's history into the new one.

Resuming a fine-tuning run with ``--ckpt_path`` restores the checkpoint after this hook,
so a resumed run continues from its own weights, not from the pretrained ones.
"""
from __future__ import annotations

import lightning as L
from torch import nn

from ganzoo.zoo import load_gan
from ganzoo.zoo.serialization import load_state_strictly


class FineTuneFrom(L.Callback):
    def __init__(self, model: str, freeze_discriminator_layers: int = 0, reset_ema: bool = True) -> None:
        if freeze_discriminator_layers < 0:
            raise ValueError(f"freeze_discriminator_layers={freeze_discriminator_layers}: must be >= 0")
        self.model = model
        self.freeze_discriminator_layers = freeze_discriminator_layers
        self.reset_ema = reset_ema

    def setup(self, trainer, pl_module, stage: str) -> None:
        if stage != "fit":
            return
        pretrained = load_gan(self.model)
        _check_same_architecture(pretrained, pl_module, self.model)
        pl_module.continue_stage_of(pretrained)  # ProGAN: stay grown; others: nothing
        load_state_strictly(pl_module.generator, pretrained.generator.state_dict(), f"{self.model} [generator]")
        load_state_strictly(pl_module.discriminator, pretrained.discriminator.state_dict(),
                            f"{self.model} [discriminator]")
        if pl_module.generator_ema is not None:
            source = pretrained.sampling_generator
            load_state_strictly(pl_module.generator_ema.module, source.state_dict(), f"{self.model} [generator_ema]")
            # The module is fresh, so n_averaged is 0 and the next update would copy G over the
            # loaded average. reset_ema wants exactly that (averaging restarts from the fine-tuned
            # G); otherwise n_averaged = 1 makes the next update average into the loaded EMA.
            pl_module.generator_ema.n_averaged.fill_(0 if self.reset_ema else 1)
        frozen = freeze_first_layers(pl_module.discriminator, self.freeze_discriminator_layers)
        print(f"fine-tuning from {self.model}: loaded G, D and EMA; froze {frozen} discriminator layers")


def freeze_first_layers(network: nn.Module, count: int) -> int:
    """Stop gradients into the first ``count`` conv/linear layers (in forward order). Returns how many."""
    layers = [m for m in network.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    if count > len(layers):
        raise ValueError(f"cannot freeze {count} layers: the discriminator has only {len(layers)} conv/linear layers")
    for layer in layers[:count]:
        layer.requires_grad_(False)
    return count


def _check_same_architecture(pretrained, module, name: str) -> None:
    for role in ("generator", "discriminator"):
        ours, theirs = getattr(module, role).config, getattr(pretrained, role).config
        if ours != theirs:
            raise ValueError(
                f"{name}'s {role} is {theirs['name']}({theirs['kwargs']}) but the recipe builds "
                f"{ours['name']}({ours['kwargs']}); make the recipe's networks match the pretrained model"
            )
