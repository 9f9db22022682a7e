# device call B: hf backend with every decoder layer compiled (recompile limit raised), cold then warm compile cache; then unsloth at the same recipe
set -x
cd "$(dirname "$0")/../../.."
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false TORCHINDUCTOR_CACHE_DIR=/tmp/inductor
t0=$(date +%s)
[ -f /tmp/e4b/config.json ] || python3 -c "from pathlib import Path; from keylike.model.full_size import save_full_size; save_full_size(Path('/tmp/e4b'))"
echo "saved after $(( $(date +%s) - t0 )) s"
S="--train-set ingest.synthetic_count=300 --train-set train.load_in_4bit=false --train-set train.batch_size=16 --train-set train.grad_accum=1 --train-set train.max_steps=12 --train-set train.gradient_checkpointing=false --train-set train.logging_steps=1 --train-set train.eval_steps=12 --train-set train.save_steps=12 --train-set train.dataloader_workers=6 --train-set train.compile_layers=true"
for run in cold warm; do
  timeout $(( 480 - ($(date +%s) - t0) )) python3 -m keylike.benchmarks.gpu --phases train --backend hf --label hf-bf16-b16-nogc-w6-compiled-all-$run --recipe bf16-b16-nogc-w6-compiled --model-dir /tmp/e4b --work /tmp/tb-$run --out $OUT/train_b.json $S 2>&1 | grep -E "recompile|^train |Error|error" | cut -c1-1500
  echo "$run done after $(( $(date +%s) - t0 )) s"
done
du -sh /tmp/inductor
UNSLOTH_COMPILE_DISABLE=1 timeout $(( 585 - ($(date +%s) - t0) )) python3 -m keylike.benchmarks.gpu --phases train --backend unsloth --label unsloth-bf16-b16-nogc-w0 --recipe bf16-b16-nogc --model-dir /tmp/e4b --work /tmp/tb-un --out $OUT/train_b.json ${S/train.compile_layers=true/train.compile_layers=false} --train-set train.dataloader_workers=0 2>&1 | grep -E "^train |Error|error|it\]" | tail -5 | cut -c1-1500
echo "unsloth done after $(( $(date +%s) - t0 )) s"
