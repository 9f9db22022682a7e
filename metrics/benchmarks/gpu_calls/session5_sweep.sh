#!/usr/bin/env bash
# GPU call, session 5 (run: bash metrics/benchmarks/gpu_calls/session5_sweep.sh, carry [".whl"]):
# 1. "The exact model" on a second machine: exactness.sh on this machine's CPU (CUDA hidden) with the
#    project's pinned wheels (.whl: pillow, numpy, trl, datasets, peft, timm; torch 2.11.0+cu130 and
#    transformers 5.17.0 are already the pinned ones here), md5 list diffed against the dev machine's
#    (exactness_md5_dev.txt, made there by the same script).
# 2. Fine-tuning variants on the H200 (keylike.benchmarks.finetune_sweep), on the split step 1 made.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=$PWD:/tmp/site HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
here=$(dirname "$0")
lscpu | grep -E "Model name|Flags" | cut -c1-300 > "$OUT/machine.txt"; nvidia-smi -L >> "$OUT/machine.txt"
(CUDA_VISIBLE_DEVICES= bash "$here/exactness.sh" /tmp/exact > "$OUT/exactness.log" 2>&1
 diff "$here/exactness_md5_dev.txt" /tmp/exact/md5.txt > "$OUT/exactness_diff.txt" && echo "IDENTICAL: $(wc -l < /tmp/exact/md5.txt) files" >> "$OUT/exactness.log"
 cp /tmp/exact/train.json "$OUT/exactness_train.json") &
until [ -d /tmp/exact/split ]; do sleep 2; done
OMP_NUM_THREADS=1 python -m keylike.benchmarks.finetune_sweep --split /tmp/exact/split --images /tmp/exact/ingested \
  --variants '{"e4_all": {}, "e5_all": {"epochs": 5}, "e5_l34": {"epochs": 5, "encoder_layers": "layer[34]\\."}, "e6_l34": {"epochs": 6, "encoder_layers": "layer[34]\\."}, "e6_l4": {"epochs": 6, "encoder_layers": "layer4\\."}}' \
  --seeds 3407 11 --parallel 10 --workdir /tmp/sweep --out "$OUT/finetune_sweep.json" 2>&1 | tee "$OUT/sweep.log"
wait
tail -3 /tmp/sweep/e4_all-seed3407/log.txt
cat "$OUT/exactness.log" | tail -3
