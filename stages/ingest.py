"""Stage `ingest`: synthetic keys + user data sets under data/raw -> data/ingested (manifest, quarantine)."""

import argparse
from pathlib import Path

from keylike.config import load_params
from keylike.data.ingest import IngestConfig, ingest
from keylike.errors import run_main
from keylike.io import write_json


def main(argv: list[str] | None = None) -> None:
    """Parse the dvc.yaml command line and run ingest."""
    parser = argparse.ArgumentParser(prog="ingest")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--raw", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--contact-sheet", type=Path, required=True)
    args = parser.parse_args(argv)
    config = IngestConfig.from_params(load_params(args.params))  # reads base + ingest
    summary = ingest(config, raw_dir=args.raw, out_dir=args.out, contact_sheet=args.contact_sheet)
    write_json(args.metrics, summary.to_json())


if __name__ == "__main__":
    run_main(main, "ingest")
