"""Split the ingested data set into train/val/test without leakage.

Photos of one physical key (same keyway and bitting) and copies of one image stay in one split;
each keyway is split by the fractions in params.yaml's `split` block, shuffled by `base.seed`.
Refuses to run unless --validation says this manifest passed `keylike validate`.

    keylike split --data data/ingested --out data/split
"""

from __future__ import annotations

import argparse
import json

from keylike.commands import add_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `keylike split` (path defaults: the split stage's in dvc.yaml)."""
    add_path(parser, "split", "--params", "reads `split` and `base.seed`")
    add_path(parser, "split", "--data", "ingested data set folder")
    add_path(parser, "split", "--validation", "details of `keylike validate` on the same data set")
    add_path(parser, "split", "--out", "folder for {train,val,test}.jsonl (replaced atomically)")
    add_path(parser, "split", "--metrics", "metrics JSON")


def run(args: argparse.Namespace) -> int:
    """Split, write the manifests and metrics, print the counts."""
    from keylike.config import load_params
    from keylike.data.split import SplitConfig, split_dataset

    config = SplitConfig.from_params(load_params(args.params))
    summary = split_dataset(config, data_dir=args.data, validation_path=args.validation, out_dir=args.out)
    summary.write_json(args.metrics)
    print(json.dumps(summary.counts, indent=2, sort_keys=True))
    return 0
