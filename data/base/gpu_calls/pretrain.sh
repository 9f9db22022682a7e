#!/usr/bin/env bash
# One device call (H200): run the base pipeline's stage command exactly as data/base/dvc.yaml states it,
# then pack the outputs (model, metrics.json, curves, the log, phase 1's tower) into $OUT in <16 MiB pieces.
# Usage on the device, from the repository root: bash data/base/gpu_calls/pretrain.sh [seconds]
# Back here: cat run.tar.part-* | tar x -C data/base, then dvc commit data/base/dvc.yaml (README, "The base model").
set -uo pipefail
limit=${1:-540}
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD HF_HUB_OFFLINE=1
python -c 'import torch, transformers, timm; print(torch.__version__, transformers.__version__, timm.__version__, torch.cuda.get_device_name())'
cmd=$(python -c 'import yaml; print(yaml.safe_load(open("data/base/dvc.yaml"))["stages"]["pretrain"]["cmd"])')
echo "+ (cd data/base && $cmd --tower-checkpoint tower.safetensors)"
(cd data/base && timeout "$limit" $cmd --tower-checkpoint tower.safetensors) 2>&1 | tee "$OUT/log.txt"
rc=$?
cd data/base && tar cf - model metrics.json curves tower.safetensors 2>/dev/null | split -b 15M - "$OUT/run.tar.part-"
ls -la "$OUT"
exit $rc
