# device call F: unsloth at the hf recipe of call A (bf16 LoRA, batch 16, no gradient checkpointing, 6 loader workers), for the same-recipe backend comparison
set -x
cd "$(dirname "$0")/../../.."
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
t0=$(date +%s)
python3 -c "from pathlib import Path; from keylike.model.full_size import save_full_size; save_full_size(Path('/tmp/e4b'))"
S="--train-set ingest.synthetic_count=300 --train-set train.load_in_4bit=false --train-set train.batch_size=16 --train-set train.grad_accum=1 --train-set train.max_steps=10 --train-set train.gradient_checkpointing=false --train-set train.logging_steps=1 --train-set train.eval_steps=10 --train-set train.save_steps=10 --train-set train.dataloader_workers=6"
UNSLOTH_COMPILE_DISABLE=1 timeout $(( 570 - ($(date +%s) - t0) )) python3 -m keylike.benchmarks.gpu --phases train --backend unsloth --label unsloth-bf16-b16-nogc-w6 --recipe bf16-b16-nogc-w6 --model-dir /tmp/e4b --work /tmp/tb-un --out $OUT/train_f.json $S 2>&1 | grep -E "^train |Error|error|it\]" | tail -4 | cut -c1-2500
echo "unsloth done after $(( $(date +%s) - t0 )) s"
