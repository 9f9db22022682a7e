"""Stage `validate`: check data/ingested with great-expectations; write metrics and Data Docs.

    python stages/validate.py --params params.yaml --data data/ingested \
        --docs data/reports/validation --metrics metrics/validation.json

On a failed expectation the metrics and Data Docs are still written, then ValidationFailedError
(naming each failed expectation and its first records) stops the stage, so nothing downstream runs.
"""

import argparse
from pathlib import Path

from keylike.config import load_params
from keylike.data.validation import ValidateConfig, run_validation
from keylike.errors import run_main


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="validate", description=__doc__)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--data", type=Path, required=True, help="ingested data set folder")
    parser.add_argument("--docs", type=Path, required=True, help="Data Docs folder (replaced atomically)")
    parser.add_argument("--metrics", type=Path, required=True)
    args = parser.parse_args(argv)
    config = ValidateConfig.from_params(load_params(args.params))
    run_validation(config, data_dir=args.data, docs_dir=args.docs, metrics_path=args.metrics)


if __name__ == "__main__":
    run_main(main, "validate")
