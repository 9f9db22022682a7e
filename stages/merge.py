"""Stage `merge`: merge the LoRA adapter into the 16-bit base weights, choose the confidence threshold
on the val split, smoke-test the reloaded model.

    python stages/merge.py --params params.yaml --adapter data/models/adapter --split data/split \
        --images data/ingested --out data/models/merged --metrics metrics/merge.json
"""

import argparse
from pathlib import Path

from keylike.config import load_params
from keylike.errors import run_main
from keylike.evaluation.benchmark import calibrate_on_val
from keylike.io import write_json
from keylike.model.merging import MergeConfig, merge_adapter
from keylike.numerics import pin_cpu_numerics


def main(argv: list[str] | None = None) -> None:
    pin_cpu_numerics()  # before torch loads: the same bytes on any x86-64 machine
    parser = argparse.ArgumentParser(prog="merge", description=__doc__)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--adapter", type=Path, required=True, help="adapter folder written by the train stage")
    parser.add_argument("--split", type=Path, required=True, help="folder with val.jsonl (the threshold is chosen there)")
    parser.add_argument("--images", type=Path, required=True, help="ingested data set (image paths are relative to it)")
    parser.add_argument("--out", type=Path, required=True, help="merged model folder (replaced atomically)")
    parser.add_argument("--metrics", type=Path, required=True)
    args = parser.parse_args(argv)
    config = MergeConfig.from_params(load_params(args.params))
    def choose_threshold(folder: Path) -> dict:
        return calibrate_on_val(folder, args.split, args.images, config.min_presented_accuracy)

    write_json(args.metrics, merge_adapter(config, adapter_dir=args.adapter, out_dir=args.out, finalize=choose_threshold))


if __name__ == "__main__":
    run_main(main, "merge")
