#!/usr/bin/env bash
# After train_zoo_models.sh: export the runs as pretrained folders (fp16) into $OUT.
set -uo pipefail
OUT=${OUT:-/tmp/ganzoo-out}
python3 - <<PY
from ganzoo.zoo import export_run
export_run("runs/dcgan_fashion_mnist_zoo", "$OUT/dcgan", kind="gan", dtype="float16")
export_run("runs/sngan_cifar10_zoo", "$OUT/sngan", kind="generator", dtype="float16")
PY
rm -f "$OUT"/dcgan/README.md "$OUT"/sngan/README.md
tar czf "$OUT/logs.tar.gz" runs_*.log $(find runs -name metrics.csv -o -name "*.png" -o -name config.yaml | grep zoo)
ls -la "$OUT" "$OUT"/*
