"""Check the ingested data set with great-expectations (the gate before split and train).

Writes metrics/validation.json and Data Docs (open DOCS/index.html in a browser). On a failed
expectation it still writes both, names each failed expectation and up to five offending records
(file and reason), and exits non-zero.

    keylike validate --data data/ingested --docs data/reports/validation
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `keylike validate`."""
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="reads its `validate` block")
    parser.add_argument("--data", type=Path, default=Path("data/ingested"), help="ingested data set folder")
    parser.add_argument("--docs", type=Path, default=Path("data/reports/validation"), help="Data Docs folder")
    parser.add_argument("--metrics", type=Path, default=Path("metrics/validation.json"), help="metrics JSON")


def run(args: argparse.Namespace) -> int:
    """Validate; a failure raises ValidationFailedError, which the CLI prints and exits 1 on."""
    from keylike.config import load_params
    from keylike.data.validation import ValidateConfig, run_validation

    config = ValidateConfig.from_params(load_params(args.params))
    report = run_validation(config, data_dir=args.data, docs_dir=args.docs, metrics_path=args.metrics)
    print(f"{report.summary()}\nData Docs: {report.docs_index}")
    return 0
