"""ganzoo's performance harness: ``python -m benchmarks --help``. Results: ``benchmarks/RESULTS.md``."""
