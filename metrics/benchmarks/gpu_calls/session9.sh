#!/usr/bin/env bash
# Device call 1, session 9, on nvidia-h200 (its Intel Xeon CPU; CUDA hidden), carry [".whl"] (the wheels of
# session8_vendor.sh). Run: bash metrics/benchmarks/gpu_calls/session9.sh
# Why: the default profile now runs torch on 2 threads (train, merge, export, benchmark `cpu_threads: 2`, the
# 15-minute budget of issue 14). The thread count splits reductions, so this checks the same bytes as the AMD EPYC
# dev machine at 2 threads: one training step (model_trace) and every file of ingest, split, a 40-step train,
# merge and export (exactness.sh), twice at once: on two cores (taskset 2,3) and with both threads on one core
# (taskset 0), as on a 1-core machine. The AMD side ran the same commands at the same code; its files are in
# session9/. Results: session9/call1/.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=$PWD:/tmp/site HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 CUDA_VISIBLE_DEVICES=
here=metrics/benchmarks/gpu_calls/session9
log="$OUT/log.txt"
lscpu | grep -E "Model name|Flags|cache" | cut -c1-300 > "$OUT/machine.txt"
python3 -m keylike.benchmarks.model_trace --out "$OUT/trace_intel.json" >> "$log" 2>&1
python3 -m keylike.benchmarks.model_trace --compare $here/trace_amd.json "$OUT/trace_intel.json" | tee "$OUT/trace_compare.json"
start=$(date +%s)
taskset -c 2,3 bash metrics/benchmarks/gpu_calls/exactness.sh /tmp/exact_two_cores > "$OUT/exactness_two_cores.log" 2>&1 &
taskset -c 0 bash metrics/benchmarks/gpu_calls/exactness.sh /tmp/exact_one_core > "$OUT/exactness_one_core.log" 2>&1
wait
echo "exactness.sh took $(( $(date +%s) - start )) s (both)" | tee -a "$log"
for cores in two_cores one_core; do
  cp /tmp/exact_$cores/md5.txt "$OUT/exactness_md5_intel_$cores.txt"
  diff <(sort -k2 $here/exactness_md5_amd.txt) <(sort -k2 /tmp/exact_$cores/md5.txt) > /dev/null \
    && echo "$cores IDENTICAL: $(wc -l < /tmp/exact_$cores/md5.txt) files" | tee -a "$log" \
    || echo "$cores DIFFERENT: $(diff <(sort -k2 $here/exactness_md5_amd.txt) <(sort -k2 /tmp/exact_$cores/md5.txt) | grep -c '^>') of $(wc -l < /tmp/exact_$cores/md5.txt) files" | tee -a "$log"
done
