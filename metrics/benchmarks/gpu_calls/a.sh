# device call A: training levers (bf16 LoRA r=32, batch 16, no gradient checkpointing, loader workers, compiled layers)
set -x
cd "$(dirname "$0")/../../.."
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.used --format=csv
t0=$(date +%s)
python3 -c "from pathlib import Path; from keylike.model.full_size import save_full_size; save_full_size(Path('/tmp/e4b'))"
echo "saved after $(( $(date +%s) - t0 )) s"
S="--train-set ingest.synthetic_count=300 --train-set train.load_in_4bit=false --train-set train.batch_size=16 --train-set train.grad_accum=1 --train-set train.max_steps=12 --train-set train.gradient_checkpointing=false --train-set train.logging_steps=1 --train-set train.eval_steps=12 --train-set train.save_steps=12 --train-set train.dataloader_workers=6"
timeout 170 python3 -m keylike.benchmarks.gpu --phases train --backend hf --label hf-bf16-b16-nogc-w6 --recipe bf16-b16-nogc-w6 --model-dir /tmp/e4b --work /tmp/tb1 --out $OUT/train_a.json $S 2>&1 | grep -v Warning | tail -15
echo "hf done after $(( $(date +%s) - t0 )) s"
UNSLOTH_COMPILE_DISABLE=1 timeout 150 python3 -m keylike.benchmarks.gpu --phases train --backend unsloth --label unsloth-bf16-b16-nogc-w6 --recipe bf16-b16-nogc-w6 --model-dir /tmp/e4b --work /tmp/tb2 --out $OUT/train_a.json $S 2>&1 | grep -v Warning | tail -15
echo "unsloth done after $(( $(date +%s) - t0 )) s"
TORCHINDUCTOR_CACHE_DIR=/tmp/inductor timeout $(( 540 - ($(date +%s) - t0) )) python3 -m keylike.benchmarks.gpu --phases train --backend hf --label hf-bf16-b16-nogc-w6-compiled --recipe bf16-b16-nogc-w6-compiled --model-dir /tmp/e4b --work /tmp/tb3 --out $OUT/train_a.json $S --train-set train.compile_layers=true 2>&1 | grep -v Warning | tail -25
echo "compiled done after $(( $(date +%s) - t0 )) s"
ls -la $OUT
