# device call C: serving path's fastest setting (static cache + inductor) at batch 1 and 32, then a cold start that reuses the compile cache
set -x
cd "$(dirname "$0")/../../.."
export PYTHONPATH=$PWD HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false TORCHINDUCTOR_CACHE_DIR=/tmp/inductor
timeout 590 python3 -m keylike.benchmarks.gpu --out $OUT/infer_c.json --model-dir /tmp/e4b --phases generate,cold --settings static-inductor --generate-batches 32 --setting static-inductor --repeats 10 --budget-s 430 2>&1 | grep -E "^model|^generate|^cold|Error|error" | cut -c1-1500
du -sh /tmp/inductor
