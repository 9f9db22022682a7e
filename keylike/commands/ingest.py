"""Normalise the synthetic keys and the user data sets named in params.yaml into one data set.

Writes OUT/images/, OUT/manifest.jsonl and OUT/quarantine.jsonl (bad records, with the reason),
the same as the pipeline's `ingest` stage:

    keylike ingest --params params.yaml --raw data/raw --out data/ingested
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `keylike ingest`."""
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file (ingest block)")
    parser.add_argument("--raw", type=Path, default=Path("data/raw"), help="folder holding the user data sets")
    parser.add_argument("--out", type=Path, default=Path("data/ingested"), help="output folder (replaced atomically)")
    parser.add_argument("--metrics", type=Path, default=None, help="also write the counts as JSON here")
    parser.add_argument("--contact-sheet", type=Path, default=None, help="also write a contact sheet PNG here")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")


def run(args: argparse.Namespace) -> int:
    """Ingest and print the counts."""
    from keylike.config import load_params
    from keylike.data.ingest import IngestConfig, ingest
    from keylike.io import write_json

    config = IngestConfig.from_params(load_params(args.params))
    summary = ingest(config, args.raw, args.out, contact_sheet=args.contact_sheet, workers=args.workers)
    counts = summary.to_json()
    if args.metrics:
        write_json(args.metrics, counts)
    print(json.dumps({k: counts[k] for k in ("records_in", "records_out", "quarantined", "quarantined_by_reason")}))
    return 0
