"""Stage `train`: LoRA fine-tune the base model on the train split (eval on val); resumes a killed run.

    python stages/train.py --params params.yaml --split data/split --images data/ingested \
        --out data/models/adapter --checkpoints data/models/checkpoints \
        --metrics metrics/train.json --plots metrics/train
"""

from keylike.commands import run_stage
from keylike.errors import run_main
from keylike.numerics import pinned_cpu_numerics


def main(argv: list[str] | None = None) -> int:
    """Parse the dvc.yaml command line with `keylike train`'s parser and run it."""
    with pinned_cpu_numerics():  # before torch loads: the same bytes on any x86-64 machine
        return run_stage("train", argv)


if __name__ == "__main__":
    run_main(main, "train")
