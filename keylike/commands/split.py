"""Split the ingested data set into train/val/test without leakage.

Photos of one physical key (same keyway and bitting) and copies of one image stay in one split;
each keyway is split by the fractions in params.yaml's `split` block, shuffled by `base.seed`.
Refuses to run unless --validation says this manifest passed `keylike validate`.

    keylike split --data data/ingested --out data/split
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `keylike split`."""
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="reads `split` and `base.seed`")
    parser.add_argument("--data", type=Path, default=Path("data/ingested"), help="ingested data set folder")
    parser.add_argument("--validation", type=Path, default=Path("metrics/validation.json"),
                        help="metrics of `keylike validate` on the same data set")
    parser.add_argument("--out", type=Path, default=Path("data/split"), help="folder for {train,val,test}.jsonl")
    parser.add_argument("--metrics", type=Path, default=Path("metrics/split.json"), help="metrics JSON")


def run(args: argparse.Namespace) -> int:
    """Split, write the manifests and metrics, print the counts."""
    from keylike.config import load_params
    from keylike.data.split import SplitConfig, split_dataset

    config = SplitConfig.from_params(load_params(args.params))
    summary = split_dataset(config, data_dir=args.data, validation_path=args.validation, out_dir=args.out)
    summary.write_json(args.metrics)
    print(json.dumps(summary.counts, indent=2, sort_keys=True))
    return 0
