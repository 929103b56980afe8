#!/usr/bin/env bash
# Issue 17's GPU rows in one device call of at most 4 minutes: the overhead pairs (paper-size DCGAN,
# SN-GAN CNN, WGAN-GP ResNet and the framework probe) and the paper-size CIFAR-10 networks in bf16
# (ResNet SN-GAN at batch 64: generator iterations per second and the fraction of the bf16 peak
# measured in the same run). Results: $OUT/<machine>.json + .md.
#   device tool: bash scripts/gpu/benchmark.sh          (timeout 300)
#   afterwards, here: cp FILES_AT/*.json benchmarks/results/ &&
#                     python -c "from benchmarks.report import regenerate_results_md as r; r()"
#   DRY_RUN=1 bash scripts/gpu/benchmark.sh              (the same command on the CPU, one tiny model)
#   BENCH_SECTIONS=paper-size BENCH_TIMEOUT=100           (a subset, as scripts/gpu/device_session.sh runs it)
set -euo pipefail
OUT=${OUT:-/tmp/ganzoo-out}; mkdir -p "$OUT"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
if [ "${DRY_RUN:-0}" = 1 ]; then
    python3 -m benchmarks --device cpu --quick --sections training --models dcgan-32 --repeats 1 --out-dir "$OUT" \
        --note "dry run of scripts/gpu/benchmark.sh"
else
    nvidia-smi --query-gpu=name,memory.total --format=csv
    timeout "${BENCH_TIMEOUT:-230}" python3 -m benchmarks --device cuda --quick \
        --sections "${BENCH_SECTIONS:-training,paper-size}" --out-dir "$OUT" \
        --note "scripts/gpu/benchmark.sh, one device call"
fi
ls -la "$OUT"
