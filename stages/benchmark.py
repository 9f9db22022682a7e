"""Stage `benchmark`: answer the test split with the merged model; write metrics and plot data.

    python stages/benchmark.py --params params.yaml --model data/models/merged --split data/split \
        --images data/ingested --metrics metrics/benchmark.json --plots metrics/plots/benchmark
"""

import argparse
from pathlib import Path

from keylike.config import load_params
from keylike.errors import run_main
from keylike.evaluation.benchmark import BenchmarkConfig, run_benchmark
from keylike.numerics import pin_cpu_numerics


def main(argv: list[str] | None = None) -> None:
    pin_cpu_numerics()  # before torch loads: the same bytes on any x86-64 machine
    parser = argparse.ArgumentParser(prog="benchmark", description=__doc__)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--model", type=Path, required=True, help="merged model folder")
    parser.add_argument("--split", type=Path, required=True, help="folder with train/val/test.jsonl")
    parser.add_argument("--images", type=Path, required=True, help="ingested data set (image paths are relative to it)")
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--plots", type=Path, required=True)
    args = parser.parse_args(argv)
    config = BenchmarkConfig.from_params(load_params(args.params))
    result = run_benchmark(config, model_dir=args.model, split_dir=args.split, images_dir=args.images)
    result.write(args.metrics, args.plots)


if __name__ == "__main__":
    run_main(main, "benchmark")
