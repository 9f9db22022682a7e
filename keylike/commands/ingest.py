"""Normalise the synthetic keys and the user data sets named in params.yaml into one data set.

Writes OUT/images/, OUT/manifest.jsonl and OUT/quarantine.jsonl (bad records, with the reason),
the same as the pipeline's `ingest` stage.

    keylike ingest --params params.yaml --raw data/raw --out data/ingested
"""

from __future__ import annotations

import argparse
import json

from keylike.commands import add_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `keylike ingest` (path defaults: the ingest stage's in dvc.yaml)."""
    add_path(parser, "ingest", "--params", "params file (ingest block)")
    add_path(parser, "ingest", "--raw", "folder holding the user data sets")
    add_path(parser, "ingest", "--out", "output folder (replaced atomically)")
    add_path(parser, "ingest", "--metrics", "counts as JSON", optional=True)
    add_path(parser, "ingest", "--contact-sheet", "contact sheet PNG", optional=True)
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")


def run(args: argparse.Namespace) -> int:
    """Ingest and print the counts."""
    from keylike.config import load_params
    from keylike.data.ingest import IngestConfig, ingest

    config = IngestConfig.from_params(load_params(args.params))
    summary = ingest(config, args.raw, args.out, contact_sheet=args.contact_sheet, workers=args.workers)
    counts = summary.to_json()
    if args.metrics:
        summary.write(args.metrics)
    print(json.dumps({k: counts[k] for k in ("records_in", "records_out", "quarantined", "quarantined_by_reason")}))
    return 0
