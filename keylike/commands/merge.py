"""Merge a LoRA adapter into the 16-bit base weights (the `merge` stage's library call).

The merged folder loads with plain `AutoModelForImageTextToText.from_pretrained`.

    keylike merge --adapter data/models/adapter --out data/models/merged
"""

from __future__ import annotations

import argparse
from pathlib import Path

from keylike.commands import add_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `keylike merge` (path defaults: the merge stage's in dvc.yaml)."""
    add_path(parser, "merge", "--params", "params.yaml with the `merge` block (the base model comes from the adapter)")
    add_path(parser, "merge", "--adapter", "adapter folder written by the train stage")
    add_path(parser, "merge", "--split", "folder with val.jsonl (the confidence threshold is chosen there)")
    add_path(parser, "merge", "--images", "ingested data set (image paths are relative to it)")
    add_path(parser, "merge", "--out", "merged model folder (replaced atomically)")
    add_path(parser, "merge", "--metrics", "metrics JSON")


def run(args: argparse.Namespace) -> int:
    """Merge, then print where the model went and the smoke answer."""
    from keylike.config import load_params
    from keylike.evaluation.benchmark import calibrate_on_val
    from keylike.io import write_metrics
    from keylike.model.merging import HEADLINE, MergeConfig, merge_adapter

    config = MergeConfig.from_params(load_params(args.params))

    def choose_threshold(folder: Path) -> dict:
        return calibrate_on_val(folder, args.split, args.images, config.min_presented_accuracy)

    metrics = merge_adapter(config, adapter_dir=args.adapter, out_dir=args.out, finalize=choose_threshold,
                            split_dir=args.split)
    write_metrics(args.metrics, metrics, HEADLINE)
    verdict = "parses" if metrics["smoke_parsed"] else f"does not parse ({metrics['smoke_parse_error']})"
    print(f"merged model in {args.out} ({metrics['dtype']}); smoke answer {metrics['smoke_answer']!r} {verdict}")
    return 0
