"""Stage `benchmark`: answer the test split with the merged model; write metrics and plot data.

    python stages/benchmark.py --params params.yaml --model data/models/merged --split data/split \
        --images data/ingested --metrics metrics/benchmark.json --plots metrics/plots/benchmark
"""

from keylike.commands import run_stage
from keylike.errors import run_main
from keylike.numerics import pinned_cpu_numerics


def main(argv: list[str] | None = None) -> int:
    """Parse the dvc.yaml command line with `keylike benchmark`'s parser and run it."""
    with pinned_cpu_numerics():  # before torch loads: the same bytes on any x86-64 machine
        return run_stage("benchmark", argv)


if __name__ == "__main__":
    run_main(main, "benchmark")
