"""Stage `ingest`: synthetic keys + user data sets under data/raw -> data/ingested (manifest, quarantine)."""

from keylike.commands import run_stage
from keylike.errors import run_main


def main(argv: list[str] | None = None) -> int:
    """Parse the dvc.yaml command line with `keylike ingest`'s parser and run it."""
    return run_stage("ingest", argv)


if __name__ == "__main__":
    run_main(main, "ingest")
