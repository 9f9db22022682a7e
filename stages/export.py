"""Stage `export`: build the formats in export.formats, check each against the PyTorch merged model.

    python stages/export.py --params params.yaml --adapter data/models/adapter --merged data/models/merged \
        --split data/split --images data/ingested --out data/models/export --metrics metrics/export.json
"""

import argparse
from pathlib import Path

from keylike.config import load_params
from keylike.errors import run_main
from keylike.model.export import ExportConfig, export_model
from keylike.numerics import pin_cpu_numerics


def main(argv: list[str] | None = None) -> None:
    pin_cpu_numerics()  # before torch loads: the same bytes on any x86-64 machine
    parser = argparse.ArgumentParser(prog="export", description=__doc__)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--adapter", type=Path, required=True, help="LoRA adapter folder (train stage)")
    parser.add_argument("--merged", type=Path, required=True, help="merged model folder (merge stage)")
    parser.add_argument("--split", type=Path, required=True, help="folder with train/val/test.jsonl")
    parser.add_argument("--images", type=Path, required=True, help="ingested data set (image paths are relative to it)")
    parser.add_argument("--out", type=Path, required=True, help="export folder, one subfolder per format")
    parser.add_argument("--metrics", type=Path, required=True)
    args = parser.parse_args(argv)
    config = ExportConfig.from_params(load_params(args.params))
    report = export_model(config, adapter_dir=args.adapter, merged_dir=args.merged, split_dir=args.split,
                          images_dir=args.images, out_dir=args.out)
    report.write(args.metrics)
    report.raise_for_parity()


if __name__ == "__main__":
    run_main(main, "export")
