#!/usr/bin/env bash
# The paper ResNets on CIFAR-10 in one device call (issue 14): SN-GAN (recipes/sngan_cifar10.yaml) and
# WGAN-GP (recipes/wgan_gp_cifar10.yaml) trained side by side on one GPU for $TRAIN_SECONDS seconds
# (or $MINUTES minutes), then exported (fp16 EMA generator, the zoo's format) with their logs into $OUT:
# 3 files, each under 16 MiB.
#
# Before the call (on the CPU machine):
#   mkdir -p .gpu/data && cp ../shared/data/cifar10-jpeg.tar.gz .gpu/data/
#   DRY_RUN=1 bash scripts/gpu/train_cifar10_resnets.sh     # the same commands, 2 iterations each, on the CPU
# The call (device tool): carry [".gpu"], timeout 540:
#   bash scripts/gpu/train_cifar10_resnets.sh
# Then register a model only if it beats the CPU model of its variant (scripts/bundle_run.py takes a run
# folder; for these exports copy $OUT/NAME/model.safetensors + config.json into ganzoo/zoo/weights/).
#
# What differs from the recipes, and why: the learning rate is constant (the recipes decay it linearly
# to 0 over 50k / 100k iterations; a run cut by time would stop with the rate barely lowered, and a
# constant rate is what the CPU zoo models use), and the length is the time limit, not the recipes'
# iteration counts. Generator iterations per second are printed for each run (issue 17's GPU row).
# Measured on an H200 (2026-12-04, docs/runs/gpu-session-2026-12-04.md): 2.6 (SN-GAN) and 3.1 (WGAN-GP)
# generator iterations per second side by side, bound by kernel launches: one call trains about 1k iterations,
# far from a zoo model. The step replayed as a CUDA graph is 7-12 times faster: scripts/gpu/graphed_session.sh.
set -uo pipefail
OUT=${OUT:-/tmp/ganzoo-out}; mkdir -p "$OUT"
TRAIN_SECONDS=${TRAIN_SECONDS:-$(( ${MINUTES:-7} * 60 ))}
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 WANDB_MODE=disabled HF_HUB_OFFLINE=1
export GANZOO_DATA=${GANZOO_DATA:-/root/ganzoo-data}
if [ "${DRY_RUN:-0}" = 1 ]; then
    device=(--trainer.accelerator cpu --trainer.precision 32-true --model.init_args.max_generator_iterations 2)
    checkpoint_every=1; evaluate_every=2; fakes=600
    export OMP_NUM_THREADS=1
else
    max_time=$(printf "00:%02d:%02d:%02d" $((TRAIN_SECONDS / 3600)) $((TRAIN_SECONDS % 3600 / 60)) \
        $((TRAIN_SECONDS % 60)))
    device=(--trainer.accelerator gpu --trainer.devices 1 --trainer.max_time "$max_time")
    checkpoint_every=500  # the time limit stops a run between checkpoints: at most this many iterations are lost
    evaluate_every=2000; fakes=10000  # the card's training curve: in-domain FID and recall, 10k fakes vs 50k train
    nvidia-smi --query-gpu=name,memory.total --format=csv
fi
if [ ! -d "$GANZOO_DATA/cifar10-jpeg" ]; then
    mkdir -p "$GANZOO_DATA"
    python3 -c "from ganzoo.data import extract_cifar10_jpeg; extract_cifar10_jpeg('.gpu/data/cifar10-jpeg.tar.gz', '$GANZOO_DATA/cifar10-jpeg')"
fi
# The in-domain reference features once, before the runs start (else both would compute them at once).
python3 - <<PY || exit 1
import torch
from ganzoo.metrics.evaluate import evaluate_generator
from ganzoo.nn import build_network
generator = build_network("DCGANGenerator", latent_dim=8, resolution=32, channels=3, base_width=8)
device = "cuda" if torch.cuda.is_available() else "cpu"
evaluate_generator(generator.to(device), metrics="fid,pr", features="cifar10", n=$fakes)
print("reference features ready")
PY

train() {  # train NAME RECIPE: one run in the background, its log in runs_NAME.log
    python3 -m ganzoo.cli fit --config "recipes/$2.yaml" "${device[@]}" --model.init_args.lr_schedule constant \
        --model.init_args.sample_every_n_iterations 2000 --data.init_args.in_memory true \
        --data.init_args.num_workers 0 --trainer.logger lightning.pytorch.loggers.CSVLogger \
        --trainer.logger.save_dir runs --trainer.logger.name "$1_gpu" \
        --trainer.callbacks+=ganzoo.callbacks.GeneratorIterationCheckpoint \
        --trainer.callbacks.every_n_generator_iterations "$checkpoint_every" \
        --trainer.callbacks+=ganzoo.callbacks.EvaluationCallback --trainer.callbacks.every_n_generator_iterations \
        "$evaluate_every" --trainer.callbacks.metrics "[fid, pr]" --trainer.callbacks.features cifar10 \
        --trainer.callbacks.n "$fakes" > "runs_$1.log" 2>&1 &
}
start=$(date +%s)
train sngan-cifar10-resnet sngan_cifar10
train wgan-gp-cifar10-resnet wgan_gp_cifar10
wait
seconds=$(( $(date +%s) - start ))

python3 - "$OUT" "$seconds" "$TRAIN_SECONDS" <<'PY'
import csv, pathlib, sys
from ganzoo.zoo import export_run
out, seconds, train_seconds = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
for name in ("sngan-cifar10-resnet", "wgan-gp-cifar10-resnet"):
    run = sorted(pathlib.Path("runs", f"{name}_gpu").glob("version_*"))[-1]
    folder = export_run(run, out / name, kind="generator", dtype="float16")
    (folder / "README.md").unlink(missing_ok=True)
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    iterations = max(float(r["g_iter"]) for r in rows if r.get("g_iter"))
    print(f"{name}: {iterations:.0f} generator iterations in about {seconds} s "
          f"({iterations / seconds:.1f} it/s with both runs sharing the GPU, start-up included; "
          f"{iterations / train_seconds:.1f} it/s over the {train_seconds} s time limit)")
PY
tar czf "$OUT/logs.tar.gz" runs_*.log $(find runs -path "*_gpu*" \( -name metrics.csv -o -name "*.png" -o -name config.yaml \))
ls -la "$OUT" "$OUT"/*
