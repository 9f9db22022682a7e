#!/usr/bin/env bash
# Device call, session 7, on nvidia-h200 (its Intel Xeon CPU; CUDA hidden), carry [".whl"]
# (.whl: pillow 13.0.0, trl 1.14.2, datasets 4.8.5, dill, multiprocess, peft 0.21.0, timm 1.0.31, accelerate 1.15.0,
# safetensors 0.8.0, downloaded by `pip download --no-deps --python-version 3.12`; torch 2.11.0 and transformers 5.17.0
# are the machine's own, the project's pins). Run: bash metrics/benchmarks/gpu_calls/session7_vendor.sh
# Why: does `dvc repro` give the same bytes on Intel and AMD CPUs under the new pins (MKL_CBWR=COMPATIBLE) and
# keylike.numerics.vendor_neutral_math (sqrt and tanh on ATen kernels)? The AMD side ran on the 2-core AMD EPYC dev
# machine with the same commands; its files are in session7/ (trace_amd.json, fingerprint_amd.json, exactness_md5_amd.txt).
# 1. model_trace: md5 of every module output, gradient and the AdamW step of one training step of the train stage's model.
# 2. numerics_fingerprint: 31 single operations under the pins (and under the old MKL_CBWR=AVX2,STRICT).
# 3. exactness.sh: ingest, split, a 40-step train and merge through the stage scripts; md5 of every file.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=$PWD:/tmp/site HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 CUDA_VISIBLE_DEVICES=
here=metrics/benchmarks/gpu_calls
lscpu | grep -E "Model name|Flags" | cut -c1-300 > "$OUT/machine.txt"
python3 -c "import numpy, PIL, tokenizers, torch, transformers; print('numpy', numpy.__version__, 'pillow', PIL.__version__, 'tokenizers', tokenizers.__version__, 'torch', torch.__version__, 'transformers', transformers.__version__)" >> "$OUT/machine.txt"
python3 -m keylike.benchmarks.model_trace --out "$OUT/trace_intel.json" > "$OUT/trace.log" 2>&1
python3 -m keylike.benchmarks.model_trace --compare $here/session7/trace_amd.json "$OUT/trace_intel.json" | tee "$OUT/trace_compare.json"
python3 -m keylike.benchmarks.numerics_fingerprint --out "$OUT/fingerprint_intel.json" \
  --settings '{"pinned": {}, "mkl_strict_avx2": {"MKL_CBWR": "AVX2,STRICT"}}' > /dev/null
python3 -m keylike.benchmarks.numerics_fingerprint --compare $here/session7/fingerprint_amd.json "$OUT/fingerprint_intel.json" | tee "$OUT/fingerprint_compare.json"
start=$(date +%s)
bash $here/exactness.sh /tmp/exact > "$OUT/exactness.log" 2>&1
echo "exactness.sh took $(( $(date +%s) - start )) s" >> "$OUT/exactness.log"
cp /tmp/exact/md5.txt "$OUT/exactness_md5_intel.txt"; cp /tmp/exact/train.json "$OUT/exactness_train.json"
diff <(sort -k2 $here/session7/exactness_md5_amd.txt) <(sort -k2 /tmp/exact/md5.txt) > "$OUT/exactness_diff.txt" \
  && echo "IDENTICAL: $(wc -l < /tmp/exact/md5.txt) files" | tee -a "$OUT/exactness.log" \
  || echo "DIFFERENT: $(grep -c '^>' "$OUT/exactness_diff.txt") of $(wc -l < /tmp/exact/md5.txt) files" | tee -a "$OUT/exactness.log"
tail -2 "$OUT/exactness.log"
