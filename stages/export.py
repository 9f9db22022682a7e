"""Stage `export`: build the formats in export.formats, check each against the adapter on its base model.

    python stages/export.py --params params.yaml --adapter data/models/adapter --merged data/models/merged \
        --split data/split --images data/ingested --out data/models/export --metrics metrics/export.json
"""

from keylike.commands import run_stage
from keylike.errors import run_main
from keylike.numerics import pinned_cpu_numerics


def main(argv: list[str] | None = None) -> int:
    """Parse the dvc.yaml command line with `keylike export`'s parser and run it."""
    with pinned_cpu_numerics():  # before torch loads: the same bytes on any x86-64 machine
        return run_stage("export", argv)


if __name__ == "__main__":
    run_main(main, "export")
