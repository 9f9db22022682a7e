"""Evaluate a model on the test split: field accuracies, depth errors, calibration, latency, plots.

  keylike benchmark                                   # the pipeline's paths and params.yaml
  keylike benchmark --model data/models/merged --batch-size 32
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `keylike benchmark` (defaults: the paths of the dvc.yaml stage)."""
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--model", type=Path, default=Path("data/models/merged"), help="merged model folder")
    parser.add_argument("--split", type=Path, default=Path("data/split"), help="folder with train/val/test.jsonl")
    parser.add_argument("--images", type=Path, default=Path("data/ingested"), help="the ingested data set")
    parser.add_argument("--metrics", type=Path, default=Path("metrics/benchmark.json"))
    parser.add_argument("--plots", type=Path, default=Path("metrics/plots/benchmark"))
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
