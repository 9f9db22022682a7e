#!/usr/bin/env bash
# GPU call, session 6, on nvidia-h200-x2 (run: bash metrics/benchmarks/gpu_calls/session6_ddp.sh GPUS, carry [".whl"]).
# Issue 19: the h200 profile's training (hf backend, bf16 LoRA, batch 24 per GPU without gradient checkpointing,
# compiled decoder layers, 6 loader workers, production's adamw_8bit) on a local full-size Gemma 3n E4B folder
# (random weights, keylike.model.full_size; nothing downloaded), through keylike's train_adapter:
#   GPUS=2: DDP under accelerate launch (train.processes=2), global batch 48 = 24 per GPU;
#   GPUS=1: batch 24 (the same per-GPU load).
# .whl: pillow, trl, datasets, dill, multiprocess, peft, timm at the project pins, and bitsandbytes 0.50.2 (for
# adamw_8bit; its wheel slimmed to the CPU and CUDA 13 libraries as ../shared/device/gpu-wheels.sh does).
# 1,500 photos give about 600 training photos, so the 12 timed steps of 48 stay inside one epoch (no short last batch).
# Each optimiser step timed (keylike.benchmarks.gpu --phases train); results in $OUT/train_ddp.json.
#
# What happened in session 6 (both GPU counts in one call then, 2 GPUs first):
#   call 1: stopped at the optimiser: bitsandbytes was not carried (adamw_8bit).
#   call 2: 2 GPUs trained all 12 steps (session6/ddp.log; steps 2-12 in about 10 s on the progress bar), then hit
#     the 330 s limit in the final evaluation, whose graphs compile anew, before the JSON was written; the 1-GPU
#     run had the rest of the call and did not get past its data (session6/one.log). Then the kind was no
#     longer lent. Hence one GPU count per call now, with the whole call's time.
set -uo pipefail
gpus=${1:?usage: session6_ddp.sh GPUS (1 or 2)}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=$PWD:/tmp/site HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false TORCHINDUCTOR_CACHE_DIR=/tmp/inductor
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
t0=$(date +%s)
{ lscpu | grep -E "Model name|^CPU\(s\)"; nvidia-smi -L; nvidia-smi topo -m; python3 -c "import torch, transformers, accelerate; print(torch.__version__, transformers.__version__, accelerate.__version__)"; } > "$OUT/machine.txt" 2>&1
[ -f /tmp/e4b/config.json ] || python3 -m keylike.model.full_size /tmp/e4b 2>&1 | tail -1
echo "model ready after $(( $(date +%s) - t0 )) s"
timeout $(( 585 - ($(date +%s) - t0) )) python3 -m keylike.benchmarks.gpu --phases train --profile h200 --backend hf \
  --model-dir /tmp/e4b --work /tmp/ddp-work --out "$OUT/train_ddp.json" --label "h200-${gpus}gpu-b$(( 24 * gpus ))" \
  --recipe h200-b24-per-gpu --train-set ingest.synthetic_count=1500 --train-set train.max_steps=12 \
  --train-set train.logging_steps=1 --train-set train.eval_steps=1000 --train-set train.save_steps=1000 \
  --train-set train.processes="$gpus" --train-set train.batch_size=$(( 24 * gpus )) 2>&1 \
  | grep -v -E "Warning|warn\(" | tee "$OUT/train.log" | grep -E "^train |Error|error|Traceback|CUDA out" | cut -c1-1500
echo "done after $(( $(date +%s) - t0 )) s"
