#!/usr/bin/env bash
# How sngan-cifar10 and the CIFAR-10 feature classifier were trained: one GPU, three jobs side
# by side. (Its dcgan-fashion-mnist job made the first bundled DCGAN; the one bundled now was
# trained on the 2-core CPU with the recipe as committed, see model_cards/dcgan-fashion-mnist.md.) Run from the repository root with the data in .gpu/data/:
#   .gpu/data/fashion-mnist/*.gz      (the Debian package's files)
#   .gpu/data/cifar10-jpeg.tar.gz     (the JPEG re-encoding of CIFAR-10, see ../shared/data)
# and, where jsonargparse is missing, its wheels in .whl/. Results go to $OUT.
set -uo pipefail
OUT=${OUT:-/tmp/ganzoo-out}; mkdir -p "$OUT"
SNGAN_MINUTES=${SNGAN_MINUTES:-7}
if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site:$PWD
else
    export PYTHONPATH=$PWD
fi
export GANZOO_DATA=/root/ganzoo-data PYTHONUNBUFFERED=1 WANDB_MODE=disabled
mkdir -p /usr/share/datasets/fashion-mnist "$GANZOO_DATA"
cp .gpu/data/fashion-mnist/*.gz /usr/share/datasets/fashion-mnist/
python3 -c "from ganzoo.data import extract_cifar10_jpeg; extract_cifar10_jpeg('.gpu/data/cifar10-jpeg.tar.gz', '$GANZOO_DATA/cifar10-jpeg')"
nvidia-smi --query-gpu=name,memory.total --format=csv
python3 -c "import torch, lightning; print('torch', torch.__version__, 'lightning', lightning.__version__)"

python3 scripts/train_feature_classifier.py --dataset cifar10 --device cuda --data-dir "$GANZOO_DATA" \
    --out "$OUT/" > runs_classifier.log 2>&1 &

python3 -m ganzoo.cli fit --config recipes/dcgan_fashion_mnist.yaml --trainer.accelerator gpu --trainer.devices 1 \
    --model.init_args.max_generator_iterations 15000 --model.init_args.sample_every_n_iterations 2500 \
    --data.init_args.batch_size 128 --trainer.max_time 00:00:06:00 \
    --trainer.logger.init_args.save_dir runs --trainer.logger.init_args.name dcgan_fashion_mnist_zoo \
    > runs_dcgan.log 2>&1 &

python3 -m ganzoo.cli fit --config recipes/sngan_cifar10.yaml --trainer.accelerator gpu --trainer.devices 1 \
    --data.init_args.data_dir "$GANZOO_DATA" --model.init_args.max_generator_iterations 20000 \
    --model.init_args.sample_every_n_iterations 2000 --trainer.max_time 00:00:0${SNGAN_MINUTES}:00 \
    --trainer.logger lightning.pytorch.loggers.CSVLogger --trainer.logger.save_dir runs \
    --trainer.logger.name sngan_cifar10_zoo > runs_sngan.log 2>&1 &
wait
tail -n 3 runs_dcgan.log runs_sngan.log runs_classifier.log
