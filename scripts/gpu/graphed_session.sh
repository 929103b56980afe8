#!/usr/bin/env bash
# One device call (issue 14): CIFAR-10 models trained with the CUDA-graphed iteration (ganzoo/gans/graphed.py,
# scripts/gpu/train_graphed.py), side by side on the one GPU for $TRAIN_SECONDS seconds each:
#   sngan-cifar10-resnet: the paper ResNet SN-GAN (recipes/sngan_cifar10.yaml; linear decay over the length
#                         that fits the time, measured at the start);
#   sngan-cifar10-cnn:    the zoo's SN-GAN standard CNN recipe (recipes/sngan_cifar10_cpu.yaml), up to 150k
#                         iterations instead of the 30k the CPU trains;
#   vanilla-cifar10-mlp:  the paper-size MLP GAN (recipes/vanilla_cifar10.yaml, up to its 100k iterations).
# Results in $OUT (at most 8 files): NAME/{model.safetensors,config.json} (fp16 EMA generators, the zoo's
# format; the MLP's only if its last FID beats the bundled vanilla-cifar10's 83.95), session.log and logs.tar.gz
# (NAME.metrics.csv of each run: losses, and the training curve: in-domain FID and precision/recall of 10k
# fakes vs the 50k train images; and session.log again).
#
# Before the call (on the CPU machine): the packages the device's image lacks, and the data:
#   printf '/.whl/\n/.gpu/\n' >> .git/info/exclude     # once
#   mkdir -p .gpu/data && cp ../shared/data/cifar10-jpeg.tar.gz .gpu/data/
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp -d .whl \
#       jsonargparse==4.53.0 docstring_parser==0.18.0 typeshed_client==2.15.0 torch_fidelity==0.4.0
#   GANZOO_DATA=/work/data python scripts/gpu/train_graphed.py recipes/sngan_cifar10.yaml --name x \
#       --out /tmp/dry --dry-run                         # the same code, eagerly, on the CPU
# The bundled zoo weights make the tracked tree larger than the 64 MiB a call may carry: take them out of
# the index for the call (`git rm -q --cached ganzoo/zoo/weights/*.safetensors` and exclude them), and
# `git reset -q` afterwards. The call (device tool): carry [".gpu", ".whl"], timeout 590.
set -uo pipefail
OUT=${OUT:-/tmp/ganzoo-out}; mkdir -p "$OUT"
TRAIN_SECONDS=${TRAIN_SECONDS:-480}
start=$(date +%s)
exec > >(tee "$OUT/session.log") 2>&1
if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
export GANZOO_DATA=${GANZOO_DATA:-/root/ganzoo-data}
nvidia-smi --query-gpu=name,memory.total --format=csv
if [ ! -d "$GANZOO_DATA/cifar10-jpeg" ]; then
    mkdir -p "$GANZOO_DATA"
    python3 -c "from ganzoo.data import extract_cifar10_jpeg as x
x('.gpu/data/cifar10-jpeg.tar.gz', '$GANZOO_DATA/cifar10-jpeg')"
fi
echo "data ready after $(( $(date +%s) - start )) s"

train() {  # train NAME RECIPE [options]: one run in the background, its lines prefixed with its name
    local name=$1 recipe=$2; shift 2
    python3 scripts/gpu/train_graphed.py "recipes/$recipe.yaml" --name "$name" --seconds "$TRAIN_SECONDS" \
        --out "$OUT" "$@" 2>&1 | sed -u "s/^/[$name] /" &
    runs+=($!)
}
runs=()
train sngan-cifar10-resnet sngan_cifar10
train sngan-cifar10-cnn sngan_cifar10_cpu --max-iterations 150000
train vanilla-cifar10-mlp vanilla_cifar10 --out /tmp/mlp
wait "${runs[@]}"  # not a bare `wait`: it would also wait for the `tee` above, which ends only with this script
if python3 - <<'PY'
import csv, sys
rows = [r for r in csv.DictReader(open("/tmp/mlp/vanilla-cifar10-mlp.metrics.csv")) if r.get("eval/fid")]
sys.exit(0 if rows and float(rows[-1]["eval/fid"]) < 83.95 else 1)
PY
then cp -r /tmp/mlp/vanilla-cifar10-mlp "$OUT/"; fi
cp /tmp/mlp/vanilla-cifar10-mlp.metrics.csv "$OUT/" 2>/dev/null
echo "session done after $(( $(date +%s) - start )) s"
ls -la "$OUT" "$OUT"/*
cd "$OUT" && tar czf logs.tar.gz ./*.metrics.csv session.log && rm -f ./*.metrics.csv  # 8 files at most come back
