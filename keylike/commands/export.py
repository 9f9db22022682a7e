"""Export the model to deployment formats and check each against the PyTorch merged model.

  keylike export                                      # the pipeline's paths and params.yaml
  keylike export --formats adapter,merged,gguf        # override export.formats
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from keylike.commands import add_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `keylike export` (path defaults: the export stage's in dvc.yaml)."""
    add_path(parser, "export", "--params", "params.yaml with the `export` block")
    add_path(parser, "export", "--adapter", "LoRA adapter folder (train stage)")
    add_path(parser, "export", "--merged", "merged model folder (merge stage)")
    add_path(parser, "export", "--split", "folder with train/val/test.jsonl")
    add_path(parser, "export", "--images", "ingested data set (image paths are relative to it)")
    add_path(parser, "export", "--out", "export folder, one subfolder per format")
    add_path(parser, "export", "--metrics", "metrics JSON")
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
