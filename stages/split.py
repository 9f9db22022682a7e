"""Stage `split`: split data/ingested into train/val/test manifests, by physical key and keyway.

    python stages/split.py --params params.yaml --data data/ingested \
        --validation metrics/validation.json --out data/split --metrics metrics/split.json

Refuses to run unless --validation says this manifest passed the validate stage.
"""

from keylike.commands import run_stage
from keylike.errors import run_main


def main(argv: list[str] | None = None) -> int:
    """Parse the dvc.yaml command line with `keylike split`'s parser and run it."""
    return run_stage("split", argv)


if __name__ == "__main__":
    run_main(main, "split")
