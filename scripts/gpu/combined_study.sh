#!/usr/bin/env bash
# Issue 21's image part (docs/combined.md) on one GPU in one device call: progressive growing x spectral
# norm x prediction step on Fashion-MNIST at 16x16, 2 learning rates x 3 seeds x 8 combinations = 48
# runs of $ITERATIONS generator iterations, split over $SHARDS processes that share the GPU (one CPU
# core each). Every run appends to its shard's JSON when it ends, so the time limit keeps every
# finished run; the grid is ordered seeds first, so a cut study still has every cell at seed 0.
# Results come back as one file: $OUT/combined.tar.gz (the shard JSONs and their logs).
#
# Before the call (on the CPU machine):
#   mkdir -p .gpu/data/fashion-mnist && cp /usr/share/datasets/fashion-mnist/*.gz .gpu/data/fashion-mnist/
#   DRY_RUN=1 bash scripts/gpu/combined_study.sh     # the same commands on the CPU: 2 shards, 8 runs of 8 iterations
# The call (device tool): carry [".gpu"], timeout 560:
#   bash scripts/gpu/combined_study.sh
# Then, here:
#   tar xzf FILES_AT/combined.tar.gz -C docs/ --wildcards 'combined/*.json' &&
#   python scripts/combined_study.py --part fashion --report --iterations 5000     # tables for docs/combined.md, figures
set -uo pipefail
OUT=${OUT:-/tmp/ganzoo-out}; mkdir -p "$OUT/combined"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 WANDB_MODE=disabled HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1
export GANZOO_DATA=${GANZOO_DATA:-/root/ganzoo-data}
if [ "${DRY_RUN:-0}" = 1 ]; then
    SHARDS=2; LIMIT=300
    grid=(--accelerator cpu --iterations 8 --seeds 1 --lrs 1e-3 --fakes 300)
    configs_wanted=8
else
    SHARDS=${SHARDS:-12}; LIMIT=${LIMIT:-480}
    grid=(--accelerator gpu --iterations "${ITERATIONS:-5000}" --seeds 3 --lrs 1e-3 4e-3 --fakes 5000)
    configs_wanted=48
    nvidia-smi --query-gpu=name,memory.total --format=csv
fi

# Data and the metric's reference features once, before the shards start (else every shard would
# decompress the same files and compute the same 60k reference features at the same moment).
mkdir -p "$GANZOO_DATA" && cp -n .gpu/data/fashion-mnist/*.gz "$GANZOO_DATA"/ 2>/dev/null
python3 - <<'PY' || exit 1
import torch
from ganzoo.data import FashionMNISTDataModule
from ganzoo.metrics.evaluate import evaluate_generator
from ganzoo.nn import build_network

FashionMNISTDataModule(batch_size=32, resolution=16, resize_mode="resize").prepare_data()
generator = build_network("ProGANGenerator", latent_dim=64, resolution=16, channels=1, fmap_base=128, fmap_max=32)
device = "cuda" if torch.cuda.is_available() else "cpu"
evaluate_generator(generator.to(device), metrics="fid,pr", features="fashion-mnist", n=300, resize="bilinear")
print("data and reference features ready")
PY

start=$(date +%s)
for ((shard = 0; shard < SHARDS; shard++)); do
    timeout --signal=KILL "$LIMIT" python3 scripts/combined_study.py --part fashion --out "$OUT/combined" "${grid[@]}" \
        --shard "$shard/$SHARDS" > "$OUT/combined/shard-$shard.log" 2>&1 &
done
wait
echo "shards ended after $(( $(date +%s) - start )) s"
python3 - "$OUT/combined" "$configs_wanted" <<'PY'
import pathlib, sys
sys.path.insert(0, "scripts")
from combined_study import saved_runs
folder, wanted = pathlib.Path(sys.argv[1]), int(sys.argv[2])
runs = saved_runs(folder, "fashion")
print(f"{len(runs)} of {wanted} runs finished")
for run in runs:
    print({k: run[k] for k in ("growing", "spectral_norm", "prediction", "lr", "seed", "fid", "recall", "seconds")})
PY
tar czf "$OUT/combined.tar.gz" -C "$OUT" combined && rm -rf "$OUT/combined"
ls -la "$OUT"
