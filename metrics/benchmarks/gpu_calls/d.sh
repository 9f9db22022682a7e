# device call D: GGUF of the full-size random Gemma 3n E4B (bf16 text, f16 projector), parity on 3 test images vs transformers on the GPU
set -x
cd "$(dirname "$0")/../../.."
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site2 .gguftools/*.whl
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
export LD_LIBRARY_PATH=$PWD/.gguftools/llama_cpp/lib PYTHONPATH=$PWD/.gguftools:/tmp/site2:/tmp/site:$PWD HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
lscpu | grep -E "Model name|Flags" | cut -c1-200
python3 -c "import llama_cpp, conversion, gguf; print('llama_cpp', llama_cpp.__version__)"
t0=$(date +%s)
python3 -c "from pathlib import Path; from keylike.model.full_size import save_full_size; save_full_size(Path('/tmp/e4b'))"
python3 metrics/benchmarks/gpu_calls/d_prepare.py /tmp/gg
echo "prepared after $(( $(date +%s) - t0 )) s"
timeout 330 python3 -m keylike.benchmarks.export_formats --params /tmp/gg/params.yaml --formats gguf --adapter /tmp/e4b --merged /tmp/e4b --split /tmp/gg/split --images /tmp/gg/ingested --out-dir $OUT --note "full-size Gemma 3n E4B with random weights (keylike.model.full_size), bf16 text + f16 projector, llama.cpp on the H200 machine's 16 CPU cores vs transformers bf16 on the GPU; the adapter argument is unused by gguf" 2>&1 | grep -v -E "Warning|^clip_model_loader: tensor|load_tensors|print_info|llama_model_loader" | tail -40
echo "done after $(( $(date +%s) - t0 )) s"
cat $OUT/export_gguf.json | head -c 2500
S="--train-set ingest.synthetic_count=500 --train-set train.load_in_4bit=false --train-set train.batch_size=24 --train-set train.grad_accum=1 --train-set train.max_steps=12 --train-set train.gradient_checkpointing=false --train-set train.logging_steps=1 --train-set train.eval_steps=12 --train-set train.save_steps=12 --train-set train.dataloader_workers=6 --train-set train.compile_layers=true"
TORCHINDUCTOR_CACHE_DIR=/tmp/inductor timeout $(( 590 - ($(date +%s) - t0) )) python3 -m keylike.benchmarks.gpu --phases train --backend hf --label hf-bf16-b24-nogc-w6-compiled --recipe bf16-b24-nogc-w6-compiled --model-dir /tmp/e4b --work /tmp/tb-24 --out $OUT/train_e.json $S 2>&1 | grep -E "recompile|^train |Error|error|CUDA out" | cut -c1-1800
echo "train done after $(( $(date +%s) - t0 )) s"
