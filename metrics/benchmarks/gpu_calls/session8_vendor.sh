#!/usr/bin/env bash
# Device call, session 8, on nvidia-h200 (its Intel Xeon CPU; CUDA hidden), carry [".whl"]
# (.whl: pillow 13.0.0, trl 1.14.2, datasets 4.8.5, dill 0.4.1, multiprocess 0.70.19, peft 0.21.0, timm 1.0.31,
# accelerate 1.15.0, safetensors 0.8.0, downloaded by `pip download --no-deps --python-version 3.12`; torch 2.11.0 and
# transformers 5.17.0 are the machine's own, the project's pins). Run: bash metrics/benchmarks/gpu_calls/session8_vendor.sh
# Why: session 7 found 4 of 1771 exactness files (the adapter and merged weights) differing Intel vs AMD, traced to
# square roots (`x ** 0.5` in AltUp, AdamW's sqrt): pow(x, 0.5) is ATen's sqrt kernel, which is MKL's vector sqrt.
# keylike.numerics.vendor_neutral_math now computes every square root as 1 / rsqrt(x) and (after call 1, session8/call1/)
# a trained convolution's weight gradient as one matrix product. The AMD side ran on the 2-core AMD EPYC dev machine
# with the same commands at the same code; its files are in session8/. Call 2's results: session8/call2/.
# 1. model_trace: md5 of every module output, gradient and the AdamW step of one training step of the train stage's model.
# 2. numerics_fingerprint: 31 single operations, pinned (as the stages run) and native.
# 3. exactness.sh: ingest, split, a 40-step train, merge and export through the stage scripts; md5 of every file.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=$PWD:/tmp/site HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 CUDA_VISIBLE_DEVICES=
here=metrics/benchmarks/gpu_calls
log="$OUT/log.txt"
lscpu | grep -E "Model name|Flags" | cut -c1-300 > "$OUT/machine.txt"
python3 -c "import numpy, PIL, tokenizers, torch, transformers; print('numpy', numpy.__version__, 'pillow', PIL.__version__, 'tokenizers', tokenizers.__version__, 'torch', torch.__version__, 'transformers', transformers.__version__)" >> "$OUT/machine.txt"
python3 -m keylike.benchmarks.model_trace --out "$OUT/trace_intel.json" >> "$log" 2>&1
python3 -m keylike.benchmarks.model_trace --compare $here/session8/trace_amd.json "$OUT/trace_intel.json" | tee "$OUT/trace_compare.json"
python3 -m keylike.benchmarks.numerics_fingerprint --out "$OUT/fingerprint_intel.json" \
  --settings '{"pinned": {}, "native": {"KEYLIKE_NATIVE_NUMERICS": "1"}}' > /dev/null 2>> "$log"
python3 -m keylike.benchmarks.numerics_fingerprint --compare $here/session8/fingerprint_amd.json "$OUT/fingerprint_intel.json" | tee "$OUT/fingerprint_compare.json"
start=$(date +%s)
bash $here/exactness.sh /tmp/exact >> "$log" 2>&1
echo "exactness.sh took $(( $(date +%s) - start )) s" | tee -a "$log"
cp /tmp/exact/md5.txt "$OUT/exactness_md5_intel.txt"
diff <(sort -k2 $here/session8/exactness_md5_amd.txt) <(sort -k2 /tmp/exact/md5.txt) > "$OUT/exactness_diff.txt" \
  && echo "IDENTICAL: $(wc -l < /tmp/exact/md5.txt) files" | tee -a "$log" \
  || echo "DIFFERENT: $(grep -c '^>' "$OUT/exactness_diff.txt") of $(wc -l < /tmp/exact/md5.txt) files" | tee -a "$log"
