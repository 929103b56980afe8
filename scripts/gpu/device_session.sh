#!/usr/bin/env bash
# One device call for a whole GPU session (issues 14 and 17), sized for the 15 minutes of device time a
# session gets (one call: a second machine start would not fit):
#   1. issue 17's GPU row: `benchmarks --sections paper-size` (ResNet SN-GAN at batch 64 in bf16: generator
#      iterations per second and the fraction of the bf16 peak measured in the same run), alone on the GPU;
#   2. issue 14: the paper ResNets (SN-GAN, WGAN-GP) side by side until $DEADLINE seconds after the start,
#      then their fp16 exports (scripts/gpu/train_cifar10_resnets.sh).
# Results: $OUT/<run>/{model.safetensors,config.json} and $OUT/results.tar.gz (benchmark JSON + Markdown,
# training logs, metrics CSVs, sample grids, this script's log): 5 files.
#
# Before the call (on the CPU machine):
#   printf '/.whl/\n/.gpu/\n' >> .git/info/exclude     # once
#   mkdir -p .gpu/data && cp ../shared/data/cifar10-jpeg.tar.gz .gpu/data/
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp -d .whl \
#       jsonargparse==4.53.0 docstring_parser==0.18.0 typeshed_client==2.15.0 torch_fidelity==0.4.0
#   DRY_RUN=1 bash scripts/gpu/device_session.sh       # the same steps on the CPU, tiny
# The bundled zoo weights make the tracked tree larger than the 64 MiB a call may carry: take them out of
# the index for the call (`git rm -q --cached ganzoo/zoo/weights/*.safetensors` and exclude them), and
# `git reset -q` afterwards. The call (device tool): carry [".gpu", ".whl"], timeout 590.
set -uo pipefail
OUT=${OUT:-/tmp/ganzoo-out}; mkdir -p "$OUT/results"
DEADLINE=${DEADLINE:-540}  # seconds after the start by which everything is written
start=$(date +%s)
exec > >(tee "$OUT/results/session.log") 2>&1
if [ -d .whl ] && [ "${DRY_RUN:-0}" != 1 ]; then  # packages the device's image lacks (KINDS.md)
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
export GANZOO_DATA=${GANZOO_DATA:-/root/ganzoo-data}
if [ ! -d "$GANZOO_DATA/cifar10-jpeg" ]; then  # in the background while the benchmark runs
    mkdir -p "$GANZOO_DATA"
    python3 -c "from ganzoo.data import extract_cifar10_jpeg as x; \
x('.gpu/data/cifar10-jpeg.tar.gz', '$GANZOO_DATA/cifar10-jpeg')" &
    extraction=$!
fi

OUT="$OUT/results/benchmark" BENCH_SECTIONS=paper-size BENCH_TIMEOUT=${BENCH_TIMEOUT:-100} \
    bash scripts/gpu/benchmark.sh || echo "benchmark failed or timed out"
echo "benchmark done after $(( $(date +%s) - start )) s"
[ -n "${extraction:-}" ] && wait "$extraction"

# What is left for training: the deadline less the export and packing (about 40 s), and the start-up of the
# runs (decoding, the reference features: about 40 s).
TRAIN_SECONDS=$(( DEADLINE - ($(date +%s) - start) - 80 ))
echo "training for $TRAIN_SECONDS s"
TRAIN_SECONDS=$TRAIN_SECONDS OUT="$OUT" bash scripts/gpu/train_cifar10_resnets.sh
mv "$OUT/logs.tar.gz" "$OUT/results/" 2>/dev/null
echo "session done after $(( $(date +%s) - start )) s"
tar czf "$OUT/results.tar.gz" -C "$OUT" results && rm -rf "$OUT/results"
ls -la "$OUT" "$OUT"/*
