"""Check the ingested data set with great-expectations (the gate before split and train).

Writes metrics/validation.json and Data Docs (open DOCS/index.html in a browser). On a failed
expectation it still writes both, names each failed expectation and up to five offending records
(file and reason), and exits non-zero.

    keylike validate --data data/ingested --docs data/reports/validation
"""

from __future__ import annotations

import argparse

from keylike.commands import add_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `keylike validate` (path defaults: the validate stage's in dvc.yaml)."""
    add_path(parser, "validate", "--params", "reads its `validate` block")
    add_path(parser, "validate", "--data", "ingested data set folder")
    add_path(parser, "validate", "--docs", "Data Docs folder (replaced atomically)")
    add_path(parser, "validate", "--metrics", "metrics JSON")


def run(args: argparse.Namespace) -> int:
    """Validate; a failure raises ValidationFailedError, which the CLI prints and exits 1 on."""
    from keylike.config import load_params
    from keylike.data.validation import ValidateConfig, run_validation

    config = ValidateConfig.from_params(load_params(args.params))
    report = run_validation(config, data_dir=args.data, docs_dir=args.docs, metrics_path=args.metrics)
    print(f"{report.summary()}\nData Docs: {report.docs_index}")
    return 0
