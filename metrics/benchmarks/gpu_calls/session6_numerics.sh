#!/usr/bin/env bash
# Device call, session 6, on nvidia-h200 (its Intel Xeon CPU, AVX-512/AMX; run: bash metrics/benchmarks/gpu_calls/session6_numerics.sh).
# Why: CI's fresh `dvc repro` on an AMD EPYC (AVX2 only) gave another adapter than the committed one (made on
# Intel AVX-512 machines under the same pins). keylike.benchmarks.numerics_fingerprint hashes each torch CPU
# operation under the pins and under MKL_CBWR variants here; the same command ran on the AMD machine
# (numerics_fingerprint_amd.json), and --compare names the operations that differ.
# First run (MKL_CBWR SSE4_2/AVX/AVX2 variants too, session6/numerics_compare_1.json): under the pins the MKL
# products, exp/log1p and AdamW differed; under MKL_CBWR=COMPATIBLE only AdamW. The second run split AdamW into its ops
# (session6/numerics_compare_2.json: under COMPATIBLE only sqrt and AdamW differ); a third run, adding tanh, erf,
# pow(x, 0.5), rsqrt and AdamW's fused kernel, had no device time left: numerics_fingerprint_amd.json holds
# those 31 operations on the AMD machine for the next run here (runs 1-2: *_1.json, *_2.json).
set -uo pipefail
export PYTHONPATH=$PWD CUDA_VISIBLE_DEVICES=
lscpu | grep -E "Model name|Flags" | cut -c1-300 > "$OUT/machine.txt"
python3 -c "import torch; print(torch.__version__, torch.backends.mkl.is_available(), torch.__config__.show())" >> "$OUT/machine.txt"
python3 -m keylike.benchmarks.numerics_fingerprint --out "$OUT/numerics_fingerprint_intel.json" \
  --settings '{"pinned": {}, "mkl_compatible": {"MKL_CBWR": "COMPATIBLE"}, "mkl_compatible_aten_default": {"MKL_CBWR": "COMPATIBLE", "ATEN_CPU_CAPABILITY": "default"}}' > /dev/null
python3 -m keylike.benchmarks.numerics_fingerprint --compare metrics/benchmarks/gpu_calls/session6/numerics_fingerprint_amd.json "$OUT/numerics_fingerprint_intel.json"
