"""Evaluate a model on the test split: field accuracies, depth errors, calibration, latency, plots.

  keylike benchmark                                   # the pipeline's paths and params.yaml
  keylike benchmark --model data/models/merged --batch-size 32
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from keylike.commands import add_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `keylike benchmark` (path defaults: the benchmark stage's in dvc.yaml)."""
    add_path(parser, "benchmark", "--params", "params.yaml with the `benchmark` block")
    add_path(parser, "benchmark", "--model", "merged model folder")
    add_path(parser, "benchmark", "--split", "folder with train/val/test.jsonl")
    add_path(parser, "benchmark", "--images", "ingested data set (image paths are relative to it)")
    add_path(parser, "benchmark", "--metrics", "metrics JSON")
    add_path(parser, "benchmark", "--plots", "plots folder")
    parser.add_argument("--batch-size", type=int, help="override benchmark.batch_size")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), help="override benchmark.device")


def run(args: argparse.Namespace) -> int:
    """Run the benchmark, write metrics and plots, print the headline metrics."""
    from keylike.config import load_params
    from keylike.evaluation.benchmark import BenchmarkConfig, run_benchmark

    config = BenchmarkConfig.from_params(load_params(args.params))
    overrides = {"batch_size": args.batch_size, "device": args.device}
    config = dataclasses.replace(config, **{k: v for k, v in overrides.items() if v is not None})
    result = run_benchmark(config, model_dir=args.model, split_dir=args.split, images_dir=args.images)
    result.write(args.metrics, args.plots)
    headline = {k: v for k, v in result.metrics.items() if k != "per_keyway"}
    json.dump(headline, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0
