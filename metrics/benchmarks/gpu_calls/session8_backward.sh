#!/usr/bin/env bash
# Device call 3, session 8, on nvidia-h200 (its Intel Xeon CPU; CUDA hidden), carry [".whl"] (the wheels of
# session8_vendor.sh). Run: bash metrics/benchmarks/gpu_calls/session8_backward.sh
# (Ran at the state before model_trace lost its --conv-input-gradient-matmul option; see session8/call3/README.md.)
# Why: call 2 (session8/call2/) left 5 LoRA B gradients of the ResNet tower's high-resolution layers differing
# Intel vs AMD, with every forward output the same. This call locates the backward operation that parts:
# 1. model_trace, now with the gradient at every module's output in backward order, under vendor_neutral_math as the
#    stages run it (convolution weight gradients from a matrix product) and with the option that takes the input
#    gradients from matrix products too (--conv-input-gradient-matmul);
# 2. numerics_fingerprint with single backward operations (convolution input gradients at stride 1 and 2, batch
#    norm, max pool) under the pins and natively.
# The AMD side ran on the 2-core AMD EPYC dev machine with the same commands; its files are in session8/.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=$PWD:/tmp/site HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 CUDA_VISIBLE_DEVICES=
here=metrics/benchmarks/gpu_calls/session8
python3 -m keylike.benchmarks.model_trace --out "$OUT/trace_intel.json" > "$OUT/log.txt" 2>&1
python3 -m keylike.benchmarks.model_trace --conv-input-gradient-matmul --out "$OUT/trace_full_intel.json" >> "$OUT/log.txt" 2>&1
python3 -m keylike.benchmarks.numerics_fingerprint --out "$OUT/fingerprint_intel.json" \
  --settings '{"pinned": {}, "native": {"KEYLIKE_NATIVE_NUMERICS": "1"}}' > /dev/null 2>> "$OUT/log.txt"
python3 - "$here" "$OUT" <<'PY' | tee "$OUT/compare.json"
import json, sys
here, out = sys.argv[1:]
def differing(a, b):
    first, second = (dict(json.load(open(p))["trace"]) for p in (a, b))
    names = [n for n, d in first.items() if second.get(n) != d]
    return {"compared": len(first), "differing": len(names), "names": names}
fingerprints = [json.load(open(p))["settings"] for p in (f"{here}/fingerprint_amd.json", f"{out}/fingerprint_intel.json")]
print(json.dumps({
    "trace": differing(f"{here}/trace_amd.json", f"{out}/trace_intel.json"),
    "trace_conv_input_gradient_matmul": differing(f"{here}/trace_full_amd.json", f"{out}/trace_full_intel.json"),
    "fingerprint": {s: [op for op, d in h.items() if fingerprints[1][s].get(op) != d] for s, h in fingerprints[0].items()},
}, indent=1))
PY
