"""Export the model to deployment formats and check each against the PyTorch merged model.

  keylike export                                      # the pipeline's paths and params.yaml
  keylike export --formats adapter,merged,gguf        # override export.formats
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `keylike export` (defaults: the paths of the dvc.yaml stage)."""
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--adapter", type=Path, default=Path("data/models/adapter"), help="LoRA adapter folder")
    parser.add_argument("--merged", type=Path, default=Path("data/models/merged"), help="merged model folder")
    parser.add_argument("--split", type=Path, default=Path("data/split"), help="folder with train/val/test.jsonl")
    parser.add_argument("--images", type=Path, default=Path("data/ingested"), help="the ingested data set")
    parser.add_argument("--out", type=Path, default=Path("data/models/export"), help="export folder")
    parser.add_argument("--metrics", type=Path, default=Path("metrics/export.json"))
    parser.add_argument("--formats", help="comma-separated formats, overriding export.formats")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), help="override export.device")


def run(args: argparse.Namespace) -> int:
    """Export, write the metrics, print them; fail when a format is below export.min_agreement."""
    from keylike.config import load_params
    from keylike.model.export import ExportConfig, export_model

    config = ExportConfig.from_params(load_params(args.params))
    overrides = {"formats": tuple(args.formats.split(",")) if args.formats else None, "device": args.device}
    config = dataclasses.replace(config, **{k: v for k, v in overrides.items() if v is not None})
    report = export_model(config, adapter_dir=args.adapter, merged_dir=args.merged, split_dir=args.split,
                          images_dir=args.images, out_dir=args.out)
    report.write(args.metrics)
    json.dump(report.to_json(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    report.raise_for_parity()
    return 0
