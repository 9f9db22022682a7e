#!/usr/bin/env bash
# Device call 4, session 8, on nvidia-h200 (its Intel Xeon CPU; CUDA hidden), carry [".whl"] (the wheels of
# session8_vendor.sh). Run: bash metrics/benchmarks/gpu_calls/session8_final.sh
# Why: the check of keylike.numerics as committed (square roots from rsqrt; a trained convolution's weight gradient
# and a strided convolution's input gradient from matrix products, after calls 1-3 in session8/call*/): the same
# bytes as the AMD EPYC dev machine in one training step (model_trace), in 39 single operations
# (numerics_fingerprint) and in every file of ingest, split, a 40-step train, merge and export (exactness.sh).
# The AMD side ran with the same commands at the same code; its files are in session8/. Results: session8/call4/.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=$PWD:/tmp/site HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 CUDA_VISIBLE_DEVICES=
here=metrics/benchmarks/gpu_calls/session8
log="$OUT/log.txt"
lscpu | grep -E "Model name|Flags|cache" | cut -c1-300 > "$OUT/machine.txt"
python3 -m keylike.benchmarks.model_trace --out "$OUT/trace_intel.json" >> "$log" 2>&1
python3 -m keylike.benchmarks.model_trace --compare $here/trace_amd.json "$OUT/trace_intel.json" | tee "$OUT/trace_compare.json"
python3 -m keylike.benchmarks.numerics_fingerprint --out "$OUT/fingerprint_intel.json" \
  --settings '{"pinned": {}, "native": {"KEYLIKE_NATIVE_NUMERICS": "1"}}' > /dev/null 2>> "$log"
python3 -m keylike.benchmarks.numerics_fingerprint --compare $here/fingerprint_amd.json "$OUT/fingerprint_intel.json" | tee "$OUT/fingerprint_compare.json"
start=$(date +%s)
bash metrics/benchmarks/gpu_calls/exactness.sh /tmp/exact >> "$log" 2>&1
echo "exactness.sh took $(( $(date +%s) - start )) s" | tee -a "$log"
cp /tmp/exact/md5.txt "$OUT/exactness_md5_intel.txt"
diff <(sort -k2 $here/exactness_md5_amd.txt) <(sort -k2 /tmp/exact/md5.txt) > "$OUT/exactness_diff.txt" \
  && echo "IDENTICAL: $(wc -l < /tmp/exact/md5.txt) files" | tee -a "$log" \
  || echo "DIFFERENT: $(grep -c '^>' "$OUT/exactness_diff.txt") of $(wc -l < /tmp/exact/md5.txt) files" | tee -a "$log"
