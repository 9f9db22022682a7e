"""Stage `merge`: merge the LoRA adapter into the 16-bit base weights, choose the confidence threshold
on the val split, smoke-test the reloaded model.

    python stages/merge.py --params params.yaml --adapter data/models/adapter --split data/split \
        --images data/ingested --out data/models/merged --metrics metrics/merge.json
"""

from keylike.commands import run_stage
from keylike.errors import run_main
from keylike.numerics import pinned_cpu_numerics


def main(argv: list[str] | None = None) -> int:
    """Parse the dvc.yaml command line with `keylike merge`'s parser and run it."""
    with pinned_cpu_numerics():  # before torch loads: the same bytes on any x86-64 machine
        return run_stage("merge", argv)


if __name__ == "__main__":
    run_main(main, "merge")
