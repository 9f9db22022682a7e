"""Stage `validate`: check data/ingested with great-expectations; write metrics and Data Docs.

    python stages/validate.py --params params.yaml --data data/ingested \
        --docs data/reports/validation --metrics metrics/validation.json

On a failed expectation the metrics and Data Docs are still written, then ValidationFailedError
(naming each failed expectation and its first records) stops the stage, so nothing downstream runs.
"""

from keylike.commands import run_stage
from keylike.errors import run_main


def main(argv: list[str] | None = None) -> int:
    """Parse the dvc.yaml command line with `keylike validate`'s parser and run it."""
    return run_stage("validate", argv)


if __name__ == "__main__":
    run_main(main, "validate")
