#!/usr/bin/env python3
"""Train an in-domain feature classifier for ganzoo's metrics and write its weights + card.

    python scripts/train_feature_classifier.py --dataset fashion-mnist --epochs 7 --device cpu --threads 1 \
        --out ganzoo/metrics/weights/
    python scripts/train_feature_classifier.py --dataset cifar10 --epochs 40 --device cuda \
        --data-dir /path/holding/cifar10-jpeg.tar.gz --out ganzoo/metrics/weights/

Writes ``OUT/<dataset>-classifier.safetensors`` (fp16) and ``OUT/<dataset>-classifier.json`` (card:
architecture, test accuracy, sha256, the command that produced it). Test accuracy is measured
once, after the last epoch, on the untouched test split: no model selection on the test set.

The whole split is held as a uint8 tensor on the training device and augmented there (random
translation by up to ``--shift`` pixels with zero padding, horizontal flips), so the loop has no
DataLoader and no per-image Python work. It runs channels_last, and on CUDA in bf16 autocast.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ganzoo.metrics.classifier import ARCHITECTURES, accuracy, build_classifier, count_parameters  # noqa: E402
from ganzoo.metrics.datasets import load_images  # noqa: E402

DEFAULTS = {  # per data set: epochs, batch size, peak learning rate, max shift
    "fashion-mnist": dict(epochs=7, batch_size=128, lr=3e-3, shift=2),
    "cifar10": dict(epochs=40, batch_size=256, lr=3e-3, shift=4),
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True, choices=sorted(ARCHITECTURES))
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--lr", type=float, default=None, help="peak learning rate of the one-cycle schedule")
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--shift", type=int, default=None, help="max random translation in pixels")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None, help="where the data set is (see ganzoo.data.locate)")
    parser.add_argument("--out", default="ganzoo/metrics/weights/")
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many steps (smoke tests)")
    parser.add_argument("--train-limit", type=int, default=None, help="use only the first N training images")
    parser.add_argument("--test-limit", type=int, default=None, help="use only the first N test images")
    args = parser.parse_args(argv)
    for key, value in DEFAULTS[args.dataset].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def augment(batch_uint8: torch.Tensor, shift: int, generator: torch.Generator) -> torch.Tensor:
    """Random translation by up to ``shift`` pixels and horizontal flip; returns floats in [-1, 1].
    The border is filled with -1 (black), Fashion-MNIST's background."""
    x = batch_uint8.float() / 127.5 - 1
    n, _, h, w = x.shape
    if shift > 0:
        padded = F.pad(x, (shift, shift, shift, shift), value=-1.0)
        dy = torch.randint(0, 2 * shift + 1, (n,), generator=generator, device=generator.device)
        dx = torch.randint(0, 2 * shift + 1, (n,), generator=generator, device=generator.device)
        rows = (dy[:, None] + torch.arange(h, device=x.device)[None, :])  # (n, h)
        cols = (dx[:, None] + torch.arange(w, device=x.device)[None, :])  # (n, w)
        x = padded[torch.arange(n, device=x.device)[:, None, None, None],
                   torch.arange(x.shape[1], device=x.device)[None, :, None, None],
                   rows[:, None, :, None], cols[:, None, None, :]]
    flip = torch.rand(n, generator=generator, device=generator.device) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(3), x)


def train(args: argparse.Namespace) -> dict:
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    use_cuda = device.type == "cuda"

    train_set = load_images(args.dataset, "train", args.data_dir)
    test_set = load_images(args.dataset, "test", args.data_dir)
    train_images, train_labels = train_set.images[: args.train_limit], train_set.labels[: args.train_limit]
    test_images, test_labels = test_set.images[: args.test_limit], test_set.labels[: args.test_limit]
    train_images, train_labels = train_images.to(device), train_labels.to(device)

    # channels_last: faster convolutions with cuDNN and with oneDNN on CPU (~25% here).
    memory_format = torch.channels_last
    model = build_classifier(args.dataset).to(device).to(memory_format=memory_format)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = len(train_images) // args.batch_size
    total_steps = steps_per_epoch * args.epochs
    if args.max_steps is not None:
        total_steps = min(total_steps, args.max_steps)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=max(total_steps, 1))
    generator = torch.Generator(device=device).manual_seed(args.seed)

    step, start = 0, time.time()
    model.train()
    for epoch in range(args.epochs):
        order = torch.randperm(len(train_images), generator=generator, device=device)
        running = 0.0
        for i in range(steps_per_epoch):
            if step >= total_steps:
                break
            index = order[i * args.batch_size:(i + 1) * args.batch_size]
            x = augment(train_images[index], args.shift, generator).contiguous(memory_format=memory_format)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_cuda):
                loss = F.cross_entropy(model(x), train_labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            step += 1
            running += loss.item()
        print(f"epoch {epoch + 1}/{args.epochs}  steps {step}  loss {running / max(i + 1, 1):.4f}  "
              f"{time.time() - start:.0f}s", flush=True)
        if step >= total_steps:
            break

    model = model.to(memory_format=torch.contiguous_format).cpu()
    # The card reports the accuracy of what is shipped: the fp16 weights, run in fp32.
    shipped = build_classifier(args.dataset)
    shipped.load_state_dict(fp16_state_dict(model))
    test_accuracy = accuracy(shipped, test_images, test_labels)
    print(f"test accuracy {test_accuracy:.4f} on {len(test_images)} {args.dataset} test images "
          f"(fp32 before rounding: {accuracy(model, test_images, test_labels):.4f})", flush=True)
    return dict(model=model, test_accuracy=test_accuracy, steps=step, seconds=time.time() - start,
                variant=train_set.variant, n_train=len(train_images), n_test=len(test_images))


def fp16_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Floating tensors rounded to fp16 (integer buffers such as BN's step counter kept)."""
    return {k: (v.detach().to(torch.float16) if v.is_floating_point() else v.detach()).contiguous()
            for k, v in model.state_dict().items()}


def save(args: argparse.Namespace, result: dict, argv: list[str]) -> Path:
    from safetensors.torch import save_file

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = f"{args.dataset}-classifier"
    weights = out / f"{name}.safetensors"
    model = result["model"].cpu()
    save_file(fp16_state_dict(model), str(weights), metadata={"dataset": args.dataset})
    weights.chmod(0o644)  # safetensors writes 0600; package data must be readable by everyone
    sha256 = hashlib.sha256(weights.read_bytes()).hexdigest()
    card = {
        "name": name,
        "dataset": args.dataset,
        "data_variant": result["variant"],
        "architecture": model.config,
        "num_parameters": count_parameters(model),
        "dtype": "float16",
        "input": "images in [-1, 1], (N, C, H, W) at the training resolution",
        "features": f"penultimate layer ({model.num_features} units after BatchNorm+ReLU)",
        "test_accuracy": round(result["test_accuracy"], 4),
        "test_images": result["n_test"],
        "train_images": result["n_train"],
        "training": {"epochs": args.epochs, "steps": result["steps"], "batch_size": args.batch_size, "lr": args.lr,
                     "weight_decay": args.weight_decay, "shift": args.shift, "hflip": True, "seed": args.seed,
                     "optimizer": "AdamW + OneCycleLR", "device": args.device,
                     "seconds": round(result["seconds"], 1), "torch": torch.__version__},
        "command": "python scripts/train_feature_classifier.py " + " ".join(shlex.quote(a) for a in argv),
        "sha256": sha256,
    }
    (out / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"wrote {weights} (sha256 {sha256}) and its card {out / f'{name}.json'}")
    return weights


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    result = train(args)
    save(args, result, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
