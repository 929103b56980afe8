"""The theory lab: small, seeded experiments that check the claims the zoo is built on.

    from ganzoo.theory import EXPERIMENTS, run_experiment
    result = run_experiment("dirac-gan", plot="dirac.png")   # or EXPERIMENTS["dirac-gan"].run(...)
    print(result.table)                                        # markdown
    result.numbers["GAN + R1 gamma=1 (critical)/alternating/radius_ratio"]

and from the shell ``ganzoo theory --list``, ``ganzoo theory dirac-gan --plot dirac.png``
(``--quick`` for the small budgets the tests use). Every experiment uses the library's own
losses (``ganzoo.losses``), regularizers (``ganzoo.regularizers``) and networks
(``ganzoo.nn``), runs on a CPU in seconds to a few minutes, and is deterministic.

=====================  ==========================================================
name                   claim
=====================  ==========================================================
optimal-discriminator  D*(x) = p_data/(p_data + p_g); C(G) = -log 4 + 2 JSD
saturation             disjoint supports: JSD = log 2, minimax G gradient vanishes
dirac-gan              which training methods converge (Mescheder et al. 2018)
saddle                 prediction steps make alternating descent converge on v^T K u
mode-collapse          modes captured on the 8-ring / 25-grid (VEEGAN, PacGAN)
f-divergence           f-GAN's variational bounds reach the true f-divergence
spectral-norm          power iteration -> sigma_1; spectral norm bounds Lip(D)
=====================  ==========================================================

Modules are imported when an experiment runs, so ``import ganzoo.theory`` stays cheap.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from ganzoo.theory.common import Experiment, ExperimentResult
from ganzoo.theory.prediction import PredictionStep
from ganzoo.utils import unknown_name_message

__all__ = [
    "EXPERIMENTS",
    "Experiment",
    "ExperimentResult",
    "PredictionStep",
    "add_theory_arguments",
    "get_experiment",
    "main",
    "run_experiment",
    "run_theory",
]


def _lazy(module: str):
    """``run`` that imports ``ganzoo.theory.<module>`` on first call."""

    def run(plot: str | None = None, quick: bool = False) -> ExperimentResult:
        return importlib.import_module(f"ganzoo.theory.{module}").run(plot=plot, quick=quick)

    run.__name__ = f"run_{module}"
    run.__doc__ = f"Run :func:`ganzoo.theory.{module}.run`."
    return run


EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in (
        Experiment("optimal-discriminator", "Optimal discriminator and C(G) = -log 4 + 2 JSD",
                   _lazy("optimal_discriminator"),
                   "a trained D matches D* = p_data/(p_data + p_g); its value reaches -log 4 + 2 JSD"),
        Experiment("saturation", "Disjoint supports: JSD saturation and vanishing gradients", _lazy("saturation"),
                   "JSD -> log 2, minimax G gradient -> 0; non-saturating, WGAN-GP and instance noise keep a gradient"),
        Experiment("dirac-gan", "Dirac-GAN: which training methods converge", _lazy("dirac_gan"),
                   "Jacobian eigenvalues match closed forms; unregularised GANs orbit, R1/R2/noise/consensus converge"),
        Experiment("saddle", "Bilinear saddle: alternating SGD vs prediction steps", _lazy("saddle"),
                   "alternating SGD orbits v^T K u forever; with PredictionStep it converges at sqrt(1 - a b s^2)"),
        Experiment("mode-collapse", "Mode collapse on the 8-Gaussian ring and 25-Gaussian grid",
                   _lazy("mode_collapse"), "modes captured and % high-quality samples vs VEEGAN/PacGAN tables"),
        Experiment("f-divergence", "f-GAN: variational estimation of f-divergences", _lazy("f_divergence"),
                   "each trained variational bound approaches the true D_f between two Gaussians"),
        Experiment("spectral-norm", "Spectral norm: power iteration and the Lipschitz bound", _lazy("spectral_norm"),
                   "power iteration converges to sigma_1 from below; SN keeps every input gradient below ~1"),
    )
}


def get_experiment(name: str) -> Experiment:
    """The experiment called ``name``; a ValueError listing the known ones otherwise."""
    if name in EXPERIMENTS:
        return EXPERIMENTS[name]
    
    raise ValueError(unknown_name_message("theory experiment", name, EXPERIMENTS))


def run_experiment(name: str, plot: str | None = None, quick: bool = False) -> ExperimentResult:
    """Run one experiment by name (writing its figure to ``plot`` when given)."""
    return get_experiment(name).run(plot=plot, quick=quick)


# --------------------------------------------------------------------------- command line


def add_theory_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Arguments of ``ganzoo theory``: ``NAME [--plot FILE] [--quick]`` or ``--list``."""
    parser.add_argument("name", nargs="?", metavar="NAME",
                        help=f"experiment to run, one of: {', '.join(EXPERIMENTS)} (or 'all')")
    parser.add_argument("--list", action="store_true", help="list the experiments and exit")
    parser.add_argument("--plot", metavar="FILE", default=None,
                        help="write the experiment's figure to FILE (.png, .pdf, .svg); with 'all', a directory")
    parser.add_argument("--quick", action="store_true", help="small training budgets (seconds; what the tests use)")
    return parser


def _list_text() -> str:
    width = max(len(name) for name in EXPERIMENTS)
    return "\n".join(f"{name:<{width}}  {experiment.title}\n{'':<{width}}  claim: {experiment.claim}"
                     for name, experiment in EXPERIMENTS.items())


def run_theory(args: argparse.Namespace) -> int:
    """Execute parsed ``ganzoo theory`` arguments; returns the process exit code."""
    if args.list or not args.name:
        print(_list_text())
        return 0
    if args.name == "all":
        import os

        for name in EXPERIMENTS:
            plot = os.path.join(args.plot, f"theory_{name.replace('-', '_')}.png") if args.plot else None
            _print_result(name, run_experiment(name, plot=plot, quick=args.quick))
        return 0
    try:
        experiment = get_experiment(args.name)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    _print_result(experiment.name, experiment.run(plot=args.plot, quick=args.quick))
    return 0


def _print_result(name: str, result: ExperimentResult) -> None:
    print(f"## {EXPERIMENTS[name].title}\n")
    print(result.table)
    if result.figure:
        print(f"\nfigure written to {result.figure}")
    print()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ganzoo.theory ...`` (the same as ``ganzoo theory ...``)."""
    parser = add_theory_arguments(argparse.ArgumentParser(prog="ganzoo theory", description=__doc__.split("\n")[0]))
    return run_theory(parser.parse_args(argv))


