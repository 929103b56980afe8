"""The ``ganzoo`` command.

    ganzoo fit --config recipes/sngan_cifar10.yaml [--trainer.devices 8]   (LightningCLI)
    ganzoo validate --config ...                                           (LightningCLI)
    ganzoo sample NAME_OR_PATH -n 64 -o grid.png
    ganzoo list
    ganzoo eval NAME_OR_PATH --metrics fid,kid --features fashion-mnist
    ganzoo bench MODEL [MODEL ...]
    ganzoo publish RUN_DIR --repo-id ORG/NAME [--dry-run DIR]
    ganzoo theory NAME [--plot FILE] | --list
    ganzoo lab [--port 7860]

``fit``/``validate`` go through Lightning's CLI, so every module, datamodule and Trainer
argument is configurable from YAML recipes and flags. The other subcommands are plain
argparse and fail with one line and exit status 2 on bad input.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

LIGHTNING_SUBCOMMANDS = ("fit", "validate")


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in LIGHTNING_SUBCOMMANDS:
        return _run_training(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 0
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("ganzoo: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - one readable line instead of a traceback
        if not _is_user_error(error):
            raise
        print(f"ganzoo {args.command}: error: {error}", file=sys.stderr)
        return 2


def _run_training(argv: list[str]) -> int:
    """``ganzoo fit`` / ``validate``: bad recipes, flags, devices and data give one line and exit 2."""
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    from ganzoo.data import DataNotFoundError
    from ganzoo.training_cli import ConfigError, run_lightning_cli

    try:
        run_lightning_cli(argv)
    except KeyboardInterrupt:
        print("ganzoo: interrupted (a checkpoint was written if training had started: resume with --ckpt_path last)",
              file=sys.stderr)
        return 130
    except (ConfigError, MisconfigurationException, DataNotFoundError, FileNotFoundError) as error:
        print(f"ganzoo {argv[0]}: error: {_training_error_line(error)}", file=sys.stderr)
        return 2
    except ValueError as error:
        if not _is_user_error(error):
            raise
        print(f"ganzoo {argv[0]}: error: {_training_error_line(error)}", file=sys.stderr)
        return 2
    return 0


def _training_error_line(error: Exception) -> str:
    text = " ".join(str(error).split())
    if "No supported gpu backend" in text or "GPUAccelerator can not run" in text or "CUDAAccelerator" in text:
        return (f"{text} This machine has no usable GPU: drop --trainer.accelerator gpu "
                "(or use --trainer.accelerator cpu).")
    if "fewer than one global batch" in text:
        return f"{text}: lower --data.init_args.batch_size"
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ganzoo",
        description="A model zoo of GANs: sample, train, evaluate, publish, and check the theory.",
        epilog="Training: `ganzoo fit --config RECIPE.yaml` and `ganzoo validate ...` take every LightningCLI "
        "option; see `ganzoo fit --help`.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("fit", help="train a GAN from a recipe (LightningCLI; see `ganzoo fit --help`)")
    sub.add_parser("validate", help="run validation from a recipe (LightningCLI)")

    sample = sub.add_parser("sample", help="write a grid of samples from a zoo model or a pretrained folder")
    sample.add_argument("model", help="registry name (see `ganzoo list`), pretrained folder, or Hub repo id")
    sample.add_argument("-n", "--num", type=int, default=64, help="number of samples (default 64)")
    sample.add_argument("-o", "--output", default="samples.png", help="output PNG path (default samples.png)")
    sample.add_argument("--seed", type=int, default=0, help="latent seed; same seed, same images (default 0)")
    sample.add_argument("--nrow", type=int, default=None, help="images per grid row (default sqrt(n))")
    sample.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ... (default cpu)")
    sample.add_argument("--no-ema", action="store_true", help="use the raw generator instead of the EMA one")
    sample.add_argument("--revision", default=None, help="Hub revision (default: the registry's pinned one)")
    sample.set_defaults(handler=run_sample)

    listing = sub.add_parser("list", help="list the models in the zoo with their measured metrics")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(handler=run_list)

    info = sub.add_parser("info", help="one model's description, training and metrics with their protocol")
    info.add_argument("name", help="registry name (see `ganzoo list`)")
    info.set_defaults(handler=run_info)

    publish = sub.add_parser("publish", help="export a training run and upload it to the Hugging Face Hub")
    publish.add_argument("run", help="a Lightning .ckpt file or a run folder (its last.ckpt)")
    publish.add_argument("--repo-id", required=True, help="Hub repository, ORG/NAME")
    publish.add_argument("--dry-run", metavar="DIR", default=None, help="write the folder to DIR and upload nothing")
    publish.add_argument("--kind", choices=("gan", "generator"), default="gan",
                         help="gan: G, EMA G and D (fine-tunable); generator: EMA G only")
    publish.add_argument("--dtype", choices=("float32", "float16"), default="float32")
    publish.add_argument("--dataset", default=None, help="training data set, shown in the model card")
    publish.add_argument("--standing-statistics", type=int, default=0, metavar="BATCHES",
                         help="recompute the published generator's BatchNorm statistics from BATCHES batches of "
                              "256 of its own latents (an EMA generator's averaged statistics lag its weights)")
    publish.add_argument("--private", action="store_true", help="create the Hub repository as private")
    publish.set_defaults(handler=run_publish)

    _add_optional(sub, "eval", "evaluate a model: FID / IS / KID / precision-recall under a stated protocol",
                  "ganzoo.metrics.cli", "add_eval_arguments", "run_eval")
    _add_optional(sub, "bench", "score several models under one protocol beside published numbers "
                  "(speed benchmarks: `python -m benchmarks` in a clone)",
                  "ganzoo.metrics.cli", "add_bench_arguments", "run_bench")
    _add_optional(sub, "theory", "run an experiment of the theory lab (--list shows them)",
                  "ganzoo.theory", "add_theory_arguments", "run_theory")
    lab = sub.add_parser("lab", help="the zoo and the theory in the browser, offline (http://127.0.0.1:PORT/)")
    lab.add_argument("--port", type=int, default=7860, help="port to serve on (0: any free port)")
    lab.add_argument("--host", default="127.0.0.1", help="address to bind (default: this machine only)")
    lab.set_defaults(handler=run_lab)
    return parser


def run_lab(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port {args.port}: choose 0 to 65535")
    from ganzoo.lab import serve

    serve(args.host, args.port)
    return 0


def _add_optional(sub, name: str, help_text: str, module: str, add_fn: str, run_fn: str) -> None:
    """Subcommands whose options live next to their implementation."""
    import importlib

    parser = sub.add_parser(name, help=help_text)
    implementation = importlib.import_module(module)
    getattr(implementation, add_fn)(parser)
    runner = getattr(implementation, run_fn)
    parser.set_defaults(handler=lambda args: _call_with_zoo(runner, args))


def _call_with_zoo(runner, args):
    import inspect

    from ganzoo.zoo import get_entry, load

    parameters = inspect.signature(runner).parameters
    kwargs = {}
    if "load_fn" in parameters:
        kwargs["load_fn"] = load
    if "registry_lookup" in parameters:
        kwargs["registry_lookup"] = get_entry
    return runner(args, **kwargs)


# ---------------------------------------------------------------------- sample
def run_sample(args: argparse.Namespace) -> int:
    if args.num <= 0:
        raise ValueError(f"-n must be a positive number of samples, got {args.num}")
    output = Path(args.output)
    _check_writable(output)
    import torch

    from ganzoo.devices import check_device

    check_device(args.device)
    generator = _generator_from(args.model, ema=not args.no_ema, revision=args.revision).to(args.device or "cpu")
    with torch.inference_mode():
        samples = generator.sample(args.num, seed=args.seed).float().cpu()
    if samples.ndim == 4:
        from torchvision.utils import save_image

        nrow = args.nrow or max(1, int(round(args.num ** 0.5)))
        save_image(samples, output, nrow=nrow, normalize=True, value_range=(-1, 1))
    else:
        from ganzoo.gans.sample_logging import save_scatter

        save_scatter(samples, output, title=f"{args.model}: {args.num} samples")
    print(f"wrote {args.num} samples from {args.model} (seed {args.seed}) to {output}")
    return 0


def _generator_from(model: str, *, ema: bool, revision: Optional[str]):
    """A zoo name, pretrained folder or Hub id (``ganzoo.load``), or a training run: a Lightning
    ``.ckpt`` file or a run folder (its newest checkpoint)."""
    import ganzoo

    path = Path(model)
    is_run = path.suffix == ".ckpt" or (path.is_dir() and not (path / "config.json").is_file()
                                        and any(path.rglob("*.ckpt")))
    if not is_run:
        return ganzoo.load(model, ema=ema, revision=revision)
    from ganzoo.zoo.publish import find_checkpoint, gan_from_checkpoint

    gan = gan_from_checkpoint(find_checkpoint(path))
    generator = gan.sampling_generator if ema else gan.generator
    return generator.eval()


def _check_writable(output: Path) -> None:
    import os

    if output.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise ValueError(f"output {output} must end in .png or .jpg")
    parent = output.parent if str(output.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"cannot write {output}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or (output.exists() and not os.access(output, os.W_OK)):
        raise ValueError(f"cannot write {output}: permission denied")


# ---------------------------------------------------------------------- list / info
def run_list(args: argparse.Namespace) -> int:
    import json

    import ganzoo

    rows = ganzoo.list_models()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no models registered")
        return 0
    import shutil

    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(title="ganzoo models (details: ganzoo info NAME; machine-readable: ganzoo list --json)",
                  box=box.SIMPLE_HEAD)
    for column, justify in (("name", "left"), ("variant", "left"), ("data", "left"), ("size", "right"),
                            ("FID", "right"), ("MB", "right")):
        table.add_column(column, justify=justify, no_wrap=True)
    for row in rows:
        fid = next((m for m in row["metric_values"] if m["name"] == "fid"), None)
        table.add_row(row["name"], row["variant"], row["data"], row["resolution"] or "-",
                      f"{fid['value']:.2f} ({_short_features(fid['features'])})" if fid else "-",
                      f"{row['size_mb']:.1f}" if row["size_mb"] is not None else "hub")
    # Never squeeze the table into rich's 80-column default when the output is not a terminal.
    Console(width=max(shutil.get_terminal_size().columns, 110)).print(table)
    return 0


def _short_features(features: str) -> str:
    return "in-domain" if "in-domain" in features or "classifier" in features else features.split(",")[0]


def run_info(args: argparse.Namespace) -> int:
    from ganzoo.zoo import get_entry

    print(get_entry(args.name).details())
    return 0


# ---------------------------------------------------------------------- publish
def run_publish(args: argparse.Namespace) -> int:
    import tempfile

    from ganzoo.zoo import export_run, publish

    from ganzoo.zoo.load import HUB_REPO_PATTERN

    if not HUB_REPO_PATTERN.match(args.repo_id):
        raise ValueError(f"--repo-id {args.repo_id!r} is not a Hub repository id: use ORG/NAME (e.g. me/sngan-cifar10)")
    # The card's title and usage snippet name the repository users will load, not a local folder.
    card_info = {"name": args.repo_id, **({"dataset": args.dataset} if args.dataset else {})}
    if args.dry_run:
        folder = export_run(args.run, args.dry_run, kind=args.kind, dtype=args.dtype, card_info=card_info,
                            standing_statistics_batches=args.standing_statistics)
        print(f"wrote {folder} (dry run: nothing uploaded)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = export_run(args.run, Path(tmp) / args.repo_id.split("/")[-1], kind=args.kind, dtype=args.dtype,
                            card_info=card_info, standing_statistics_batches=args.standing_statistics)
        url = publish(folder, args.repo_id, private=args.private)
    print(f"uploaded to {url}")
    return 0


def _is_user_error(error: Exception) -> bool:
    """Errors caused by the user's input get one line; bugs keep their traceback."""
    from ganzoo.zoo import ModelNotAvailableError, WeightsError

    return isinstance(error, (ValueError, FileNotFoundError, PermissionError, ModelNotAvailableError, WeightsError))


if __name__ == "__main__":
    sys.exit(main())
