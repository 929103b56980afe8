"""Train a recipe on one GPU for a fixed time with the CUDA-graphed iteration (ganzoo/gans/graphed.py).

    python scripts/gpu/train_graphed.py recipes/sngan_cifar10.yaml --name sngan-cifar10-resnet --seconds 420 \
        --out "$OUT"

For a device call with a time limit: the data set stays on the GPU, the iteration is captured once and
replayed, and the run's length is set from the measured speed so that a linear learning-rate schedule
decays to zero when the time is up (the recipe's ``max_generator_iterations`` is the upper bound). Four
in-training evaluations (in-domain FID and precision/recall, 10k fakes vs the 50k train images, as the
recipes' EvaluationCallback) make the training curve; after each, the fp16 EMA generator is exported to
OUT/NAME (overwritten: a run cut by the call's limit keeps its last one) and OUT/NAME.metrics.csv is written
in the Lightning CSV logger's columns (g_iter, d_loss, g_loss, eval/...), which scripts/bundle_run.py reads.

``--dry-run`` runs the same code eagerly on the CPU for a few iterations with small evaluations.
"""
from __future__ import annotations

import argparse
import csv
import importlib
import sys
import time
from pathlib import Path

import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ganzoo.gans.graphed import GraphedIteration  # noqa: E402
from ganzoo.metrics.evaluate import evaluate_generator  # noqa: E402
from ganzoo.zoo.serialization import save_generator  # noqa: E402

EVALUATIONS = 4
RATE_PROBE_ITERATIONS = 200


def build_from_recipe(recipe: Path):
    """The recipe's GAN and datamodule, built from their class paths as LightningCLI would."""
    config = yaml.safe_load(recipe.read_text())
    model_args = dict(config["model"].get("init_args") or {})
    for network in ("generator", "discriminator"):
        spec = model_args.get(network)
        if spec:  # recipes write networks as {class_path, init_args}; GAN takes {name, kwargs}
            model_args[network] = {"name": spec["class_path"].rsplit(".", 1)[1], "kwargs": spec.get("init_args", {})}
    gan = _class(config["model"]["class_path"])(**model_args)
    data_args = {**config["data"].get("init_args", {}), "in_memory": True, "num_workers": 8}  # decode in parallel
    data = _class(config["data"]["class_path"])(**data_args)
    bf16 = str(config.get("trainer", {}).get("precision", "32")).startswith("bf16")
    return gan, data, bf16, int(config.get("seed_everything", 0))


def _class(path: str):
    module, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


class GPUResidentBatches:
    """The training split as uint8 on the device; each epoch a new permutation (drawn on the device)."""

    def __init__(self, images: torch.Tensor, n_critic: int, batch_size: int, device: torch.device) -> None:
        self.images = images.to(device)
        self.per_iteration = n_critic * batch_size
        self.shape = (n_critic, batch_size, *images.shape[1:])
        self.order = torch.empty(0, dtype=torch.long, device=device)
        self.position = 0

    def next(self) -> torch.Tensor:
        if self.position + self.per_iteration > len(self.order):  # drop_last, as the Lightning loop
            self.order = torch.randperm(len(self.images), device=self.images.device)
            self.position = 0
        index = self.order[self.position:self.position + self.per_iteration]
        self.position += self.per_iteration
        return self.images[index].float().div_(127.5).sub_(1.0).view(self.shape)  # as InMemoryImages scales


def evaluate(gan, fakes: int, device) -> dict[str, float]:
    results = evaluate_generator(gan.generator_ema.module, metrics="fid,pr", features="cifar10", n=fakes, seed=0,
                                 device=device)
    return {result.name: result.value for result in results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recipe", type=Path)
    parser.add_argument("--name", required=True, help="the export's folder name under --out")
    parser.add_argument("--seconds", type=float, default=420, help="wall time for training and evaluations")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--max-iterations", type=int, help="upper bound instead of the recipe's length")
    parser.add_argument("--dry-run", action="store_true", help="a few eager iterations on the CPU")
    args = parser.parse_args()

    start = time.time()
    device = torch.device("cpu" if args.dry_run else "cuda")
    gan, data, bf16, seed = build_from_recipe(args.recipe)
    torch.manual_seed(seed)
    hp = gan.hparams
    if args.max_iterations:
        hp.max_generator_iterations = args.max_iterations
    gan.to(device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # algorithms are chosen in the eager warm-up, before the capture
        gan.to(memory_format=torch.channels_last)
    data.prepare_data()
    images = data.get_dataset("train").images
    batches = GPUResidentBatches(images, hp.n_critic, data.hparams.batch_size, device)
    graphed = GraphedIteration(gan, data.hparams.batch_size, max_generator_iterations=hp.max_generator_iterations,
                               bf16=bf16 and device.type == "cuda")
    fakes = 1000 if args.dry_run else 10000
    print(f"{args.name}: {len(images)} images on {device}, batch {data.hparams.batch_size}, n_critic {hp.n_critic}, "
          f"bf16 {bf16}; ready after {time.time() - start:.0f} s", flush=True)

    rows: list[dict] = []
    csv_path = args.out / f"{args.name}.metrics.csv"
    args.out.mkdir(parents=True, exist_ok=True)

    def log(**values) -> None:
        rows.append({"g_iter": gan.generator_iterations, "seconds": round(time.time() - start, 1), **values})

    def write_csv() -> None:
        columns = list(dict.fromkeys(key for row in rows for key in row))
        with open(csv_path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)

    def train_until(iteration: int) -> None:
        while gan.generator_iterations < iteration and time.time() < start + args.seconds:
            graphed.step(batches.next())
            if gan.generator_iterations % 100 == 0:
                log(**graphed.losses())
            if gan.generator_iterations % 1000 == 0:
                print(f"  {gan.generator_iterations} iterations, {time.time() - start:.0f} s", flush=True)

    # Measure the speed (capture included), then one evaluation to fill the reference caches and time it.
    probe = 4 if args.dry_run else RATE_PROBE_ITERATIONS
    train_until(probe // 2)
    if device.type == "cuda":
        torch.cuda.synchronize()
    probe_start = time.time()
    train_until(probe)
    if device.type == "cuda":
        torch.cuda.synchronize()
    rate = (probe - probe // 2) / (time.time() - probe_start)
    evaluation_start = time.time()
    log(**{f"probe/{k}": v for k, v in evaluate(gan, fakes, device).items()})  # not a curve point
    evaluation_seconds = time.time() - evaluation_start
    print(f"  {rate:.1f} generator iterations per second; the first evaluation took {evaluation_seconds:.0f} s",
          flush=True)

    # The length that fits: the rest of the time less the evaluations and exports still to come.
    remaining = start + args.seconds - time.time() - EVALUATIONS * min(evaluation_seconds, 30) - 15
    total = gan.generator_iterations + int(rate * max(remaining, 0))
    if hp.max_generator_iterations:
        total = min(total, hp.max_generator_iterations)
    every = max(1, total // EVALUATIONS // 100 * 100) if not args.dry_run else 2
    total = every * EVALUATIONS if not args.dry_run else probe + 2 * every
    graphed.max_generator_iterations = total  # the linear schedule (if any) reaches 0 at the end
    hp.max_generator_iterations = total
    print(f"  training to {total} generator iterations, evaluating every {every}", flush=True)
    for point in range(every, total + 1, every):
        if point <= gan.generator_iterations:
            continue
        train_until(point)
        log(**{f"eval/{k}": v for k, v in evaluate(gan, fakes, device).items()})
        write_csv()
        save_generator(gan.generator_ema.module, args.out / args.name, dtype="float16",
                       extra_config={**gan.training_progress(), "trained_with": "scripts/gpu/train_graphed.py"})
        print(f"  {gan.generator_iterations}: {rows[-1]}", flush=True)
        if gan.generator_iterations < point:
            break  # out of time
    seconds = time.time() - start
    print(f"{args.name}: {gan.generator_iterations} generator iterations in {seconds:.0f} s "
          f"({rate:.1f} it/s while training), capture {'on' if graphed.graph is not None else 'off'}", flush=True)


if __name__ == "__main__":
    main()
