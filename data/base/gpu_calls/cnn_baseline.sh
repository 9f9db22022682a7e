#!/usr/bin/env bash
# One device call (H200): the from-scratch CNN baseline with the base's GPU budget (keylike.benchmarks.cnn_baseline).
# Usage on the device, from the repository root: bash data/base/gpu_calls/cnn_baseline.sh
# Back here: cp cnn_baseline.json metrics/benchmarks/, the log beside this script.
set -uo pipefail
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD HF_HUB_OFFLINE=1
timeout 540 python -m keylike.benchmarks.cnn_baseline --params data/base/params.yaml \
    --base-metrics data/base/metrics.json --out "$OUT/cnn_baseline.json" 2>&1 | tee "$OUT/cnn_baseline.log"
