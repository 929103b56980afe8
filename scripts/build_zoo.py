#!/usr/bin/env python3
"""Measure the bundled models and (re)write the registry and their model cards from the results.

    python scripts/build_zoo.py            # measure (CPU is fine), write registry.json + model_cards/
    python scripts/build_zoo.py --reuse    # re-render from the last measurements (model_cards/metrics.json)
    python scripts/build_zoo.py --reuse --inception NAME...   # add/refresh these models' Inception numbers

Every number in ganzoo/zoo/registry.json and model_cards/*.md comes from here: sha256 of the
bundled file, parameter counts, training length read from the run's metrics.csv, and metrics
measured under the protocol printed beside them.
"""
from __future__ import annotations

import argparse
import csv
import functools
import json
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))  # bundle_run's training-log readers

from ganzoo.zoo.cards import render_model_card  # noqa: E402
from ganzoo.zoo.registry import BUNDLED_DIR, REGISTRY_PATH  # noqa: E402
from ganzoo.zoo.serialization import load_generator_from_folder, read_config, sha256_of  # noqa: E402
from attempts import Attempt, Run, attempts_table, plot_attempts  # noqa: E402

METRICS_FILE = ROOT / "model_cards" / "metrics.json"
NUM_FAKES = 10_000
# Inception numbers beside the in-domain ones (model_cards/inception_metrics.json). On the 2-core CPU
# the network costs about 0.15 s per image and thread, so the protocol is smaller than the in-domain
# one: 5,000 fakes against a fixed random 10,000 of the train split (the same subset for every model).
# FID is biased upwards at small counts: compare these only with each other and with the
# calibration rows measured under the same counts (docs/metrics.md), never with papers' 50k numbers.
INCEPTION_FILE = ROOT / "model_cards" / "inception_metrics.json"
INCEPTION_FAKES, INCEPTION_REFERENCE_COUNT = 5_000, 10_000

FASHION_MNIST = "Fashion-MNIST (train split, 60,000 images; Debian package dataset-fashion-mnist)"
NO_FASHION_PAPER = [{"source": "-", "dataset": "-", "metric": "-", "value": "-",
                     "note": "no paper reports Fashion-MNIST numbers for this variant; compare with the calibration "
                             "in docs/metrics.md"}]


FIRST_SESSIONS_HARDWARE = "2-core AMD EPYC CPU, one thread (two to four runs shared the 2 cores)"


def fashion_mnist_model(variant: str, recipe: str, description: str, optimizer: str, minutes: str,
                        precision: str = "bf16-mixed", batch_size: int = 64, curve: bool = True,
                        hardware: str = FIRST_SESSIONS_HARDWARE,
                        history: str = "", overrides: str = "", attempts: Sequence[Attempt] = ()) -> dict:
    """A Fashion-MNIST zoo entry trained on this project's CPU with its committed recipe, unchanged.
    ``minutes`` is the run's wall time, or "" when ``hardware`` states it per part (``hardware_in_parts``).
    ``attempts``: the recipe changes tried on the way, shown as a table and figure in the card."""
    name = f"{variant}-fashion-mnist"
    return {
        "variant": variant,
        "features": "fashion-mnist", "dataset": FASHION_MNIST, "dataset_id": "fashion_mnist",
        "description": description + " Bundled with the package as a full GAN (generator, EMA generator and "
                                     "discriminator, fp16), so it can be sampled offline and fine-tuned."
                       + (" " + history if history else ""),
        "recipe": f"recipes/{recipe}.yaml",
        "run": f"docs/runs/{name}.metrics.csv",
        "training": {
            "recipe overrides": overrides or f"none (ganzoo fit --config recipes/{recipe}.yaml)",
            "hardware": f"{hardware}, {minutes}" if minutes else hardware,
            "batch size": batch_size,
            "optimizer": optimizer,
            "precision": precision,
        },
        "paper": NO_FASHION_PAPER,
        "sample_grid": f"figures/{name}.png",
        "training_curve": f"figures/{name}-curve.png" if curve else None,
        "bar": FASHION_BAR,
        "attempts": attempts,
    }


# The zoo's quality bars, in-domain protocol, 10k fakes: every Fashion-MNIST model (issue 13) and
# the CIFAR-10 SN-GAN that `ganzoo.load("sngan-cifar10")` returns (issue 14).
FASHION_BAR = {"fid": 15.0, "recall": 0.40, "for": "Fashion-MNIST"}
SNGAN_CIFAR10_BAR = {"fid": 40.0, "recall": 0.30, "for": "sngan-cifar10"}
CIFAR10_BAR = {"fid": 60.0, "recall": None, "for": "every CIFAR-10 model"}

CIFAR10 = "CIFAR-10, JPEG q75 re-encoding (train split, 50,000 images)"
# The literature's ranking of the variants on CIFAR-10, best first (SN-GAN paper Table 2 for SN-GAN,
# WGAN-GP and weight clipping on one CNN; WGAN-GP paper Table 3 for DCGAN; an MLP GAN is weakest).
CIFAR10_LITERATURE_ORDER = [("sngan", "wgan-gp"), ("dcgan",), ("wgan", "vanilla")]


def run_in_parts(recipe: str, stopped_at: str, why: str, *, length_override: str = "", final_stop: str = "") -> str:
    """The "recipe overrides" text of a run trained in parts, every part the same run resumed exactly
    (``--ckpt_path last``): where it stopped, why, and the command that continued it. A ``length_override``
    on that command only moves the stop; ``final_stop`` names the checkpoint the last part ended at."""
    continue_command = " ".join(filter(None, [f"ganzoo fit --config recipes/{recipe}.yaml", length_override,
                                              "--ckpt_path last"]))
    text = (f"none in effect: `ganzoo fit --config recipes/{recipe}.yaml` run in parts, stopped at {stopped_at} "
            f"G iterations ({why}), each time continued with `{continue_command}` (exact resume)")
    if length_override:
        text += (f"; the override only moves the stop: the last part was stopped at its {final_stop} checkpoint, "
                 f"the length the recipe now says")
    return text


FULL_GAN_ON_CPU = ("on a 2-core CPU with the committed recipe, and bundled with the package as a full GAN (generator, "
                   "EMA generator and discriminator, fp16), so it can be sampled offline and fine-tuned.")
# The GPU runs of 2026-12-04 (scripts/gpu/graphed_session.sh, docs/runs/gpu-session-2026-12-04-graphed.md): each
# iteration replayed as one CUDA graph, three runs side by side on one H200 for 480 s each.
GRAPHED_ON_GPU = ("on one NVIDIA H200 with the committed recipe, each iteration replayed as a CUDA graph "
                  "(ganzoo/gans/graphed.py, scripts/gpu/train_graphed.py), and bundled with the package as its fp16 "
                  "EMA generator alone (the export that run wrote): it samples offline, but holds no discriminator "
                  "to fine-tune.")
GRAPHED_GPU_HARDWARE = "one NVIDIA H200, 8 min (start-up and evaluations included) shared with two other runs"
GRAPHED_DIFFERENCE = ("the latents are drawn inside the graph from one seeded stream, not re-seeded per step as in "
                      "`ganzoo fit`; the data set is kept on the GPU and reshuffled each epoch")


def cifar10_model(variant: str, recipe: str, description: str, optimizer: str, paper: list[dict], *,
                  hardware: str | None = None, overrides: str | None = None, batch_size: int = 64,
                  bar: dict = CIFAR10_BAR, history: str = "", precision: str = "bf16-mixed", name: str = "",
                  trained: str = FULL_GAN_ON_CPU, evaluation_every: int | None = None) -> dict:
    """A CIFAR-10 zoo entry trained with its committed recipe (by default a CPU-budget recipe on this
    project's CPU, bundled as a full GAN).

    Defaults: one thread of the Intel Xeon (``CPU_RUN_HARDWARE``, its wall time in ``RUN_MINUTES``) and
    the recipe run unchanged. ``evaluation_every``: a log whose evaluations are not at multiples of the recipe's
    callback period (1: read each at the iteration it was logged at, as scripts/gpu/train_graphed.py writes)."""
    name = name or f"{variant}-cifar10"
    hardware = hardware or f"{CPU_RUN_HARDWARE}, {RUN_MINUTES[name]}"
    overrides = overrides or f"none (ganzoo fit --config recipes/{recipe}.yaml)"
    return {
        "variant": variant, "features": "cifar10", "dataset": CIFAR10, "dataset_id": "cifar10",
        "description": description + " Trained on the JPEG re-encoding of CIFAR-10 " + trained
                       + (" " + history if history else ""),
        "evaluation_every": evaluation_every,
        "recipe": f"recipes/{recipe}.yaml",
        "run": f"docs/runs/{name}.metrics.csv",
        "training": {"recipe overrides": overrides, "hardware": hardware, "batch size": batch_size,
                     "optimizer": optimizer, "precision": precision},
        "paper": paper,
        "sample_grid": f"figures/{name}.png",
        "training_curve": f"figures/{name}-curve.png",
        "bar": bar,
    }


def curve_points(run_csv: str, recipe: str, until: int, digits: dict[str, int]) -> dict[str, list[str]]:
    """A run's in-training evaluations (its log in docs/runs) up to ``until`` generator iterations, each
    number in ``digits`` (name -> decimals) as the cards quote them: read from the log, not copied by hand."""
    return formatted([row for row in _logged_evaluations(run_csv, recipe) if row["g_iter"] <= until], digits)


def formatted(rows: Sequence[dict[str, float]], digits: dict[str, int]) -> dict[str, list[str]]:
    """Each number in ``digits`` (name -> decimals) of the evaluation ``rows``, as the cards quote them."""
    return {key: [f"{row[key]:.{places}f}" for row in rows] for key, places in digits.items()}


@functools.cache
def _logged_evaluations(run_csv: str, recipe: str) -> tuple[dict[str, float], ...]:
    """A log's evaluations, read once: several entries quote points of the same log."""
    from bundle_run import curve_rows, evaluation_period_in

    return tuple(curve_rows(ROOT / run_csv, evaluation_period_in(ROOT / recipe)))


def curve_point(run_csv: str, recipe: str, at: int, digits: dict[str, int]) -> dict[str, str]:
    """The run's evaluation at ``at`` generator iterations (its last up to there), as ``curve_points``."""
    return {key: values[-1] for key, values in curve_points(run_csv, recipe, at, digits).items()}


def read_recipe(recipe: str) -> dict:
    import yaml

    return yaml.safe_load((ROOT / "recipes" / f"{recipe}.yaml").read_text())


def recipe_seed(recipe: str) -> int:
    """The recipe's seed_everything: a continued run's data order is drawn from it."""
    return int(read_recipe(recipe)["seed_everything"])


def stopped_to_measure(stopped_at: int, allowed: int) -> str:
    """How a run that the session stopped early ended: its export is the checkpoint of its last evaluation."""
    return (f"stopped (Ctrl-C) after its {stopped_at // 1000}k checkpoint and evaluation, of the {allowed // 1000}k "
            "its recipe allows, to leave the session time to measure it; the export is that checkpoint "
            "(bundle_run --checkpoint)")


def continued_from_export(continued_recipe: str, log: str, *, length: str = "", kept: str = "EMA kept",
                          export: str = "that bundled fp16 export", first_continuation: bool = True) -> str:
    """How a later session trained a bundled fp16 export on (FineTuneFrom), for every continued model's card:
    the recipe, what carried over, what started afresh (the data order's seed read from the recipe), and where
    the run's log is. The sentence on the curve's dotted lines comes with the first continuation only."""
    text = (f"A later session trained {export} on{length} with the committed recipe "
            f"recipes/{continued_recipe}.yaml (FineTuneFrom: same networks, loss and settings, {kept}): fresh Adam "
            f"moments, a fresh data order (seed {recipe_seed(continued_recipe)}), iterations counted from 0 in its "
            f"log ({log}).")
    if first_continuation:
        text += " The curve shows the runs end to end, a dotted line where each continuation began."
    return text


ORDINALS = ("first", "second", "third", "fourth", "fifth")


def unchanged(recipe: str) -> str:
    """The "recipe overrides" text of a run of its committed recipe as it stands."""
    return f"none (ganzoo fit --config recipes/{recipe}.yaml)"


def continued_overrides(*runs: tuple[str, str]) -> str:
    """The "recipe overrides" text of a model trained as a chain of runs, each after the first started from the
    one before's bundled export: every run's span of generator iterations and its own overrides text."""
    return "; ".join(f"the {ORDINALS[number]} run ({span}): {text}" for number, (span, text) in enumerate(runs))


VANILLA_FIRST_RUN = curve_points("docs/runs/vanilla-fashion-mnist-first-25k.metrics.csv",
                                 "recipes/vanilla_fashion_mnist.yaml", 25_000, {"fid": 1, "recall": 3})
COUNT_WORDS = {1: "One", 2: "Two", 3: "Three", 4: "Four", 5: "Five", 6: "Six", 7: "Seven"}

# The vanilla model's recall attempts (2026-12-01 to -03), one change each, every one against one of two
# reference runs: the first 1024-unit run, then the run with BatchNorm in the generator, the change that
# helped and became the base of the later attempts. Overrides ran on the reference's recipe.
VANILLA_FIRST = Run("the first run", "docs/runs/vanilla-fashion-mnist-first-25k.metrics.csv",
                    "recipes/vanilla_fashion_mnist.yaml")
VANILLA_BATCH_NORM_RUN = Run("the BatchNorm run", "docs/runs/vanilla-fashion-mnist-batch-norm.metrics.csv",
                             "recipes/vanilla_fashion_mnist_batch_norm.yaml")


def vanilla_override_run(name: str, log: str) -> Run:
    """An attempt run as overrides on the first run's recipe."""
    return Run(name, f"docs/runs/vanilla-fashion-mnist-{log}.metrics.csv", VANILLA_FIRST.recipe)


def vanilla_recipe_run(name: str, recipe: str) -> Run:
    """An attempt with its own recipe, recipes/vanilla_fashion_mnist_RECIPE.yaml, logged under the same name."""
    return Run(name, f"docs/runs/vanilla-fashion-mnist-{recipe.replace('_', '-')}.metrics.csv",
               f"recipes/vanilla_fashion_mnist_{recipe}.yaml")


def _on_batch_norm(change: str, name: str, recipe: str, outcome: str, *, float32: bool = True) -> Attempt:
    """An attempt on the BatchNorm generator. Most ran on an AVX2-only CPU, so in float32 where their reference
    ran in bf16 (on an AVX-512 CPU)."""
    how = f"recipes/vanilla_fashion_mnist_{recipe}.yaml" + (", `--trainer.precision 32-true`" if float32 else "")
    return Attempt(change, how, vanilla_recipe_run(name, recipe), VANILLA_BATCH_NORM_RUN, outcome)


# The minimax-loss run with the default EMA (0.999), bundled until the slower EMA replaced it (its weights at commit
# 892404a), the reference of the attempts made on it (2026-12-03, the same kind of AVX2 CPU, float32).
VANILLA_MINIMAX_RUN = Run("minimax loss, EMA 0.999", "docs/runs/vanilla-fashion-mnist-minimax-loss.metrics.csv",
                          "recipes/vanilla_fashion_mnist_minimax_loss.yaml")
# The bundled model's run: the same training with a slower EMA (0.9999).
VANILLA_SLOW_EMA_RUN = Run("EMA 0.9999 (bundled)", "docs/runs/vanilla-fashion-mnist.metrics.csv",
                           "recipes/vanilla_fashion_mnist_slow_ema.yaml")

VANILLA_MOMENTUM_FREE_RUN = vanilla_recipe_run("betas (0, 0.99) + EMA 0.9999", "adam_beta1_zero_slow_ema")


def _on_minimax(change: str, name: str, recipe: str, outcome: str, *, run: Run | None = None,
                kept: bool = False) -> Attempt:
    """An attempt on the minimax recipe, with its own recipe (float32 on an AVX2 CPU, as its reference); ``run``
    when its log is not named after its recipe (the bundled run's)."""
    return Attempt(change, f"recipes/vanilla_fashion_mnist_{recipe}.yaml", run or vanilla_recipe_run(name, recipe),
                   VANILLA_MINIMAX_RUN, outcome, kept=kept)


MODE_SEEKING_OUTCOME = ("more recall at 10k, then level or less at a higher FID at every evaluation; stopped after 25k. "
                        "On the minimax recipe instead, D rejected every fake within 450 iterations and it was "
                        "stopped at 900 (its recipe's header)")
LINEAR_DECAY_OUTCOME = ("recall level until 35k, less after; FID higher from 15k and rising from 30k as the rates "
                        "fell")
ADAM_BETA1_ZERO_OUTCOME = ("more recall at all 12 evaluations (+0.04 at 60k), a higher FID from 15k (+1.2 at 60k); "
                           "resumed to 80k: 17.1 / 0.267. Not kept; with the slower EMA: the last "
                           "row")
MOMENTUM_WITH_SLOW_EMA_OUTCOME = ("more recall at every evaluation from 10k (+0.04 at 80k), a higher FID from 35k "
                                  "(+1.5 at 80k), precision level: a trade, not a better model, so not kept; resumed "
                                  "to 90k: 14.9 / 0.321")
SLOW_EMA_OUTCOME = ("kept: the bundled model, its 80k export. The same training bit for bit; its average lags by "
                    "construction until 35k, then leads on FID from 40k and on both from 45k")
WIDE_GENERATOR_OUTCOME = ("more recall at every evaluation from 10k by a margin shrinking from 30k (+0.028 at 30k, "
                          "+0.009 at 50k) at a higher FID from 20k (+1.3 at 50k); stopped after 50k, not bundled")
BATCH_256_OUTCOME = ("ahead at equal iterations, far behind at equal images and equal time (2.3x the time per "
                     "iteration); stopped at 5.6k")

VANILLA_ATTEMPTS = (
    Attempt("256 hidden units per layer instead of 1024 (the zoo's first vanilla model)", "`hidden_dim: 256`",
            vanilla_override_run("256 units", "256"), VANILLA_FIRST,
            "worse on both; the recipe moved to 1024 units"),
    Attempt("a PacGAN discriminator judging pairs (Lin et al. 2018)",
            "`--model.init_args.discriminator.init_args.pack 2`", vanilla_override_run("PacGAN pairs", "pack2"),
            VANILLA_FIRST, "worse at every evaluation; stopped at 17k"),
    Attempt("dropout 0.5 in the discriminator's hidden layers, as the original paper's discriminator",
            "`--model.init_args.discriminator.init_args.dropout 0.5`", vanilla_override_run("dropout", "dropout"),
            VANILLA_FIRST, "less recall at every evaluation"),
    Attempt("the two time-scale update rule (TTUR, Heusel et al. 2017)",
            "`--model.init_args.g_lr 1e-4 --model.init_args.d_lr 4e-4`", vanilla_override_run("TTUR", "ttur"),
            VANILLA_FIRST, "more recall at 20k, at more than twice the FID"),
    Attempt("instance noise on both of D's inputs (Sonderby et al. 2017), sigma 0.1 annealed to 0 over 20k",
            "`--model.init_args.instance_noise_std 0.1 --model.init_args.instance_noise_anneal 20000`",
            vanilla_override_run("instance noise", "instance-noise"), VANILLA_FIRST,
            "within noise of the run without"),
    Attempt("the R1 penalty on real data (Mescheder et al. 2018), gamma 1", "`--model.init_args.r1_gamma 1`",
            vanilla_override_run("R1, gamma 1", "r1-gamma1"), VANILLA_FIRST,
            "a faster start, then less recall from 15k"),
    Attempt("the R1 penalty, gamma 10", "`--model.init_args.r1_gamma 10`",
            vanilla_override_run("R1, gamma 10", "r1-gamma10"), VANILLA_FIRST,
            "a faster start, then less recall from 20k"),
    Attempt("BatchNorm in the generator's hidden layers, as DCGAN's generator normalises",
            "recipes/vanilla_fashion_mnist_batch_norm.yaml (MLPGenerator(batch_norm=true))",
            VANILLA_BATCH_NORM_RUN, VANILLA_FIRST,
            "kept: recall up by two thirds at the same FID, but flat at about 0.18 from 45k to its 60k; the "
            "reference of the changes below", kept=True),
    _on_batch_norm("a third hidden layer of 1024 in that generator", "third hidden layer", "deep_generator",
                   "lower FID, less recall at every evaluation", float32=False),
    _on_batch_norm("one-sided label smoothing (real target 0.9)", "label smoothing", "label_smoothing",
                   "slightly less recall from 10k"),
    _on_batch_norm("a minibatch-stddev feature in the discriminator (groups of 4)", "minibatch stddev",
                   "minibatch_stddev", "lower FID and less recall from 10k"),
    _on_batch_norm("DiffAugment (translation and cutout)", "DiffAugment", "diffaugment",
                   "worse on both"),
    _on_batch_norm("the prediction step (Yadav et al. 2018)", "prediction step", "prediction",
                   "recall level (+0.005) at a higher FID"),
    _on_batch_norm("spectral normalisation in the discriminator (Miyato et al. 2018)", "spectral norm",
                   "spectral_norm", "less recall at every evaluation"),
    Attempt("the paper's saturating minimax generator loss", "recipes/vanilla_fashion_mnist_minimax_loss.yaml",
            VANILLA_MINIMAX_RUN, VANILLA_BATCH_NORM_RUN, "kept: the bundled model until the slower EMA below", kept=True),
    _on_batch_norm("MSGAN's mode-seeking term in the generator's loss (Mao et al. 2019), weight 1", "mode seeking",
                   "mode_seeking", MODE_SEEKING_OUTCOME, float32=False),
    _on_minimax("both learning rates decaying linearly to 0 at 60k", "linear decay", "linear_decay",
                LINEAR_DECAY_OUTCOME),
    _on_minimax("batch 256 instead of 64", "batch 256", "batch_256", BATCH_256_OUTCOME),
    _on_minimax("Adam betas (0, 0.99) for both networks instead of (0.5, 0.999)", "Adam beta1 0", "adam_beta1_zero",
                ADAM_BETA1_ZERO_OUTCOME),
    _on_minimax("an EMA of decay 0.9999 (about the last 10k iterations) instead of 0.999", "EMA 0.9999",
                "slow_ema", SLOW_EMA_OUTCOME, run=VANILLA_SLOW_EMA_RUN, kept=True),
    Attempt("Adam betas (0, 0.99) with the EMA 0.9999: the two changes that each raised recall, together",
            "recipes/vanilla_fashion_mnist_adam_beta1_zero_slow_ema.yaml",
            VANILLA_MOMENTUM_FREE_RUN, VANILLA_SLOW_EMA_RUN,
            MOMENTUM_WITH_SLOW_EMA_OUTCOME),
    Attempt("PacGAN pairs again (as above), on the bundled recipe", "recipes/vanilla_fashion_mnist_pack.yaml",
            vanilla_recipe_run("pack 2", "pack"), VANILLA_SLOW_EMA_RUN,
            "behind at every evaluation, on both (at 40k FID 22.44 against 16.32, recall 0.059 against 0.165); "
            "stopped at 42.75k"),
    Attempt("a generator twice as wide (2048 units per hidden layer), on the momentum-free slow-EMA recipe",
            "recipes/vanilla_fashion_mnist_wide_generator.yaml, two threads",
            vanilla_recipe_run("2048-wide generator", "wide_generator"),
            VANILLA_MOMENTUM_FREE_RUN, WIDE_GENERATOR_OUTCOME),
)


def attempts_section(name: str, attempts: Sequence[Attempt], bar: dict) -> str:
    """The card's table and figure of a model's attempts (the figure written beside its sample grid)."""
    figure = f"figures/{name}-attempts.png"
    plot_attempts(attempts, _logged_evaluations, bar, f"{name}: one change at a time (in-domain protocol, 10k fakes)",
                  ROOT / "model_cards" / figure)
    return (f"{len(attempts)} changes, one at a time, each against the run it changed at their last shared "
            "evaluation (in-domain FID and recall: the training curve's protocol). Each ran on one thread of a "
            "2-core CPU, most with a second run beside it, in its recipe's precision unless the row says otherwise. "
            "The figure shows every curve, each column's reference run in black.\n\n"
            f"{attempts_table(attempts, _logged_evaluations)}\n\n![attempts]({figure})")


# vanilla-fashion-mnist is the minimax-loss run on the BatchNorm generator with a slower EMA (2026-12-03, one thread of
# an AVX2-only CPU in float32: 60k, then resumed exactly to 80k); the two models it replaced stay in git (commits
# 892404a and a5488bb) and in docs/runs.
VANILLA_MINIMAX = (VANILLA_MINIMAX_RUN.log, VANILLA_MINIMAX_RUN.recipe)
VANILLA_SLOW_EMA_MINUTES = "106 min in two parts (80 + 25; sixteen evaluations included)"
VANILLA_MINIMAX_HISTORY = (
    "It replaces the zoo's earlier vanilla model, the same training averaged with the default EMA (0.999) and "
    "exported at 60k (recipes/vanilla_fashion_mnist_minimax_loss.yaml, 91 min in two parts on the same kind of CPU): "
    "in-domain FID 16.18, KID 0.0914, IS 6.53, precision 0.77, recall 0.20 and Inception FID 50.75 under the "
    "protocols below (its registry entry and weights at commit 892404a).")
VANILLA_NON_SATURATING_HISTORY = (
    "That model replaced the zoo's first vanilla model: the same networks without BatchNorm, with the non-saturating "
    "loss, "
    "trained for 55k iterations in two runs: recipes/vanilla_fashion_mnist.yaml for 25k "
    f"(docs/runs/vanilla-fashion-mnist-first-25k.metrics.csv; in-domain FID {' / '.join(VANILLA_FIRST_RUN['fid'])} "
    f"and recall {' / '.join(VANILLA_FIRST_RUN['recall'])} at 5k-25k) and bundled. "
    + continued_from_export("vanilla_fashion_mnist_continued",
                            "docs/runs/vanilla-fashion-mnist-continued-30k.metrics.csv",
                            length=" for 30k more iterations (stopped there, of its recipe's 40k, for time)",
                            first_continuation=False)
    + " It measured in-domain FID 21.13, KID 0.120, precision 0.77, recall 0.12 and Inception FID 62.53 under the "
      "protocols below (its registry entry and weights at commit a5488bb).")


def points_ahead(ours: Sequence[str], theirs: Sequence[str], *, lower_is_better: bool) -> int:
    """At how many of two curves' paired evaluations (numbers as the cards quote them) ``ours`` is ahead."""
    return sum((a < b) if lower_is_better else (a > b) for a, b in zip(map(float, ours), map(float, theirs)))


def vanilla_minimax_comparison() -> str:
    """The bundled minimax-loss run against the non-saturating BatchNorm run at equal iterations, from the logs."""
    digits = {"fid": 1, "recall": 3}
    minimax_rows = _logged_evaluations(*VANILLA_MINIMAX)
    until = int(minimax_rows[-1]["g_iter"])
    minimax = formatted(minimax_rows, digits)
    non_saturating = curve_points("docs/runs/vanilla-fashion-mnist-batch-norm.metrics.csv",
                                  "recipes/vanilla_fashion_mnist_batch_norm.yaml", until, digits)
    lower_fid = points_ahead(minimax["fid"], non_saturating["fid"], lower_is_better=True)
    more_recall = points_ahead(minimax["recall"], non_saturating["recall"], lower_is_better=False)
    return (
        "Why the minimax loss: with an optimal discriminator the non-saturating generator follows the gradient of "
        "KL(P_g || P_r) - 2 JSD(P_r, P_g) (Arjovsky and Bottou 2017, Theorem 2.5), whose reverse KL barely charges a "
        "generator for leaving parts of the data out, while the minimax loss follows JSD alone. On the same "
        f"networks it measured in-domain FID {' / '.join(minimax['fid'])} and recall {' / '.join(minimax['recall'])} "
        f"at 5k-{until // 1000}k, against {' / '.join(non_saturating['fid'])} and "
        f"{' / '.join(non_saturating['recall'])} with the non-saturating loss "
        "(recipes/vanilla_fashion_mnist_batch_norm.yaml, bf16 on an AVX-512 CPU; "
        f"docs/runs/vanilla-fashion-mnist-batch-norm.metrics.csv): lower FID at {lower_fid} of {len(minimax['fid'])} "
        f"evaluations and more recall at {more_recall} of {len(minimax['recall'])}, still far below the bar's 0.40.")

# The EMA 0.999 run resumed past its 60k (2026-12-03, one thread of an AVX2 CPU, --model.init_args.
# max_generator_iterations 120000 --ckpt_path last) and stopped with Ctrl-C at 105k after 85 min.
VANILLA_MINIMAX_LONGER = "docs/runs/vanilla-fashion-mnist-trained-on-to-105k.metrics.csv"


def vanilla_minimax_trained_on() -> str:
    """What the EMA 0.999 run did after its 60k, from the longer log: more iterations alone did not do it."""
    rows = _logged_evaluations(VANILLA_MINIMAX_LONGER, VANILLA_MINIMAX[1])
    bundled_at = int(_logged_evaluations(*VANILLA_MINIMAX)[-1]["g_iter"])
    later = formatted([row for row in rows if row["g_iter"] > bundled_at], {"fid": 1, "recall": 3})
    last = int(rows[-1]["g_iter"])
    return (f"The EMA 0.999 run trained on past its {bundled_at // 1000}k by exact resume "
            "(`--model.init_args.max_generator_iterations 120000 --ckpt_path last`, stopped with Ctrl-C at 105k after "
            f"85 min to free its core) measured FID {' / '.join(later['fid'])} and recall {' / '.join(later['recall'])} "
            f"at {bundled_at // 1000 + 5}k-{last // 1000}k: recall rising slowly, FID no longer falling "
            f"({VANILLA_MINIMAX_LONGER}); the longer average, not the longer training, made this model.")


LOSS_COLUMNS = ("d_loss", "g_loss", "d_real", "d_fake")


def logged_losses(run_csv: str, until: int) -> dict[float, tuple[str, ...]]:
    """A log's training losses at each logged generator iteration up to ``until``, as written (exact strings)."""
    with open(ROOT / run_csv, newline="") as file:
        return {float(row["g_iter"]): tuple(row[key] for key in LOSS_COLUMNS) for row in csv.DictReader(file)
                if row.get("g_loss") and float(row["g_iter"]) <= until}


def same_training_steps(run_csv: str, reference_csv: str, until: int) -> int:
    """How many logged steps two runs share up to ``until``, checked equal in every loss: the claim that the two
    trained identically, verified on every build rather than typed into the card."""
    ours, theirs = logged_losses(run_csv, until), logged_losses(reference_csv, until)
    differing = [at for at in ours if at in theirs and ours[at] != theirs[at]]
    if differing or set(ours) != set(theirs):
        raise ValueError(f"{run_csv} and {reference_csv} differ in training up to {until} (first at {differing[:1]})")
    return len(ours)


def vanilla_slow_ema_comparison() -> str:
    """The bundled run (EMA 0.9999) against the same training averaged at 0.999, at their shared evaluations."""
    digits = {"fid": 1, "recall": 3}
    slow_decay = read_recipe(Path(VANILLA_SLOW_EMA_RUN.recipe).stem)["model"]["init_args"]["ema_decay"]
    slow = _logged_evaluations(VANILLA_SLOW_EMA_RUN.log, VANILLA_SLOW_EMA_RUN.recipe)
    default = {int(row["g_iter"]): row for row in _logged_evaluations(*VANILLA_MINIMAX)}
    overtaken_at = next(int(row["g_iter"]) for row in slow if int(row["g_iter"]) in default
                        and row["fid"] < default[int(row["g_iter"])]["fid"])
    ours = formatted([row for row in slow if overtaken_at <= row["g_iter"] <= max(default)], digits)
    theirs = formatted([row for at, row in sorted(default.items()) if at >= overtaken_at], digits)
    after = formatted([row for row in slow if row["g_iter"] > max(default)], digits)
    equal_steps = same_training_steps(VANILLA_SLOW_EMA_RUN.log, VANILLA_MINIMAX_RUN.log, max(default))
    initialisation_weight = slow_decay ** int(slow[0]["g_iter"])
    return (
        "Why the slower EMA (`ema_decay: 0.9999`, about the last 10k iterations' weights instead of 1k): the "
        "exponential average of the generator doubled the 0.999 run's recall over its raw weights (0.100 against "
        "0.203 at 60k, scripts/diagnose_recall.py on that model; on this one 0.116 against 0.270: "
        "docs/recall_diagnosis.md), and that generator maps the latents onto too small a region of the data, so a "
        "longer average "
        "mixes more of the regions the raw generator visits in turn. The training is the EMA 0.999 run's, bit for "
        f"bit (the EMA never feeds back; the two logs' losses are equal at all {equal_steps:,} logged steps to "
        f"{max(default) // 1000}k), so the difference is the average alone. It lags early by construction (at "
        f"{int(slow[0]['g_iter']) // 1000}k, {initialisation_weight:.0%} of its weight is still the initialisation: "
        f"in-domain FID {slow[0]['fid']:.0f}) and overtakes the 0.999 average at "
        f"{overtaken_at // 1000}k: FID {' / '.join(ours['fid'])} and recall {' / '.join(ours['recall'])} at "
        f"{overtaken_at // 1000}k-{max(default) // 1000}k against {' / '.join(theirs['fid'])} and "
        f"{' / '.join(theirs['recall'])} (docs/runs/vanilla-fashion-mnist-minimax-loss.metrics.csv), then "
        f"{' / '.join(after['fid'])} and {' / '.join(after['recall'])} at {max(default) // 1000 + 5}k-"
        f"{int(slow[-1]['g_iter']) // 1000}k: FID flat from 65k, recall still rising slowly.")


# rasgan-fashion-mnist is the wide run; the width-32 model it replaced stays in git and in docs/runs.
# Their first 25k iterations side by side, from the two runs' logs.
RASGAN_WIDE = curve_points("docs/runs/rasgan-fashion-mnist.metrics.csv", "recipes/rasgan_fashion_mnist_wide.yaml",
                           25_000, {"fid": 1, "recall": 2})
RASGAN_WIDTH_32 = curve_points("docs/runs/rasgan-fashion-mnist-first-25k.metrics.csv",
                               "recipes/rasgan_fashion_mnist.yaml", 25_000, {"fid": 1, "recall": 2})
RASGAN_WIDTH_32_HISTORY = (
    "It replaces the zoo's earlier RaSGAN on the same networks at base width 32 (G 234k, D 37k parameters), "
    "trained in three runs for 140k generator iterations (recipes/rasgan_fashion_mnist.yaml for 25k, then "
    "recipes/rasgan_fashion_mnist_continued.yaml for 40k and recipes/rasgan_fashion_mnist_continued_2.yaml for "
    "75k with the learning rates decaying linearly to 0, each started from the previous bundled export; logs "
    "docs/runs/rasgan-fashion-mnist-first-25k, -continued-40k and -continued-75k-linear-decay.metrics.csv): "
    "in-domain FID 10.07, KID 0.0391, precision 0.50, recall 0.51, Inception FID 21.42 under the protocols below "
    "(its registry entry at commit 4c17d3b), "
    "its curve flat at 10.0-10.3 over its last 55k iterations, so its width, not its length, limited it. At equal "
    f"iterations the wide networks are ahead from the start (in-domain FID {' / '.join(RASGAN_WIDE['fid'])} against "
    f"{' / '.join(RASGAN_WIDTH_32['fid'])} at 5k-25k, recall {RASGAN_WIDE['recall'][0]} -> "
    f"{RASGAN_WIDE['recall'][-1]} against {RASGAN_WIDTH_32['recall'][0]} -> {RASGAN_WIDTH_32['recall'][-1]}) "
    "for about twice "
    "the time per iteration (0.12-0.13 s against 0.064-0.072 s on one thread of this CPU, evaluations "
    "included). The width-32 weights are in git (commit 4c17d3b, ganzoo/zoo/weights/rasgan-fashion-mnist.safetensors).")

# progan-fashion-mnist and vanilla-cifar10 were trained on in a later session (same run, exact resume):
# where the first part ended, read from the logs.
PROGAN_AT_20K = curve_point("docs/runs/progan-fashion-mnist-first-30k.metrics.csv", "recipes/progan_fashion_mnist.yaml",
                            20_000, {"fid": 2, "recall": 3})
PROGAN_AT_42K = curve_point("docs/runs/progan-fashion-mnist-continued-12k.metrics.csv",
                            "recipes/progan_fashion_mnist_continued.yaml", 12_000, {"fid": 2, "recall": 3})
PROGAN_AT_30K = curve_point("docs/runs/progan-fashion-mnist-first-30k.metrics.csv", "recipes/progan_fashion_mnist.yaml",
                            30_000, {"fid": 2, "recall": 3})
VANILLA_CIFAR10_AT_50K = curve_point("docs/runs/vanilla-cifar10.metrics.csv", "recipes/vanilla_cifar10_cpu.yaml",
                                     50_000, {"fid": 2, "recall": 3})
# BatchNorm in the MLP generator on CIFAR-10 (2026-12-02, recipes/vanilla_cifar10_cpu_batch_norm.yaml), stopped
# after its 25k evaluation, against the zoo run at the same iterations; both read from the logs.
VANILLA_CIFAR10_BATCH_NORM = curve_points("docs/runs/vanilla-cifar10-batch-norm.metrics.csv",
                                          "recipes/vanilla_cifar10_cpu_batch_norm.yaml", 25_000, {"fid": 1})
VANILLA_CIFAR10_FIRST_25K = curve_points("docs/runs/vanilla-cifar10.metrics.csv", "recipes/vanilla_cifar10_cpu.yaml",
                                         25_000, {"fid": 1})
# The 75k export trained on (2026-12-03, recipes/vanilla_cifar10_cpu_continued.yaml), stopped after +10k.
VANILLA_CIFAR10_CONTINUED = curve_points("docs/runs/vanilla-cifar10-continued.metrics.csv",
                                         "recipes/vanilla_cifar10_cpu_continued.yaml", 10_000, {"fid": 2, "recall": 3})
# The same continuation with the EMA decay 0.9999 (2026-12-04, recipes/vanilla_cifar10_cpu_slow_ema_continued.yaml).
VANILLA_CIFAR10_SLOW_EMA = curve_points("docs/runs/vanilla-cifar10-slow-ema-continued.metrics.csv",
                                        "recipes/vanilla_cifar10_cpu_slow_ema_continued.yaml", 15_000,
                                        {"fid": 2, "recall": 3})
# Why the Fashion-MNIST runs of the first sessions were run in parts.
STILL_FALLING = "the earlier planned lengths, where its FID was still falling"

# sngan-cifar10's generator at the paper's full width (recipes/sngan_cifar10_cpu_wide_generator.yaml), stopped
# at 10k: its first evaluations against the zoo model's at the same iterations, from the two runs' logs.
SNGAN_WIDE_GENERATOR = curve_points("docs/runs/sngan-cifar10-wide-generator.metrics.csv",
                                    "recipes/sngan_cifar10_cpu_wide_generator.yaml", 10_000, {"fid": 2, "recall": 3})
# Two continuations of the bundled 30k model that train the discriminator harder (2026-12-02, one thread
# each, side by side; FineTuneFrom, so their logs count from 0): n_dis 5, and TTUR (D 4e-4, G 1e-4).
SNGAN_NDIS5 = curve_points("docs/runs/sngan-cifar10-ndis5-continued.metrics.csv",
                           "recipes/sngan_cifar10_cpu_ndis5_continued.yaml", 10_000, {"fid": 2, "recall": 3})
SNGAN_TTUR = curve_points("docs/runs/sngan-cifar10-ttur-continued.metrics.csv",
                          "recipes/sngan_cifar10_cpu_ttur_continued.yaml", 30_000, {"fid": 2, "recall": 3})
# A continuation of the bundled 30k model with a slower EMA, 0.9999 (2026-12-04, one thread of an AVX2-only CPU in
# float32; FineTuneFrom with the EMA kept), stopped after its +7.5k evaluation.
SNGAN_SLOW_EMA_LOG = ("docs/runs/sngan-cifar10-slow-ema-continued.metrics.csv",
                      "recipes/sngan_cifar10_cpu_slow_ema_continued.yaml")
SNGAN_SLOW_EMA = curve_points(*SNGAN_SLOW_EMA_LOG, 15_000, {"fid": 2, "recall": 3})
SNGAN_SLOW_EMA_AT = " / ".join(f"+{row['g_iter'] / 1000:g}k" for row in _logged_evaluations(*SNGAN_SLOW_EMA_LOG))
SNGAN_DIFFAUGMENT_LOG = ("docs/runs/sngan-cifar10-diffaugment-continued.metrics.csv",
                         "recipes/sngan_cifar10_cpu_diffaugment_continued.yaml")
SNGAN_DIFFAUGMENT = curve_points(*SNGAN_DIFFAUGMENT_LOG, 30_000, {"fid": 2, "recall": 3})
SNGAN_DIFFAUGMENT_AT = " / ".join(f"+{row['g_iter'] / 1000:g}k" for row in _logged_evaluations(*SNGAN_DIFFAUGMENT_LOG))
SNGAN_HALF_WIDTH = curve_points("docs/runs/sngan-cifar10-cpu.metrics.csv", "recipes/sngan_cifar10_cpu.yaml", 10_000,
                                {"fid": 2, "recall": 3})

# Wall time of each zoo run on the development CPU (from the training queue's log; the runs shared 2 cores).
MINUTES = {"wgan": "195 min (52 + 85 + 43 + 15)", "wgan_gp": "223 min (56 + 57 + 96 + 14)",
           "sngan": "107 min (50 + 57)"}
# The wide RaSGAN, from the training queue's log: 56 min for 0-25k on one thread (a second job used the other
# core part of the time), 6 min for 25k-27.5k on one thread, then two threads to the end.
RASGAN_WIDE_HARDWARE = ("2-core Intel Xeon CPU (AMX bf16): 0-27.5k on one thread (a second job used the other core "
                        "part of the time), the rest on two threads")
RASGAN_WIDE_MINUTES = "162 min (56 + 6 + 100; evaluations included)"

# The CIFAR-10 DCGAN: one thread while the SN-GAN continuation used the other.
DCGAN_CIFAR10_HARDWARE = ("2-core AMD EPYC CPU, one thread (a second run used the other), 100 min "
                          "(three evaluations included)")
DCGAN_CIFAR10_OVERRIDES = ("none in effect: started as `ganzoo fit --config recipes/dcgan_cifar10_cpu.yaml` when the "
                           "recipe said 25k iterations, stopped after the 15k checkpoint and evaluation once the "
                           "one-thread speed (0.36 s per iteration) was measured, and the recipe cut to 15k; the "
                           "learning rate is constant, so the first 15k iterations are those of a 15k run")

# The runs of the later 2026-12-01 sessions: two one-thread runs side by side on the 2 cores of
# an Intel Xeon with AMX bf16; wall time from the training queue's log, the in-training evaluations included.
CPU_RUN_HARDWARE = "2-core Intel Xeon CPU (AMX bf16), one thread (a second run used the other)"
EPYC_RUN_HARDWARE = "2-core AMD EPYC CPU, one thread (a second run used the other)"


def hardware_in_parts(*parts: tuple[str, str, str]) -> str:
    """The hardware line of a model trained in parts on different machines: each part as
    "its iterations: the machine, its wall time", in training order."""
    return "; ".join(f"{span}: {machine}, {minutes}" for span, machine, minutes in parts)


def continued_in_float32(variant: str, description: str, optimizer: str, *, first_recipe: str, first_overrides: str,
                         first_minutes: str, minutes: Sequence[str]) -> dict:
    """A Fashion-MNIST model whose first run (``first_recipe``, bf16) was bundled and later trained on, each time
    from the export before, by recipes/{first_recipe}_continued.yaml, then _continued_2.yaml and so on, in float32
    on an AVX2-only CPU (``minutes``: each continuation's wall time). Every run's length comes from the bundled
    export's config (bundle_run writes them), the evaluations and their periods from the logs and recipes: the
    first run's log kept as docs/runs/NAME-first-Nk.metrics.csv, a middle one's as NAME-continued-Nk. Each
    continuation was stopped early to measure it (``stopped_to_measure``)."""
    from bundle_run import evaluation_period_in

    name = f"{variant}-fashion-mnist"
    export = read_config(BUNDLED_DIR / f"{name}.json")
    # Exports bundled before bundle_run recorded each earlier run have one continuation: the sum is its length.
    earlier = export.get("generator_iterations_of_earlier_runs", [export["generator_iterations_before_continuing"]])
    lengths = [*earlier, export["generator_iterations"]]
    if len(minutes) != len(lengths) - 1:
        raise ValueError(f"{name}: {len(lengths) - 1} continuations in the export, {len(minutes)} wall times given")
    recipes = [first_recipe] + [f"{first_recipe}_continued" + (f"_{number}" if number > 1 else "")
                                for number in range(1, len(lengths))]
    logs = ([f"docs/runs/{name}-first-{lengths[0] // 1000}k.metrics.csv"]
            + [f"docs/runs/{name}-continued-{length // 1000}k.metrics.csv" for length in lengths[1:-1]]
            + [f"docs/runs/{name}.metrics.csv"])
    starts = [sum(lengths[:number]) for number in range(len(lengths))]
    spans = [f"{start // 1000}k-{(start + length) // 1000}k" for start, length in zip(starts, lengths)]
    spans[0] = f"0-{lengths[0] // 1000}k"
    digits = {"fid": 2, "recall": 3}
    # The first run's last five evaluations, quoted at the iterations they ran (its period need not divide its length).
    first_rows = [row for row in _logged_evaluations(logs[0], f"recipes/{first_recipe}.yaml")
                  if row["g_iter"] <= lengths[0]][-5:]
    before = formatted(first_rows, digits)
    history = (
        f"Trained in {COUNT_WORDS[len(lengths)].lower()} runs. The first, recipes/{first_recipe}.yaml for "
        f"{lengths[0] // 1000}k generator iterations ({logs[0]}), was bundled while its curve was still falling "
        f"(in-domain FID {' / '.join(before['fid'])} and recall {' / '.join(before['recall'])} at "
        f"{first_rows[0]['g_iter'] / 1000:g}k-{first_rows[-1]['g_iter'] / 1000:g}k).")
    overrides = [(spans[0], first_overrides)]
    for number in range(1, len(lengths)):
        recipe, log, length = recipes[number], logs[number], lengths[number]
        after = curve_points(log, f"recipes/{recipe}.yaml", length, digits)
        allowed = read_recipe(recipe)["model"]["init_args"]["max_generator_iterations"]
        history += (" " + continued_from_export(recipe, log, length=f" for {length // 1000}k more iterations",
                                                export=f"{'that' if number == 1 else 'the'} {starts[number] // 1000}k "
                                                       "export", first_continuation=number == 1)
                    + f" Its evaluations every {evaluation_period_in(ROOT / 'recipes' / f'{recipe}.yaml') / 1000:g}k: "
                      f"FID {' / '.join(after['fid'])} and recall {' / '.join(after['recall'])}.")
        overrides.append((spans[number], f"none in effect: `ganzoo fit --config recipes/{recipe}.yaml` was "
                                         + stopped_to_measure(length, allowed)))
    return fashion_mnist_model(
        variant, recipes[-1], description, optimizer, "",
        hardware=hardware_in_parts((spans[0], FIRST_SESSIONS_HARDWARE, first_minutes),
                                   *[(span, AVX2_RUN_HARDWARE, wall) for span, wall in zip(spans[1:], minutes)]),
        overrides=continued_overrides(*overrides),
        precision=f"bf16-mixed to {lengths[0] // 1000}k, then float32 (that CPU had no native bf16)", history=history)


# The Fashion-MNIST continuations in float32 (2026-12-03, two sessions), each run's wall time from the training
# queue's log: two runs side by side on one thread each, every one stopped with Ctrl-C after an evaluation to leave
# the session time to measure it, and bundled from that checkpoint.
CONTINUED_MINUTES = {"sngan": ("92 min (twelve evaluations included)", "87 min (nine evaluations included)"),
                     "wgan": ("90 min (twelve evaluations included)",),
                     "wgan-gp": ("80 min (five evaluations included)", "86 min (five evaluations included)")}


# progan-fashion-mnist's third part ran on another machine of a later session, its third run (from the 42k
# export) on an AVX2-only one in float32.
AVX2_RUN_HARDWARE = "2-core AMD EPYC CPU with AVX2 only (float32), one thread (a second run used the other)"
# The run's length and where it started, from the bundled export's own config (bundle_run wrote both).
PROGAN_EXPORT = read_config(BUNDLED_DIR / "progan-fashion-mnist.json")
PROGAN_THIRD_RUN_ITERATIONS = PROGAN_EXPORT["generator_iterations"]
PROGAN_ALL_ITERATIONS = PROGAN_EXPORT["generator_iterations_before_continuing"] + PROGAN_THIRD_RUN_ITERATIONS
PROGAN_THIRD_RUN_SPAN = (f"{PROGAN_EXPORT['generator_iterations_before_continuing'] // 1000}k-"
                         f"{PROGAN_ALL_ITERATIONS // 1000}k")
PROGAN_THIRD_RUN = curve_points("docs/runs/progan-fashion-mnist.metrics.csv",
                                "recipes/progan_fashion_mnist_continued_2.yaml", PROGAN_THIRD_RUN_ITERATIONS,
                                {"fid": 2, "recall": 3})
PROGAN_THIRD_RUN_OVERRIDES = (
    "`--trainer.precision 32-true` (that CPU had no native bf16, so the recipe's bf16-mixed would have been emulated, "
    f"measured 12-16x slower); stopped (Ctrl-C) after its {PROGAN_THIRD_RUN_ITERATIONS // 1000}k checkpoint and "
    "evaluation, of the 30k its recipe allows, to leave the session time to measure it, its curve flattening (FID "
    f"{' / '.join(PROGAN_THIRD_RUN['fid'][-3:])} at its last three evaluations); the export is that checkpoint")

# A recall experiment, not bundled: the narrow recipe with more feature maps at low resolution (fmap_max 128),
# trained from scratch. Its curve beside the bundled model's first run at the same iterations, both from their logs,
# from 4k on (the 32x32 fade-in ends at 3.5k).
PROGAN_LOW_RES_WIDTH_LOG = "docs/runs/progan-fashion-mnist-low-res-width.metrics.csv"
PROGAN_FIRST_RUN = ("docs/runs/progan-fashion-mnist-first-30k.metrics.csv", "recipes/progan_fashion_mnist.yaml")
PROGAN_LOW_RES_WIDTH_MINUTES = ("343 min (twenty-eight evaluations included) in four parts: 90 min to its max_time "
                                "at 9.4k, then resumed exactly from its 9k checkpoint and stopped after its 11k "
                                "evaluation (25 min), then resumed exactly from 11k in a later session and stopped "
                                "after its 19k evaluation (94 min), then resumed from that stop (a Ctrl-C checkpoint "
                                "at 19,038) in a third session and stopped after its 28k evaluation (134 min)")


def progan_low_res_width_attempt() -> str:
    """The experiment's sentence in the progan-fashion-mnist card, every number read from the logs."""
    digits = {"fid": 1, "recall": 3}
    wide_rows = [row for row in _logged_evaluations(PROGAN_LOW_RES_WIDTH_LOG,
                                                    "recipes/progan_fashion_mnist_low_res_width.yaml")
                 if row["g_iter"] >= 4_000]
    until = int(wide_rows[-1]["g_iter"])
    narrow_rows = [row for row in _logged_evaluations(*PROGAN_FIRST_RUN) if 4_000 <= row["g_iter"] <= until]
    wide, narrow = formatted(wide_rows, digits), formatted(narrow_rows, digits)
    bundled = {key: values[-1] for key, values in PROGAN_THIRD_RUN.items()}
    return (
        " Tried against its low recall, not bundled: more feature maps at low resolution "
        "(recipes/progan_fashion_mnist_low_res_width.yaml, the only change fmap_max 128: 128 / 64 / 32 / 16 feature "
        "maps at 4 / 8 / 16 / 32 pixels instead of 32 / 32 / 32 / 16, G 426k and D 557k parameters against 87k and "
        "70k), trained from scratch in float32 on an AVX2-only CPU, one thread, "
        f"{PROGAN_LOW_RES_WIDTH_MINUTES}: in-domain FID {' / '.join(wide['fid'])} and recall "
        f"{' / '.join(wide['recall'])} at 4k-{until // 1000}k, against {' / '.join(narrow['fid'])} and "
        f"{' / '.join(narrow['recall'])} for this model's first run at the same iterations (bf16-mixed on an AMX "
        f"CPU). {progan_low_res_width_verdict(wide, narrow)}. At {until // 1000}k it had recall "
        f"{wide['recall'][-1]} and FID {wide['fid'][-1]}, where this model ended its {PROGAN_ALL_ITERATIONS // 1000}k "
        f"with {bundled['recall']} and {bundled['fid']} (the same in-training evaluation): mixed against this "
        f"model, and far below 0.40, where it ended ({PROGAN_LOW_RES_WIDTH_LOG}): the next session's machine did "
        "not keep its checkpoint, and a fresh run to 30k is about 6 hours on such a CPU, more than a session; the "
        "recipe is there for a faster machine.")


def progan_low_res_width_verdict(wide: dict[str, list[str]], narrow: dict[str, list[str]]) -> str:
    """How the experiment compares with the first run at equal iterations, from the quoted numbers."""
    everywhere = points_ahead(wide["fid"], narrow["fid"], lower_is_better=True) == len(wide["fid"])
    where = "ahead on FID at every point" if everywhere else "not ahead on FID at every point"
    ratio = float(wide["recall"][-1]) / float(narrow["recall"][-1])
    return f"It was {where}, its recall {ratio:.1f} times the first run's at its last evaluation"


PROGAN_FASHION_HARDWARE = hardware_in_parts(
    ("0-20k", CPU_RUN_HARDWARE, "97 min (twenty evaluations included; about 3 min of it paused for measurements)"),
    ("20k-30k", CPU_RUN_HARDWARE, "46 min (ten evaluations included)"),
    ("30k-42k", EPYC_RUN_HARDWARE, "36 min (twelve evaluations included)"),
    (PROGAN_THIRD_RUN_SPAN, AVX2_RUN_HARDWARE, "95 min (nine evaluations included)"))
# wgan-gp-cifar10 was trained on from its bundled export in a later session, on another machine.
WGANGP_FIRST_RUN = curve_points("docs/runs/wgan-gp-cifar10-first-7k.metrics.csv", "recipes/wgan_gp_cifar10_cpu.yaml",
                                7_000, {"fid": 1})
# The continuation's evaluations at 19k-21k (26k-28k in all), where its curve had flattened.
WGANGP_FLATTENED = {key: values[-3:] for key, values in curve_points(
    "docs/runs/wgan-gp-cifar10.metrics.csv", "recipes/wgan_gp_cifar10_cpu_continued.yaml", 21_000, {"fid": 2}).items()}
WGANGP_CIFAR10_HARDWARE = hardware_in_parts(
    ("0-7k", CPU_RUN_HARDWARE, "110 min (three evaluations included)"),
    ("7k-30k", EPYC_RUN_HARDWARE, "250 min in four parts: 51 + 87 + 20 + 92 (five, eight, two and eight "
                                  "evaluations included; 8 and 15 min paused for benchmarks excluded)"))
# rasgan-cifar10 was trained on from its bundled export in a later session, on another machine.
RASGAN_CIFAR10_FIRST_RUN = curve_points("docs/runs/rasgan-cifar10-first-20k.metrics.csv",
                                        "recipes/rasgan_cifar10_cpu.yaml", 20_000, {"fid": 1})
RASGAN_CIFAR10_HARDWARE = hardware_in_parts(
    ("0-20k", CPU_RUN_HARDWARE, "93 min (four evaluations included)"),
    ("20k-36k", EPYC_RUN_HARDWARE, "63 min (eight evaluations included)"))
# progan-cifar10's first recipe (the paper's CIFAR-10 penalty) collapsed; the zoo's model is its replacement's run.
PROGAN_CIFAR10_GAMMA_750 = curve_points("docs/runs/progan-cifar10-gamma-750.metrics.csv",
                                        "recipes/progan_cifar10_cpu.yaml", 11_000, {"fid": 1, "recall": 4})
PROGAN_CIFAR10_STANDARD_GP = curve_points("docs/runs/progan-cifar10.metrics.csv",
                                          "recipes/progan_cifar10_cpu_standard_gp.yaml", 11_000,
                                          {"fid": 1, "recall": 3})
RUN_MINUTES = {
    "wgan-cifar10": "120 min (four evaluations included)",
    "vanilla-cifar10": ("158 min in two parts: 108 (0-50k, ten evaluations included; about 8 min of it "
                        "paused for timing measurements) + 50 (50k-75k, five evaluations included)"),
}

# What the SN-GAN paper reports for the CIFAR-10 networks the zoo's sngan-cifar10 is built from.
SNGAN_CIFAR10_PAPER = [
    {"source": "Miyato et al. 2018, Table 2", "dataset": "CIFAR-10 (original pixels)", "metric": "FID",
     "value": "25.5", "note": "standard CNN at full width, hinge loss (Eq. 17); Inception features; "
                              "NOT comparable with the in-domain numbers or with FID on the JPEG copy"},
    {"source": "Miyato et al. 2018, Table 3", "dataset": "CIFAR-10 (original pixels)", "metric": "FID",
     "value": "21.7 +- 0.21", "note": "ResNet, hinge loss: the paper's best CIFAR-10 model; same caveat"},
]

# What scripts/diagnose_recall.py found for the two Fashion-MNIST models below the recall bar (its table, with the
# numbers and their protocol, is docs/recall_diagnosis.md).
STANDING_STATISTICS = ROOT / "docs" / "runs" / "standing-statistics.json"


def standing_statistics_gain(name: str, config: dict) -> str:
    """For a bundle whose EMA generator's BatchNorm statistics were recomputed (its config says so): what that
    changed, as scripts/standing_statistics.py --measure found before rewriting it. Otherwise nothing."""
    if "batchnorm_statistics" not in config:
        return ""
    result = json.loads(STANDING_STATISTICS.read_text())[name]
    before, after = result["registry"], result["standing"]
    return (" Its EMA generator's BatchNorm statistics were recomputed for the averaged weights after training (the "
            "training table's BatchNorm row): the EMA's own running statistics, averages of the trained generator's "
            f"batches, scored in-domain FID {before['fid']:.2f}, precision {before['precision']:.3f} and recall "
            f"{before['recall']:.3f} with the same weights, against {after['fid']:.2f}, {after['precision']:.3f} and "
            f"{after['recall']:.3f} recomputed (docs/runs/standing-statistics.md).")


RECALL_DIAGNOSIS = {
    "progan": "Why its recall is low while its FID is the zoo's lowest: its fakes cover the ten classes evenly but "
              "lie closer together than real images do (smaller k-NN balls), so few real images fall inside one "
              "(docs/recall_diagnosis.md).",
    "vanilla": "Why its recall is low: its fakes favour some classes over others and lie closer together than real "
               "images do (smaller k-NN balls), so few real images fall inside one (docs/recall_diagnosis.md). "
               "Fed latents scaled by 1.25 it scores more recall at a lower FID (0.342 at 11.87), and by 1.5 more "
               "recall still (0.372 at 13.37): it maps the latent distribution onto too small a region of the data "
               "(a diagnosis: the zoo samples at scale 1; docs/runs/vanilla-fashion-mnist-latent-spread.md). Both "
               "measurements were made before its BatchNorm statistics were recomputed (below); the model it "
               "replaced (EMA 0.999) showed no gain from recomputing them (16.10 / 0.205 against 16.18 / 0.203).",
}

MODELS = {
    "dcgan-fashion-mnist": {
        "variant": "dcgan",
        "features": "fashion-mnist",
        "dataset": "Fashion-MNIST (train split, 60,000 images; Debian package dataset-fashion-mnist)",
        "dataset_id": "fashion_mnist",
        "description": "DCGAN (Radford et al. 2015) trained on Fashion-MNIST at 28x28 on a 2-core CPU with the "
                       "recipe as committed: the zoo's first checkpoint. Bundled with the package as a full GAN "
                       "(generator, EMA generator and discriminator, fp16), so it can be sampled offline and "
                       "fine-tuned.",
        "recipe": "recipes/dcgan_fashion_mnist.yaml",
        "run": "docs/runs/dcgan_fashion_mnist_cpu_version_0.metrics.csv",
        "training": {
            "recipe overrides": "none (ganzoo fit --config recipes/dcgan_fashion_mnist.yaml; --trainer.max_time "
                                "00:00:45:00 as a safety cap, not reached)",
            "hardware": "2-core AMD EPYC CPU (this project's development machine), about 40 minutes",
            "batch size": 64,
            "optimizer": "Adam 2e-4, betas (0.5, 0.999), non-saturating loss, 1 D step per G step, EMA 0.999",
            "precision": "fp32",
        },
        "paper": [{"source": "Radford et al. 2015", "dataset": "-", "metric": "-", "value": "-",
                   "note": "the paper reports no Fashion-MNIST numbers; compare with the calibration in "
                           "docs/metrics.md"}],
        "sample_grid": "figures/dcgan-fashion-mnist.png",
        "bar": FASHION_BAR,
    },
    "vanilla-fashion-mnist": fashion_mnist_model(
        "vanilla", "vanilla_fashion_mnist_slow_ema",
        "The original GAN (Goodfellow et al. 2014) with the paper's saturating minimax generator loss, "
        "E[log(1 - D(G(z)))], and fully connected networks of 2 hidden layers of 1024 (the paper's MNIST networks "
        "had 1200 units per layer), on Fashion-MNIST at 28x28, trained on a 2-core CPU. Recipe changes from the "
        "paper, stated in the recipe: BatchNorm in the generator's hidden layers (MLPGenerator(batch_norm=true), as "
        "DCGAN's generator normalises), the change to the training that raised recall most of those tried (the table "
        "below), and a slower exponential moving average of the generator's weights (0.9999 instead of the zoo's "
        "default 0.999), the averaged weights being the model. "
        + RECALL_DIAGNOSIS["vanilla"] + " " + vanilla_minimax_comparison() + " " + vanilla_slow_ema_comparison()
        + " " + vanilla_minimax_trained_on(),
        "Adam 2e-4, betas (0.5, 0.999), saturating minimax loss, 1 D step per G step, EMA 0.9999",
        VANILLA_SLOW_EMA_MINUTES, precision="float32 (the recipe's `precision: 32-true`: that CPU had no native bf16)",
        hardware=AVX2_RUN_HARDWARE,
        overrides=run_in_parts("vanilla_fashion_mnist_slow_ema", "60,000",
                               "its first planned length, the EMA 0.999 run's, to compare the two",
                               length_override="--model.init_args.max_generator_iterations 80000",
                               final_stop="80k"),
        history=VANILLA_MINIMAX_HISTORY + " " + VANILLA_NON_SATURATING_HISTORY, attempts=VANILLA_ATTEMPTS),
    "wgan-fashion-mnist": continued_in_float32(
        "wgan",
        "WGAN with weight clipping (Arjovsky et al. 2017) on the DCGAN networks, on Fashion-MNIST at 28x28, "
        "trained on a 2-core CPU with the paper's RMSProp settings.",
        "RMSProp 5e-5, clipping c = 0.01, 5 critic steps per G step, EMA 0.999",
        first_recipe="wgan_fashion_mnist", first_minutes=MINUTES["wgan"], minutes=CONTINUED_MINUTES["wgan"],
        first_overrides=run_in_parts("wgan_fashion_mnist", "10,000, 30,000 and 50,000", STILL_FALLING)),
    "wgan-gp-fashion-mnist": continued_in_float32(
        "wgan-gp",
        "WGAN-GP (Gulrajani et al. 2017) on the DCGAN networks without BatchNorm in the critic, on Fashion-MNIST "
        "at 28x28, trained on a 2-core CPU with the paper's settings.",
        "Adam 1e-4, betas (0, 0.9), gradient penalty lambda = 10, 5 critic steps per G step, EMA 0.999",
        first_recipe="wgan_gp_fashion_mnist", first_minutes=MINUTES["wgan_gp"], minutes=CONTINUED_MINUTES["wgan-gp"],
        first_overrides=run_in_parts("wgan_gp_fashion_mnist", "6,000, 12,000 and 24,000", STILL_FALLING)),
    "sngan-fashion-mnist": continued_in_float32(
        "sngan",
        "SN-GAN (Miyato et al. 2018): hinge loss and spectral normalisation in every discriminator layer, on the "
        "DCGAN networks, on Fashion-MNIST at 28x28, trained on a 2-core CPU.",
        "Adam 2e-4, betas (0, 0.9), hinge loss, 5 D steps per G step, EMA 0.999",
        first_recipe="sngan_fashion_mnist", first_minutes=MINUTES["sngan"], minutes=CONTINUED_MINUTES["sngan"],
        first_overrides=run_in_parts("sngan_fashion_mnist", "10,000", STILL_FALLING)),
    "rasgan-fashion-mnist": fashion_mnist_model(
        "rasgan", "rasgan_fashion_mnist_wide",
        "Relativistic average standard GAN (Jolicoeur-Martineau 2018) on the DCGAN networks at twice the width of "
        "the DCGAN recipe's (base width 64: G 534k, D 139k parameters), on Fashion-MNIST at 28x28, trained on a "
        "2-core CPU. Recipe change from the paper's setting, stated in the recipe: the discriminator has BatchNorm "
        "(as in the DCGAN recipe). The paper's unnormalised discriminator, on the width-32 networks with the same "
        "optimizer, reached only in-domain FID 19.9 / recall 0.26 at 25k and 18.0 / 0.29 at 40k generator "
        "iterations (docs/runs/rasgan-fashion-mnist-unnormalised-d.metrics.csv); with BatchNorm the same loss "
        "reached recall 0.40 by 10k.",
        "Adam 2e-4 (constant), betas (0.5, 0.999), RaSGAN loss, 1 D step per G step, EMA 0.999",
        RASGAN_WIDE_MINUTES, hardware=RASGAN_WIDE_HARDWARE, history=RASGAN_WIDTH_32_HISTORY,
        overrides=run_in_parts("rasgan_fashion_mnist_wide", "25,000 and 27,500",
                               "at a session's end, and to move from one thread to two")),
    "progan-fashion-mnist": {
        **fashion_mnist_model(
            "progan", "progan_fashion_mnist_continued_2",
            "Progressive growing (Karras et al. 2018) from 4x4 to 32x32 on Fashion-MNIST padded to 32x32 "
            "(samples are cropped back to 28x28), narrow networks sized for a 2-core CPU. "
            + RECALL_DIAGNOSIS["progan"],
            "Adam 1e-3, betas (0, 0.99), WGAN-GP loss (lambda 10) + epsilon-drift 0.001, 1 D step per G step, "
            "EMA 0.999, optimizer state reset per phase", "", batch_size=32,
            hardware=PROGAN_FASHION_HARDWARE, overrides=continued_overrides(
                ("0-30k", run_in_parts("progan_fashion_mnist", "20,000", "a session's end, its FID still falling",
                                       length_override="--model.init_args.max_images_shown 1024000",
                                       final_stop="30k (960k images)")),
                ("30k-42k", unchanged("progan_fashion_mnist_continued")),
                (PROGAN_THIRD_RUN_SPAN, PROGAN_THIRD_RUN_OVERRIDES)),
            precision="bf16-mixed to 42k, then float32 (`--trainer.precision 32-true`: that CPU had no native bf16)",
            history=(
                "Recipe change: this run shows 960k real images (30k iterations, 26.5k of them at 32x32) where the "
                "recipe first said 160k; the 160k run it replaces ended with in-domain FID 59.06 and recall 0.003, "
                "its FID still falling 113 -> 59 over its last 1,000 iterations (its log: "
                "docs/runs/progan-fashion-mnist-160k.metrics.csv). It was trained in two parts: to 640k images (20k "
                f"iterations), where its FID was still falling ({PROGAN_AT_20K['fid']}, recall "
                f"{PROGAN_AT_20K['recall']}), and on to 960k in a later session, the same run resumed exactly "
                "(docs/runs/progan-fashion-mnist-first-30k.metrics.csv). That run was bundled at 30k, its FID still "
                f"falling ({PROGAN_AT_30K['fid']}, recall {PROGAN_AT_30K['recall']}). "
                + continued_from_export("progan_fashion_mnist_continued",
                                        "docs/runs/progan-fashion-mnist-continued-12k.metrics.csv",
                                        length=" at 32x32 for 12k more iterations (384k images, to 1,344k)",
                                        kept="the grown stage and the EMA kept")
                + f" That run's export was bundled at 42k (FID {PROGAN_AT_42K['fid']}, recall "
                  f"{PROGAN_AT_42K['recall']}). "
                + continued_from_export("progan_fashion_mnist_continued_2", "docs/runs/progan-fashion-mnist.metrics.csv",
                                        length=f" for {PROGAN_THIRD_RUN_ITERATIONS // 1000}k more iterations "
                                               f"({PROGAN_THIRD_RUN_ITERATIONS * 32 // 1000:,}k images, to "
                                               f"{PROGAN_ALL_ITERATIONS * 32 // 1000:,}k)",
                                        kept="the grown stage and the EMA kept", export="the 42k export",
                                        first_continuation=False)
                + f" Its evaluations every 2k: FID {' / '.join(PROGAN_THIRD_RUN['fid'])} and recall "
                  f"{' / '.join(PROGAN_THIRD_RUN['recall'])}."
                + " The stage grids are the first run's (its 32x32 grid at 30k)."
                + progan_low_res_width_attempt())),
        "stage_grids": "figures/progan-fashion-mnist-stages.png",
    },
    "sngan-cifar10": cifar10_model(
        "sngan", "sngan_cifar10_cpu",
        "SN-GAN (Miyato et al. 2018) with the paper's standard CNN generator and spectrally normalised "
        "discriminator at half width (256 channels at the bottom), hinge loss, n_dis 1.",
        "Adam 2e-4, betas (0.5, 0.999), hinge loss, 1 D step per G step (the paper's setting C), EMA 0.999",
        SNGAN_CIFAR10_PAPER,
        hardware=f"{GRAPHED_GPU_HARDWARE}; 280 generator iterations per second at the start, 100-145 while sharing",
        overrides=("length only: `--max-iterations 150000` (scripts/gpu/train_graphed.py), an upper bound; the run "
                   "trained for its 480 s and stopped at the iteration it had reached, with the recipe's constant "
                   f"learning rate. Otherwise the recipe as it is; {GRAPHED_DIFFERENCE}"),
        trained=GRAPHED_ON_GPU, evaluation_every=1, bar=SNGAN_CIFAR10_BAR, history=(
            "It replaces the same recipe's 30k-iteration run on the CPU (2-core AMD EPYC, two threads, 103 min; "
            "in-domain FID 38.99, recall 0.250; Inception FID 33.61, recall 0.351 under the protocol below; its log "
            "docs/runs/sngan-cifar10-cpu.metrics.csv), which missed the recall bar, and before it a 2,680-iteration "
            "ResNet run (in-domain FID 116.7, recall 0.01; Inception FID 131.4) whose samples were blurs. "
            "Tried on that 30k model and not kept: continuing it from 30k to 45k "
            "iterations "
            "with the paper's linear learning-rate decay (`--model.init_args.lr_schedule linear "
            "--model.init_args.max_generator_iterations 45000 --ckpt_path last`, so the rate dropped to 1/3 and fell "
            "to 0; 80 min on one thread) moved in-domain FID 38.99 -> 39.32 and recall 0.250 -> 0.265, and Inception "
            "FID 33.61 -> 36.95 with recall 0.351 -> 0.333: no improvement, so the 30k weights stayed "
            "(the continuation's log: docs/runs/sngan-cifar10-linear-decay.metrics.csv). That model's raw generator "
            "(same protocol) scored FID 41.49, recall 0.238: its EMA weights were better on both, so averaging was "
            "not what held recall down. Also tried and not kept: "
            "the paper's full-width generator (3.8M parameters) with this discriminator "
            "(recipes/sngan_cifar10_cpu_wide_generator.yaml, both threads) measured in-domain FID "
            f"{' / '.join(SNGAN_WIDE_GENERATOR['fid'])} and recall {' / '.join(SNGAN_WIDE_GENERATOR['recall'])} at "
            f"5k / 10k against this run's {' / '.join(SNGAN_HALF_WIDTH['fid'])} and "
            f"{' / '.join(SNGAN_HALF_WIDTH['recall'])}, at about twice the time per iteration (0.40 s against "
            "0.21 s, evaluations included), "
            "so it was stopped at 10k (its log: docs/runs/sngan-cifar10-wide-generator.metrics.csv). Nor two "
            "continuations of these 30k weights that train the discriminator harder, run side by side on one "
            "thread each from the bundled export: 5 D steps per G step "
            "(recipes/sngan_cifar10_cpu_ndis5_continued.yaml) measured FID "
            f"{' / '.join(SNGAN_NDIS5['fid'])} and recall {' / '.join(SNGAN_NDIS5['recall'])} after +1k / +2k "
            "generator iterations; the two time-scale rule, D 4e-4 and G 1e-4 at n_dis 1 "
            f"(recipes/sngan_cifar10_cpu_ttur_continued.yaml), {' / '.join(SNGAN_TTUR['fid'])} and "
            f"{' / '.join(SNGAN_TTUR['recall'])} after +2.5k / +5k: neither moved recall, so both were stopped "
            "(logs: docs/runs/sngan-cifar10-ndis5-continued.metrics.csv, -ttur-continued.metrics.csv). Nor a "
            "continuation with a slower average of the generator's weights, EMA 0.9999 instead of 0.999, the "
            "change that took vanilla-fashion-mnist from recall 0.20 to 0.27 on the same training "
            "(recipes/sngan_cifar10_cpu_slow_ema_continued.yaml, from the bundled export with its EMA kept, n_dis 1, "
            "float32 on one thread of an AVX2-only CPU, about 0.8 s per generator iteration): FID "
            f"{' / '.join(SNGAN_SLOW_EMA['fid'])} and recall {' / '.join(SNGAN_SLOW_EMA['recall'])} after "
            f"{SNGAN_SLOW_EMA_AT} against the bundled 38.99 and 0.250: no real change, so it was stopped "
            "(docs/runs/sngan-cifar10-slow-ema-continued.metrics.csv). Nor a continuation with DiffAugment (Zhao "
            "et al. 2020: colour, translation and cutout on every image D scores, real and fake, in both players' "
            "updates; recipes/sngan_cifar10_cpu_diffaugment_continued.yaml with `--trainer.precision 32-true`, from "
            "the bundled export with its EMA kept, n_dis 1, one thread of an AVX2-only CPU, about 1 s per "
            f"generator iteration): FID {' / '.join(SNGAN_DIFFAUGMENT['fid'])} and recall "
            f"{' / '.join(SNGAN_DIFFAUGMENT['recall'])} after {SNGAN_DIFFAUGMENT_AT}, worse at each evaluation, so "
            "it was stopped at +3.55k (docs/runs/sngan-cifar10-diffaugment-continued.metrics.csv).")),
    "sngan-cifar10-resnet": cifar10_model(
        "sngan", "sngan_cifar10",
        "SN-GAN (Miyato et al. 2018) with the paper's CIFAR-10 ResNet: generator of three up-sampling residual blocks "
        "of 256 channels with BatchNorm, discriminator of four residual blocks of 128 channels, spectral norm on "
        "every layer of the discriminator; hinge loss, n_dis 5, the paper's recipe.",
        "Adam 2e-4, betas (0.0, 0.9), hinge loss, 5 D steps per G step, linear learning-rate decay, EMA 0.999",
        SNGAN_CIFAR10_PAPER, name="sngan-cifar10-resnet", trained=GRAPHED_ON_GPU, evaluation_every=1,
        hardware=f"{GRAPHED_GPU_HARDWARE}; 30.2 generator iterations per second while it had the GPU to itself",
        overrides=("length: 5,709 generator iterations in 480 s instead of the recipe's 50k. The linear decay was "
                   "set to reach 0 at 12,400 iterations, the length the speed measured at the start (30.2 it/s, the "
                   "other runs still starting) allowed; the two runs beside it then slowed it to about 10 it/s, so "
                   "it stopped with the rate at 54% of its start. "
                   f"Otherwise the recipe as it is; {GRAPHED_DIFFERENCE}"),
        bar={**SNGAN_CIFAR10_BAR, "for": "the CIFAR-10 SN-GANs"}, history=(
            "The ganzoo loop (`ganzoo fit`) trained this recipe at 2.6 generator iterations per second on the same "
            "kind of GPU (docs/runs/gpu-session-2026-12-04.md); replayed as a CUDA graph it ran 11.6 times faster. "
            "A longer run on a GPU of its own would train the paper's 50k iterations in about half an hour.")),
    "dcgan-cifar10": cifar10_model(
        "dcgan", "dcgan_cifar10_cpu",
        "DCGAN (Radford et al. 2015) at the paper's size for 32x32 (base width 64, BatchNorm in both networks), "
        "non-saturating loss, batch 128.",
        "Adam 2e-4, betas (0.5, 0.999), non-saturating loss, 1 D step per G step, EMA 0.999",
        [{"source": "Gulrajani et al. 2017, Table 3", "dataset": "CIFAR-10 (original pixels)",
          "metric": "Inception score", "value": "6.16 +- 0.07",
          "note": "DCGAN, unsupervised; Inception network; NOT comparable with the in-domain IS below"}],
        hardware=DCGAN_CIFAR10_HARDWARE, overrides=DCGAN_CIFAR10_OVERRIDES, batch_size=128),
    "rasgan-cifar10": {"like_for_like": "sngan-cifar10",
                       # sngan-cifar10 is now a GPU run; the like-for-like run is the one trained as this one was
                       "like_for_like_run": {"run": "docs/runs/sngan-cifar10-cpu.metrics.csv", "evaluation_every": None,
                                             "label": "sngan-cifar10's 30k CPU run"},
                       "like_for_like_why": "the same networks and batch; RaSGAN without spectral norm against "
                                            "hinge with spectral norm", **cifar10_model(
        "rasgan", "rasgan_cifar10_cpu_continued",
        "Relativistic average standard GAN (Jolicoeur-Martineau 2018) on the SN-GAN paper's standard CNN without "
        "spectral normalisation (the RaSGAN paper's CIFAR-10 networks) at half width, batch 64: the same networks "
        "and batch as sngan-cifar10, so the two differ only in the loss and spectral norm. 36k generator "
        "iterations in two runs (the paper trains 100k), each sized for one CPU thread in one session. The first, "
        "recipes/rasgan_cifar10_cpu.yaml for 20k (docs/runs/rasgan-cifar10-first-20k.metrics.csv), was bundled "
        f"while its curve was still falling (in-domain FID {' / '.join(RASGAN_CIFAR10_FIRST_RUN['fid'])} at "
        "5k-20k). " + continued_from_export("rasgan_cifar10_cpu_continued", "docs/runs/rasgan-cifar10.metrics.csv",
                                           length=" for 16k more iterations"),
        "Adam 2e-4, betas (0.5, 0.999), RaSGAN loss, 1 D step per G step, EMA 0.999",
        [{"source": "Jolicoeur-Martineau 2018, Table 2", "dataset": "CIFAR-10 (original pixels)", "metric": "FID",
          "value": "-", "note": "the paper's CIFAR-10 table for this setting (full width, batch 32, 100k iterations) "
                                "ranks RaSGAN ahead of SGAN; Inception features, NOT comparable with the in-domain "
                                "numbers or with FID on the JPEG copy"}],
        hardware=RASGAN_CIFAR10_HARDWARE,
        overrides=continued_overrides(("0-20k", unchanged("rasgan_cifar10_cpu")),
                                      ("20k-36k", unchanged("rasgan_cifar10_cpu_continued"))))},
    "wgan-gp-cifar10": cifar10_model(
        "wgan-gp", "wgan_gp_cifar10_cpu_continued",
        "WGAN-GP (Gulrajani et al. 2017) on the SN-GAN paper's standard CNN without spectral norm (the networks of "
        "that paper's WGAN-GP baseline) at a quarter width (128 channels at the bottom), with the WGAN-GP paper's "
        "optimizer and penalty: 30k generator iterations in two runs (150k critic steps; the paper trains "
        "100k), each sized for one CPU thread in one session. The first, recipes/wgan_gp_cifar10_cpu.yaml, was "
        "planned at 8k and stopped at the 7k checkpoint when the run proved slower on this machine than timed (the "
        "recipe now says 7k; the learning rate is constant, so nothing else depends on the length); it was bundled "
        f"while its curve was still falling steeply (in-domain FID {' / '.join(WGANGP_FIRST_RUN['fid'])} at "
        "2k / 4k / 6k, 55.72 at 7k: its registry entry at commit a4b8c1e). "
        + continued_from_export("wgan_gp_cifar10_cpu_continued", "docs/runs/wgan-gp-cifar10.metrics.csv",
                                length=" for 23k more iterations")
        + " The zoo bundled that run three times: 5k into it (12k in all; in-domain FID 49.94: its registry entry "
          "at commit bcf0ed9), 15k into it (22k in all; 39.99: the entry at commit 5cd89cb), both "
          "times with its curve still falling, and at 23k (30k in all), where it had flattened ("
          + " / ".join(WGANGP_FLATTENED["fid"]) + " at 26k / 27k / 28k in training).",
        "Adam 1e-4, betas (0, 0.9), gradient penalty lambda = 10, 5 critic steps per G step, constant learning "
        "rate, EMA 0.999",
        [{"source": "Miyato et al. 2018, Table 2", "dataset": "CIFAR-10 (original pixels)", "metric": "FID",
          "value": "40.2", "note": "WGAN-GP on the standard CNN at full width (IS 6.68 +- 0.06); Inception features; "
                                   "NOT comparable with the in-domain numbers or with FID on the JPEG copy"},
         {"source": "Gulrajani et al. 2017, Table 3", "dataset": "CIFAR-10 (original pixels)",
          "metric": "Inception score", "value": "7.86 +- 0.07",
          "note": "ResNet, unsupervised; Inception network; NOT comparable with the in-domain IS below"}],
        hardware=WGANGP_CIFAR10_HARDWARE,
        overrides=continued_overrides(
            ("0-7k", "none in effect: started as `ganzoo fit --config recipes/wgan_gp_cifar10_cpu.yaml` when the "
                     "recipe said 8k iterations, stopped after the 7k checkpoint, and the recipe cut to 7k; the "
                     "learning rate is constant, so the first 7k iterations are those of a 7k run"),
            ("7k-30k", run_in_parts("wgan_gp_cifar10_cpu_continued", "5,000, 13,000 and 15,000", STILL_FALLING))),
        history="The first run's log is docs/runs/wgan-gp-cifar10-first-7k.metrics.csv; its training-curve points "
                "missing from that log (Lightning dropped evaluations logged just before an epoch ended, fixed "
                "since) were measured after training from the run's checkpoints with the run's own evaluation "
                "callback and protocol (scripts/evaluate_checkpoints.py; "
                "docs/runs/wgan-gp-cifar10-first-7k.evaluations.csv). The second run's first resume named its "
                "checkpoint instead of `last`, so Lightning logged it into a new folder; the two logs were joined "
                "at the checkpoint's step, as `--ckpt_path last` does itself (ganzoo/training_cli.py)."),
    "wgan-cifar10": cifar10_model(
        "wgan", "wgan_cifar10_cpu",
        "WGAN with weight clipping (Arjovsky et al. 2017) on the paper-size DCGAN networks for 32x32 (base width "
        "64, BatchNorm in both networks, as in the WGAN paper's DCGAN experiments) with the paper's optimizer, "
        "clipping and critic steps: 10k generator iterations (50k critic steps; the paper trains far longer), "
        "sized for one CPU thread in one session.",
        "RMSProp 5e-5, weights clipped to [-0.01, 0.01], 5 critic steps per G step, EMA 0.999",
        [{"source": "Miyato et al. 2018, Table 2", "dataset": "CIFAR-10 (original pixels)", "metric": "FID",
          "value": "42.6", "note": "weight clipping on the SN-GAN paper's standard CNN (not DCGAN), full width, "
                                   "IS 6.41 +- 0.11; Inception features; NOT comparable with the in-domain numbers "
                                   "or with FID on the JPEG copy"}]),
    "progan-cifar10": {
        **cifar10_model(
            "progan", "progan_cifar10_cpu_standard_gp",
            "Progressive growing (Karras et al. 2018) from 4x4 to 32x32 with the paper's default loss (WGAN-GP with "
            "gamma = 1 and lambda = 10, epsilon-drift 0.001), minibatch stddev in groups of 4, pixel norm, equalized "
            "learning rate and latent 128, at half the paper's width (64 feature maps) and a CPU schedule: 32k images "
            "per fade-in and per stabilisation instead of 400k, 560k images in all (17.5k generator iterations, 12.5k "
            "of them at 32x32) instead of 20M. One change from the paper's CIFAR-10 setting, stated in the recipe: "
            "that setting's penalty centred at gamma = 750 (with groups of 16) was chosen for 20M images at full "
            "width, and on this budget it collapsed (below).",
            "Adam 1e-3, betas (0, 0.99), WGAN-GP loss (gamma = 1, lambda = 10) + epsilon-drift 0.001, 1 D step per "
            "G step, EMA 0.999, optimizer state reset per phase",
            [{"source": "Karras et al. 2018, Section 6.5", "dataset": "CIFAR-10 (original pixels)",
              "metric": "Inception score", "value": "8.80 +- 0.05",
              "note": "unsupervised, 128 feature maps, 20M images; Inception network; NOT comparable with the "
                      "in-domain IS below"}], batch_size=32,
            hardware=("2-core AMD EPYC CPU with AVX2 only (float32), two threads, 277 min in four parts: 110 "
                      "(0-10.5k, three evaluations included) + 13 (10.5k-11k, resumed exactly from its 10.5k "
                      "checkpoint after the machine restarted; one evaluation included) + 82 (11k-14k, resumed "
                      "exactly from its 11k checkpoint; one evaluation included, 7 min paused for a measurement "
                      "excluded) + 72 (14k-17.5k, resumed exactly from its 14k checkpoint in the next session; one "
                      "evaluation included, 35 min paused for a GPU session's preparation excluded)"),
            overrides=("--trainer.precision 32-true (that CPU had no native bf16); run to 11k with the recipe's first "
                       "length (352k images), then resumed exactly from its 11k checkpoint with "
                       "--model.init_args.max_images_shown 528000 and stopped at its 14k checkpoint for the "
                       "session's time, then resumed exactly from that checkpoint with "
                       "--model.init_args.max_images_shown 616000 and stopped at its 17.5k checkpoint for the next "
                       "session's time (the recipe now says 560k)"),
            precision="float32 (`--trainer.precision 32-true`: that CPU had no native bf16)", history=(
                "It replaces the zoo's first progan-cifar10: the same networks, schedule and optimizer with the "
                "paper's CIFAR-10 penalty (recipes/progan_cifar10_cpu.yaml: WGAN-GP centred at gamma = 750, "
                "minibatch stddev in groups of 16; bf16-mixed, 110 min on one thread of an AMX CPU), which collapsed "
                "onto a few shapes repeated across its grid: in-domain FID "
                f"{' / '.join(PROGAN_CIFAR10_GAMMA_750['fid'])} and recall "
                f"{' / '.join(PROGAN_CIFAR10_GAMMA_750['recall'])} at 2.75k / 5.5k / 8.25k / 11k "
                "(docs/runs/progan-cifar10-gamma-750.metrics.csv), against "
                f"{' / '.join(PROGAN_CIFAR10_STANDARD_GP['fid'])} and "
                f"{' / '.join(PROGAN_CIFAR10_STANDARD_GP['recall'])} for this recipe at the same iterations; "
                "Inception FID 108.5, recall 0.0004 (its registry entry and weights at commit 5d9643c). Trained on "
                "at 32x32 for 5,000 more generator iterations (recipes/progan_cifar10_cpu_continued.yaml, 91 min "
                "on one thread), that model measured in-domain FID 77.35 / 75.98 / 75.65 / 79.36 and recall "
                "0.0008 / 0.0015 / 0.0017 / 0.0009 at +1,375 / +2,750 / +4,125 / +5,000 "
                "(docs/runs/progan-cifar10-continued-5k.metrics.csv and .evaluations.csv): still collapsed, so "
                "length was not what it lacked. This model was bundled at 11k first (in-domain FID 58.44, recall "
                "0.103; Inception FID 81.3, recall 0.048; commit 5a8fca4), its FID still falling, trained on "
                "to 14k in the same session (in-domain FID 55.13, recall 0.122; Inception FID 65.26, recall "
                "0.093; commit f55d1d1), then to 17.5k in the next.")),
        "stage_grids": "figures/progan-cifar10-stages.png",
    },
    "vanilla-cifar10": cifar10_model(
        "vanilla", "vanilla_cifar10_cpu",
        "The original GAN (Goodfellow et al. 2014) with the non-saturating generator loss and fully connected "
        "networks of 2 hidden layers of 1024 in both players (the zoo's vanilla-fashion-mnist networks, 3072 "
        "inputs): the baseline every later variant improved on.",
        "Adam 2e-4, betas (0.5, 0.999), non-saturating loss, 1 D step per G step, EMA 0.999",
        [{"source": "Goodfellow et al. 2014", "dataset": "CIFAR-10", "metric": "-", "value": "-",
          "note": "the paper shows CIFAR-10 samples but reports no FID or Inception score for them"}],
        overrides=run_in_parts("vanilla_cifar10_cpu", "50,000", "a session's end, its FID still falling",
                               length_override="--model.init_args.max_generator_iterations 80000",
                               final_stop="75k"),
        history=(f"Trained on from 50k (FID {VANILLA_CIFAR10_AT_50K['fid']}, recall "
                 f"{VANILLA_CIFAR10_AT_50K['recall']}, still falling) to 75k in a later session. Tried and not "
                 "kept: BatchNorm in the generator's hidden layers (recipes/vanilla_cifar10_cpu_batch_norm.yaml, "
                 "the change that raised recall on Fashion-MNIST; one thread, about 0.07 s per iteration) measured "
                 f"FID {' / '.join(VANILLA_CIFAR10_BATCH_NORM['fid'])} at 5k-25k against "
                 f"{' / '.join(VANILLA_CIFAR10_FIRST_25K['fid'])} for this run: a faster start, then the same "
                 "pace, about 4 per 5k, with recall still 0.002. Ahead by about 5 at 25k, it would not reach this "
                 "model's 75k, nor the bar of 60, in a session, so it was stopped after its 25k evaluation "
                 "(docs/runs/vanilla-cifar10-batch-norm.metrics.csv). Nor training this 75k export on with the same "
                 "recipe (recipes/vanilla_cifar10_cpu_continued.yaml: FineTuneFrom with the EMA kept, fresh Adam "
                 f"moments, data order seed {recipe_seed('vanilla_cifar10_cpu_continued')}; float32 on an AVX2-only "
                 "CPU, one thread, about 0.11 s per iteration): FID "
                 f"{' / '.join(VANILLA_CIFAR10_CONTINUED['fid'])} and recall "
                 f"{' / '.join(VANILLA_CIFAR10_CONTINUED['recall'])} at +5k / +10k, flat where the first run's "
                 "last 25k had gained about 1.5 per 5k, so it was stopped there "
                 "(docs/runs/vanilla-cifar10-continued.metrics.csv). Nor the same continuation with a slower EMA "
                 "(decay 0.9999, recipes/vanilla_cifar10_cpu_slow_ema_continued.yaml; two threads, about 0.08 s per "
                 f"iteration): FID {' / '.join(VANILLA_CIFAR10_SLOW_EMA['fid'])} and recall "
                 f"{' / '.join(VANILLA_CIFAR10_SLOW_EMA['recall'])} at +5k / +10k / +15k "
                 "(docs/runs/vanilla-cifar10-slow-ema-continued.metrics.csv).")),
}


CURVE_NOTE = ("Measured during training by the evaluation callback (EMA generator, 10k fakes against the {train} "
              "train images, in-domain features, seed 0: the same protocol as the table below). A curve still "
              "falling at the end says more training would help.")


def bar_note(spec: dict, metrics: list[dict]) -> str:
    """One sentence: does the model meet the zoo's bar for its data set (measured, not hoped)?"""
    bar = spec.get("bar")
    if bar is None or not metrics:
        return ""
    values = {m["name"]: m["value"] for m in metrics}
    meets = values["fid"] <= bar["fid"] and (bar["recall"] is None or values["recall"] >= bar["recall"])
    verdict = "meets it" if meets else "below it; the training curve shows whether more training would help"
    recall_bar = f" with recall >= {bar['recall']:.2f}" if bar["recall"] is not None else ""
    return (f" The zoo's bar for {bar['for']} is in-domain FID <= {bar['fid']:g}{recall_bar}; this model has "
            f"FID {values['fid']:.2f}, recall {values['recall']:.2f}: {verdict}.")


def cifar10_ordering_note(measured: dict[str, list[dict]]) -> str:
    """One sentence for every CIFAR-10 card: the literature's ranking of the variants, the zoo's
    measured in-domain FIDs in that order, and whether the zoo's ranking agrees."""
    fid = {name.removesuffix("-cifar10"): {m["name"]: m["value"] for m in metrics}["fid"]
           for name, metrics in measured.items()
           if name in MODELS and MODELS[name]["dataset_id"] == "cifar10" and metrics}
    tiers = [[variant for variant in tier if variant in fid] for tier in CIFAR10_LITERATURE_ORDER]
    tiers = [tier for tier in tiers if tier]
    listed = "; ".join(", ".join(f"{variant} {fid[variant]:.2f}" for variant in tier) for tier in tiers)
    disagreements = [f"{worse} ({fid[worse]:.2f}) beats {better} ({fid[better]:.2f})"
                     for i, tier in enumerate(tiers) for better in tier
                     for lower in tiers[i + 1:] for worse in lower if fid[worse] < fid[better]]
    verdict = ("the zoo agrees" if not disagreements else
               "the zoo disagrees: " + ", ".join(disagreements) + " (see each card's recipe notes for why)")
    if len(tiers) < 2:
        verdict = "only one tier is trained so far, so the ranking cannot be checked yet"
    return (" On CIFAR-10 the literature ranks SN-GAN and WGAN-GP ahead of DCGAN, ahead of WGAN with weight "
            f"clipping and the vanilla MLP GAN. The zoo's in-domain FIDs in that order: {listed}; {verdict}.")


def evaluation_log(spec: dict) -> dict[int, dict[str, float]]:
    """The evaluation callback's numbers in a zoo model's run log, by generator iteration."""
    from bundle_run import curve_rows, evaluation_period_in

    every = spec.get("evaluation_every") or evaluation_period_in(ROOT / spec["recipe"])
    return {row["g_iter"]: row for row in curve_rows(ROOT / spec["run"], every)}


def like_for_like_note(name: str, spec: dict) -> str:
    """One sentence comparing a model with the zoo model it was built to be compared with (same networks
    and batch, another loss), at the same generator iteration, from the two runs' evaluation logs."""
    other_name = spec.get("like_for_like")
    if not other_name:
        return ""
    other = {**MODELS[other_name], **spec.get("like_for_like_run", {})}
    mine, theirs = evaluation_log(spec), evaluation_log(other)
    common = sorted(set(mine) & set(theirs))
    if not common:
        return ""
    at = common[-1]
    a, b = mine[at], theirs[at]
    verdict = "better" if a["fid"] < b["fid"] else "worse"
    label = other.get("label", other_name)
    return (f" Like for like with {label} ({spec['like_for_like_why']}), at {at:,} generator iterations in the "
            f"two runs' evaluation logs (the training curves' protocol): in-domain FID {a['fid']:.2f} against "
            f"{b['fid']:.2f} and recall {a['recall']:.2f} against {b['recall']:.2f}, so this loss did {verdict} here.")


def generator_iterations(run_csv: Path) -> int:
    with open(ROOT / run_csv) as handle:
        values = [float(row["g_iter"]) for row in csv.DictReader(handle) if row.get("g_iter")]
    return int(max(values))


def measure(name: str, spec: dict, generator) -> list[dict]:
    from ganzoo.metrics import evaluate_generator

    results = evaluate_generator(generator, metrics=("fid", "kid", "is", "pr"), features=spec["features"],
                                 n=NUM_FAKES, seed=0, device="cpu")
    for result in results:
        print(f"{name}: {result}")
    return [result.to_dict() for result in results]


def measure_inception(name: str, spec: dict, generator) -> list[dict]:
    from ganzoo.metrics import evaluate_generator

    reference = f"{spec['features']}:train:{INCEPTION_REFERENCE_COUNT}"
    results = evaluate_generator(generator, metrics=("fid", "kid", "pr"), features="inception", n=INCEPTION_FAKES,
                                 seed=0, reference=reference, device="cpu")
    for result in results:
        print(f"{name}: {result}")
    return [result.to_dict() for result in results]


def _store(path: Path, name: str, results: list[dict]) -> None:
    """Write one model's results into ``path``, re-reading it first: measuring takes long and
    another build_zoo may have stored other models meanwhile."""
    stored = json.loads(path.read_text()) if path.exists() else {}
    stored[name] = results
    path.write_text(json.dumps(stored, indent=2) + "\n")


def sample_grid(generator, path: Path) -> None:
    from torchvision.utils import save_image

    save_image(generator.sample(64, seed=0), path, nrow=8, normalize=True, value_range=(-1, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuse", action="store_true", help="reuse model_cards/metrics.json instead of measuring")
    parser.add_argument("--no-metrics", action="store_true", help="write entries without measuring (bootstrap)")
    parser.add_argument("--only", nargs="+", metavar="NAME", default=None,
                        help="measure only these models; the others reuse model_cards/metrics.json")
    parser.add_argument("--inception", nargs="+", metavar="NAME", default=[],
                        help="measure these models' Inception numbers (slow on a CPU: see INCEPTION_FAKES); "
                             "the others keep model_cards/inception_metrics.json")
    args = parser.parse_args()
    bundled = {name: spec for name, spec in MODELS.items() if _is_bundled(name)}
    measured, inception = _read_json(METRICS_FILE), _read_json(INCEPTION_FILE)
    for name, spec in bundled.items():
        reuse = args.reuse or (args.only is not None and name not in args.only)
        needs_in_domain = not args.no_metrics and (not reuse or name not in measured)
        needs_inception = name in args.inception
        if needs_in_domain or needs_inception:
            generator = _load_bundled(name)
        if needs_in_domain:
            _store(METRICS_FILE, name, measure(name, spec, generator))
        if needs_inception:
            _store(INCEPTION_FILE, name, measure_inception(name, spec, generator))
    # Render every entry from the files as they are now, not as they were when this run started:
    # measuring takes long, and another build_zoo running in parallel may have stored other models.
    measured, inception = _read_json(METRICS_FILE), _read_json(INCEPTION_FILE)
    registry = {}
    for name, spec in bundled.items():
        note = cifar10_ordering_note(measured) if spec["dataset_id"] == "cifar10" else ""
        note += like_for_like_note(name, spec)
        registry[name] = write_entry(name, spec, measured.get(name, []), inception.get(name, []), note)
    REGISTRY_PATH.write_text(json.dumps(registry, indent=2) + "\n")
    print(f"wrote {REGISTRY_PATH.relative_to(ROOT)}")
    update_readme(registry)


def _is_bundled(name: str) -> bool:
    if (BUNDLED_DIR / f"{name}.safetensors").is_file():
        return True
    print(f"skipping {name}: ganzoo/zoo/weights/{name}.safetensors not bundled yet (scripts/bundle_run.py)")
    return False


def _load_bundled(name: str):
    """The bundled files themselves: what a user's `ganzoo.load(name)` gets."""
    return load_generator_from_folder(BUNDLED_DIR, weights_path=BUNDLED_DIR / f"{name}.safetensors",
                                      config_path=BUNDLED_DIR / f"{name}.json")


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def standing_statistics_row(config: dict) -> dict[str, str]:
    """The card's training row for an export whose EMA generator got BatchNorm statistics of its own
    (scripts/standing_statistics.py, scripts/bundle_run.py --standing-statistics); none otherwise."""
    standing = config.get("batchnorm_statistics")
    if not standing:
        return {}
    last_seed = standing["first_seed"] + standing["batches"] - 1
    return {"BatchNorm statistics": (
        f"recomputed after training for the published {standing['recomputed_for']}: a cumulative average over "
        f"{standing['batches']} batches of {standing['batch_size']} latents (seeds {standing['first_seed']}-"
        f"{last_seed}), torch.optim.swa_utils.update_bn; the weights are unchanged. The EMA's averaged running "
        "statistics lag the averaged weights (docs/runs/vanilla-fashion-mnist-latent-spread.md)")}


def write_entry(name: str, spec: dict, in_domain: list[dict], inception: list[dict], note: str = "") -> dict:
    """Write the model card and sample grid of one bundled model; return its registry entry."""
    generator = _load_bundled(name)
    config = read_config(BUNDLED_DIR / f"{name}.json")
    # The exported weights' own count (a run may log a few iterations past its last checkpoint).
    iterations = config.get("generator_iterations") or generator_iterations(Path(spec["run"]))
    # A run started from an earlier export (FineTuneFrom) counts from 0: the entry states both. The
    # earlier runs' length is written into the bundled config by scripts/bundle_run.py --continues.
    before = config.get("generator_iterations_before_continuing", 0)
    earlier = {"generator_iterations_before_continuing": before} if before else {}
    iterations += before
    sample_grid(generator, ROOT / "model_cards" / spec["sample_grid"])
    entry = {
        "variant": spec["variant"], "dataset": spec["dataset"],
        "description": spec["description"] + standing_statistics_gain(name, config) + bar_note(spec, in_domain) + note,
        "sha256": sha256_of(BUNDLED_DIR / f"{name}.safetensors"), "bundled": True, "kind": config["kind"],
        "dtype": config["dtype"], "hf_repo_id": None, "revision": None,
        "num_params_generator": sum(p.numel() for p in generator.parameters()),
        "recipe": spec["recipe"],
        "training": {"generator_iterations": iterations, **earlier, **spec["training"],
                     **standing_statistics_row(config)},
        "metrics": [_registry_metric(m) for m in in_domain] + inception,
        "paper": spec["paper"], "license": "Apache-2.0", "sample_grid": f"model_cards/{spec['sample_grid']}",
    }
    card = render_model_card({
        "name": name, **{k: entry[k] for k in ("variant", "dataset", "description", "training", "paper", "license")},
        "dataset_id": spec["dataset_id"], "generator": config["generator"],
        "discriminator": config.get("discriminator"), "num_params_generator": entry["num_params_generator"],
        "metrics": entry["metrics"], "sample_grid": spec["sample_grid"],
        "training_curve": spec.get("training_curve"), "training_curve_note": CURVE_NOTE.format(
            train="50k" if spec["dataset_id"] == "cifar10" else "60k"),
        "stage_grids": spec.get("stage_grids"),
        "attempts": attempts_section(name, spec["attempts"], spec["bar"]) if spec.get("attempts") else "",
    })
    (ROOT / "model_cards" / f"{name}.md").write_text(card)
    print(f"wrote model_cards/{name}.md")
    return entry


README = ROOT / "README.md"
TABLE_START, TABLE_END = "<!-- zoo-table:start (scripts/build_zoo.py writes this) -->", "<!-- zoo-table:end -->"


def readme_table(registry: dict) -> str:
    """The README's results table and sample grids, from the registry just written."""
    rows = ["| model | data | G iterations | training | FID | KID | IS | precision | recall | Inception FID | "
            "Inception recall |",
            "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, entry in registry.items():
        in_domain = {m["name"]: m["value"] for m in entry["metrics"] if not _is_inception(m)}
        inception = {m["name"]: m["value"] for m in entry["metrics"] if _is_inception(m)}
        training = entry["training"]
        data = "CIFAR-10 (JPEG q75)" if "CIFAR" in entry["dataset"] else entry["dataset"].split(" (")[0]
        cells = [f"{in_domain[k]:.4f}" if k == "kid" else f"{in_domain[k]:.2f}" if k in in_domain else "-"
                 for k in ("fid", "kid", "is", "precision", "recall")]
        cells += [f"{inception[k]:.2f}" if k in inception else "-" for k in ("fid", "recall")]
        rows.append(f"| `{name}` | {data} | {training['generator_iterations']:,} | {training['hardware']} | "
                    + " | ".join(cells) + " |")
    names = list(registry)
    per_row = 4
    grid_rows = ["| " + " | ".join([""] * per_row) + " |", "| " + " | ".join(["---"] * per_row) + " |"]
    for start in range(0, len(names), per_row):
        chunk = names[start:start + per_row] + [""] * (per_row - len(names[start:start + per_row]))
        grid_rows.append("| " + " | ".join(f"`{n}`" if n else "" for n in chunk) + " |")
        grid_rows.append("| " + " | ".join(f"![{n}]({registry[n]['sample_grid']})" if n else "" for n in chunk) + " |")
    return "\n".join(rows) + "\n\n" + "\n".join(grid_rows)


def update_readme(registry: dict) -> None:
    text = README.read_text()
    if TABLE_START not in text or TABLE_END not in text:
        print("README has no zoo-table markers: table not written")
        return
    before, rest = text.split(TABLE_START, 1)
    after = rest.split(TABLE_END, 1)[1]
    README.write_text(f"{before}{TABLE_START}\n{readme_table(registry)}\n{TABLE_END}{after}")
    print("wrote the README's results table")


def _is_inception(metric: dict) -> bool:
    return metric.get("protocol", {}).get("features", "").startswith("Inception")


def _registry_metric(metric: dict) -> dict:
    protocol = dict(metric["protocol"])
    protocol["features"] = protocol["features"] + " (in-domain classifier, not Inception)"
    out = {"name": metric["name"], "value": metric["value"], "protocol": protocol}
    if "std" in metric:
        out["std"] = metric["std"]
    return out


if __name__ == "__main__":
    main()
