"""Merge a LoRA adapter into the 16-bit base weights (the `merge` stage's library call).

The merged folder loads with plain `AutoModelForImageTextToText.from_pretrained`.

    keylike merge --adapter data/models/adapter --out data/models/merged
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `keylike merge`."""
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params.yaml with `merge` and `train` blocks")
    parser.add_argument("--adapter", type=Path, default=Path("data/models/adapter"), help="adapter folder")
    parser.add_argument("--out", type=Path, default=Path("data/models/merged"), help="merged model folder")
    parser.add_argument("--split", type=Path, default=None,
                        help="split folder: choose the confidence threshold on its val split (the stage passes data/split)")
    parser.add_argument("--images", type=Path, default=Path("data/ingested"), help="ingested data set, with --split")
    parser.add_argument("--metrics", type=Path, default=Path("metrics/merge.json"))


def run(args: argparse.Namespace) -> int:
    """Merge, then print where the model went and the smoke answer."""
    from keylike.config import load_params
    from keylike.evaluation.benchmark import calibrate_on_val
    from keylike.io import write_json
    from keylike.model.merging import MergeConfig, merge_adapter

    config = MergeConfig.from_params(load_params(args.params))

    def choose_threshold(folder: Path) -> dict:
        return calibrate_on_val(folder, args.split, args.images, config.min_presented_accuracy)

    metrics = merge_adapter(config, adapter_dir=args.adapter, out_dir=args.out,
                            finalize=choose_threshold if args.split else None)
    write_json(args.metrics, metrics)
    verdict = "parses" if metrics["smoke_parsed"] else f"does not parse ({metrics['smoke_parse_error']})"
    print(f"merged model in {args.out} ({metrics['dtype']}); smoke answer {metrics['smoke_answer']!r} {verdict}")
    return 0
