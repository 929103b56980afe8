"""``ganzoo bench --perf``: the performance harness of ``benchmarks/`` from the command line.

The harness lives in the repository (``benchmarks/``, next to its recorded results), not in the
installed package; this module finds it from a source checkout and forwards to it. The CLI
wires it as::

    from ganzoo.perf import add_perf_arguments, run_perf
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def _harness():
    if not (REPO_ROOT / "benchmarks" / "__main__.py").is_file():
        raise SystemExit(
            "ganzoo bench --perf needs the benchmarks/ folder of a ganzoo source checkout "
            f"(looked in {REPO_ROOT}); clone the repository and run it from there, or use "
            "`python -m benchmarks` in the checkout"
        )
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    import benchmarks.__main__ as harness

    return harness


def add_perf_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the harness's options (--device, --quick/--full, --sections, ...) to ``parser``."""
    if (REPO_ROOT / "benchmarks" / "__main__.py").is_file():
        _harness().add_perf_arguments(parser)


def run_perf(args: argparse.Namespace) -> int:
    """Run the benchmark sections chosen in ``args``; returns the exit code."""
    return _harness().run_perf(args)
