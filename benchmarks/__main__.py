"""``python -m benchmarks``: measure ganzoo's overhead and hardware use, write JSON + markdown.

    python -m benchmarks --device cpu --quick                 # a few minutes on 2 cores
    python -m benchmarks --device cpu --full                  # the numbers committed in RESULTS.md
    python -m benchmarks --device cuda --full --sections training
    python -m benchmarks --device cuda --full --sections fast-path,sampling,evaluation,hardware
    python -m benchmarks --device cpu --sections paper-size      # paper CIFAR-10 networks, bf16: minutes

Results go to ``benchmarks/results/<machine>.json`` (sections of earlier runs on the same
machine are kept, so a long GPU run can be split by ``--sections``) and ``RESULTS.md`` is
regenerated from every JSON file there.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from pathlib import Path

import torch

SECTIONS = ("training", "fast-path", "sampling", "evaluation", "hardware", "paper-size")
# "paper-size" trains the paper CIFAR-10 networks (seconds per iteration on a CPU): only when asked.
DEFAULT_SECTIONS = SECTIONS[:-1]


def add_perf_arguments(parser: argparse.ArgumentParser) -> None:
    """The benchmark's options, for ``python -m benchmarks``."""
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="where to run (default cpu)")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", dest="mode", action="store_const", const="quick",
                      help="short runs, 3 repeats (default)")
    size.add_argument("--full", dest="mode", action="store_const", const="full",
                      help="longer runs, 7 repeats: the committed numbers")
    parser.set_defaults(mode="quick")
    parser.add_argument("--sections", default=",".join(DEFAULT_SECTIONS),
                        help=f"comma-separated subset of {','.join(SECTIONS)} (default: all but paper-size)")
    parser.add_argument("--models", default=None,
                        help="comma-separated subset of dcgan-32,sngan-cnn-32,wgan-gp-32 (default: all)")
    parser.add_argument("--compile", action="store_true",
                        help="also torch.compile the networks (training overhead on both sides; an extra "
                             "fast-path row). Minutes of compile time on a CPU")
    parser.add_argument("--repeats", type=int, default=None, help="override the number of interleaved repeats")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--note", default="", help="a remark on the conditions, shown with the results "
                        "(e.g. 'machine shared with other jobs')")
    parser.add_argument("--out-dir", type=Path, default=None,
                        help="where the JSON / markdown go (default benchmarks/results; RESULTS.md is "
                             "regenerated only for the default)")


def run_perf(args: argparse.Namespace) -> int:
    """Run the selected sections and write the results; returns a process exit code."""
    from benchmarks import report
    from benchmarks.machine import describe_machine, device_slug, load_average
    from benchmarks.specs import budget_for, models_for

    _quiet_lightning()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("--device cuda: no CUDA device is visible to torch", file=sys.stderr)
        return 2
    sections = _parse_choice(args.sections, SECTIONS, "--sections")
    specs = models_for(device.type)
    if args.models:
        names = _parse_choice(args.models, tuple(s.name for s in specs), "--models")
        specs = tuple(s for s in specs if s.name in names)
    budget = budget_for(device.type, args.mode)
    repeats = args.repeats or budget.repeats
    machine = describe_machine(device)
    command = "python -m benchmarks " + _as_cli(args)
    print(f"ganzoo benchmarks on {machine.get('gpu') or machine['cpu']}, mode {args.mode}: {', '.join(sections)}",
          flush=True)

    results = {"machine": machine, "mode": args.mode, "command": command, "note": args.note, "sections": {}}
    out_dir = args.out_dir or report.RESULTS_DIR
    slug = device_slug(machine)
    started = time.perf_counter()

    def save(name: str, rows) -> None:
        """Write each section as soon as it is measured: a later failure loses nothing."""
        results["sections"][name] = rows
        machine["load_average_at_end"] = load_average()
        machine["total_seconds"] = round(time.perf_counter() - started, 1)
        path = report.write_results({**results, "sections": {name: rows}}, out_dir, slug)
        print(f"  -> {name} written to {path}", flush=True)

    earlier = report.read_results(out_dir, slug)
    training_rows = _run_sections(sections, specs, device, budget, repeats, args.compile, save,
                                  earlier_training=earlier.get("sections", {}).get("training"))
    if args.out_dir is None:
        print(f"regenerated {report.regenerate_results_md()}")
    failed = [row["model"] for row in training_rows
              if not row.get("overhead_probe") and row["ratio"]["median"] > report.OVERHEAD_LIMIT]
    if failed and "training" in sections:
        print(f"overhead ratio above {report.OVERHEAD_LIMIT} for: {', '.join(failed)}")
    return 0


def _run_sections(sections, specs, device, budget, repeats, compile_too, save,
                  earlier_training: list[dict] | None = None) -> list[dict]:
    from benchmarks.evaluation import EXTRACTOR_IMAGES, measure_evaluation
    from benchmarks.hardware import hardware_use
    from benchmarks.sampling import bundled_models, measure_sampling, measure_spec_sampling
    from benchmarks.specs import OVERHEAD_PROBE
    from benchmarks.training import measure_fast_path, measure_overhead

    default = _default_settings(device, compile_too)
    training_rows: list[dict] = []
    reuse = "training" not in sections and earlier_training and \
        {row["model"] for row in earlier_training} >= {spec.name for spec in specs}
    if "training" in sections or ("hardware" in sections and not reuse):
        print(f"[training] {default.label()}: {repeats} ganzoo / hand-written pairs per model", flush=True)
        training_rows = [measure_overhead(spec, device, default, budget.warmup, budget.measured, repeats)
                         for spec in specs + (OVERHEAD_PROBE,)]
        if "training" in sections:
            save("training", training_rows)
    elif "hardware" in sections:
        print("[training] iterations/s for the hardware section: from this machine's earlier training run")
        training_rows = [row for row in earlier_training if row["model"] in {spec.name for spec in specs}]
    if "fast-path" in sections:
        options = _fast_path_options(device, compile_too)
        print(f"[fast-path] {', '.join(o.label() for o in options)}", flush=True)
        save("fast-path", [measure_fast_path(spec, device, options, budget.warmup, budget.measured,
                                             budget.fast_path_repeats) for spec in specs])
    if "sampling" in sections:
        print("[sampling]", flush=True)
        sampling_repeats = min(repeats, budget.sampling_repeats)
        cap = 10.0 if device.type == "cpu" else None  # seconds per measurement: big generators get fewer images
        rows = [measure_sampling(name, device, budget.sample_count, sampling_repeats, max_seconds=cap)
                for name in bundled_models()]
        rows += [measure_spec_sampling(spec, device, budget.sample_count, sampling_repeats, max_seconds=cap)
                 for spec in specs]
        save("sampling", rows)
    if "evaluation" in sections:
        print("[evaluation]", flush=True)
        counts = {name: budget.fid_count for name in EXTRACTOR_IMAGES}
        if device.type == "cpu":  # the 10k-image Inception / CIFAR-10 passes would take an hour on 2 cores
            counts.update(inception=budget.inception_count, cifar10=max(budget.inception_count * 8, 500))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            save("evaluation", measure_evaluation(device, budget.fid_count, counts))
    if "hardware" in sections:
        print("[hardware]", flush=True)
        model_rows = [row for row in training_rows if not row.get("overhead_probe")]
        save("hardware", hardware_use(model_rows, {s.name: s for s in specs}, device, default))
    if "paper-size" in sections:
        from benchmarks.hardware import paper_size_use
        from benchmarks.specs import RECIPE_MODELS
        from benchmarks.training import StepSettings

        settings = StepSettings("bf16-mixed", channels_last=True)  # the CIFAR-10 recipes' precision
        print(f"[paper-size] {settings.label()}", flush=True)
        warmup, measured = (1, 3) if device.type == "cpu" else (budget.warmup, budget.measured)
        save("paper-size", paper_size_use(list(RECIPE_MODELS), device, settings, warmup, measured,
                                          on_model=lambda so_far: save("paper-size", so_far)))
    return training_rows


def _default_settings(device: torch.device, compile_too: bool):
    """What ganzoo does by default on this device: channels_last as ``GAN(channels_last=None)`` decides;
    bf16 autocast on GPU is the CIFAR-10 recipes' Trainer setting."""
    from benchmarks.training import StepSettings

    if device.type == "cuda":
        return StepSettings("bf16-mixed", channels_last=True, compile=compile_too)
    return StepSettings("32-true", channels_last=torch.backends.mkldnn.is_available(), compile=compile_too)


def _fast_path_options(device: torch.device, compile_too: bool):
    from benchmarks.training import StepSettings

    if device.type == "cuda":
        options = [StepSettings("32-true"), StepSettings("bf16-mixed"), StepSettings("bf16-mixed", channels_last=True)]
        if compile_too:
            options.append(StepSettings("bf16-mixed", channels_last=True, compile=True))
    else:
        options = [StepSettings("32-true"), StepSettings("32-true", channels_last=True)]
        if compile_too:
            options.append(StepSettings("32-true", channels_last=True, compile=True))
    return options


def _parse_choice(text: str, allowed: tuple[str, ...], flag: str) -> tuple[str, ...]:
    chosen = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [c for c in chosen if c not in allowed]
    if unknown or not chosen:
        raise SystemExit(f"{flag}: unknown {', '.join(unknown) or '(empty)'}; choose from {', '.join(allowed)}")
    return chosen


def _as_cli(args: argparse.Namespace) -> str:
    parts = [f"--device {args.device}", f"--{args.mode}", f"--sections {args.sections}"]
    if args.models:
        parts.append(f"--models {args.models}")
    if args.compile:
        parts.append("--compile")
    if args.repeats:
        parts.append(f"--repeats {args.repeats}")
    if args.threads:
        parts.append(f"--threads {args.threads}")
    return " ".join(parts)


def _quiet_lightning() -> None:
    # Dozens of Trainers are built: their "GPU available" / tip banners would bury the results.
    import lightning  # noqa: F401  (it sets its loggers' levels on import: import first, then override)

    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*(does not have many workers|LeafSpec|litlogger).*")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_perf_arguments(parser)
    return run_perf(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
