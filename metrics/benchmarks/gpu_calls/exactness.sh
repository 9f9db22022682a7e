#!/usr/bin/env bash
# exactness.sh OUT_DIR: ingest + split + a 40-step train + merge (calibration included) + export (4 parity photos) with the pinned
# numerics, as the pipeline's stages run them, then the md5 of every file they wrote (OUT_DIR/md5.txt).
# Run on two machines and diff the md5 lists: the same bytes means "the exact model" holds there.
set -euo pipefail
out=$1; mkdir -p "$out"
python - "$out/params.yaml" <<'PY'
import sys, yaml
params = yaml.safe_load(open("params.yaml"))
params["train"].update(max_steps=40, eval_steps=1000, save_steps=1000)
params["export"].update(parity_samples=4)
yaml.safe_dump(params, open(sys.argv[1], "w"), sort_keys=False)
PY
p="$out/params.yaml"
python stages/ingest.py --params "$p" --raw data/raw --out "$out/ingested" --metrics "$out/ingest.json" --contact-sheet "$out/sheet.png"
python stages/split.py --params "$p" --data "$out/ingested" --validation metrics/details/validation.json --out "$out/split" --metrics "$out/split.json"
python stages/train.py --params "$p" --split "$out/split" --images "$out/ingested" --out "$out/adapter" \
  --checkpoints "$out/checkpoints" --metrics "$out/train.json" --plots "$out/train_plots"
python stages/merge.py --params "$p" --adapter "$out/adapter" --split "$out/split" --images "$out/ingested" \
  --out "$out/merged" --metrics "$out/merge.json"
python stages/export.py --params "$p" --adapter "$out/adapter" --merged "$out/merged" --split "$out/split" \
  --images "$out/ingested" --out "$out/export" --metrics "$out/export.json"
(cd "$out" && find ingested split adapter merged export -type f | sort | xargs md5sum) > "$out/md5.txt"
echo "files: $(wc -l < "$out/md5.txt")"
