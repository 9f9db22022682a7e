"""`keylike COMMAND`: a table from command name to the module in keylike.commands that runs it.

Each command module (`add-data` is keylike/commands/add_data.py) has a docstring (its help),
`add_arguments(parser)` and `run(args) -> int`; the dvc.yaml stage of the same name runs the same parser
and `run` (keylike.commands.run_stage).
Modules are imported only for the command that runs, so `keylike --help` returns at once.
"""

from __future__ import annotations

import argparse
import sys
from importlib import metadata

from keylike.commands import HelpFormatter, command_parser
from keylike.errors import KeylikeError

COMMANDS: dict[str, str] = {
    "synth": "render a synthetic data set of key photos in the Keylike data set format",
    "add-data": "check a data set (no links, special files or escaping paths), then dvc add it",
    "ingest": "normalise data sets into data/ingested, quarantining bad records",
    "validate": "check the ingested data set with great-expectations",
    "split": "split the ingested data set into train/val/test without leakage",
    "train": "fine-tune Gemma 3n with LoRA",
    "merge": "merge the LoRA adapter into 16-bit base weights",
    "export": "export the model to deployment formats and check parity",
    "benchmark": "score a model on the test split (the benchmark stage; speed measurements: keylike.benchmarks)",
    "report": "markdown params and metrics diff between two git revisions",
    "predict": "read keys from photos and print JSON",
    "serve": "serve the page and the HTTP API that read keys from photos",
}


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-parser per command (arguments added on demand)."""
    parser = argparse.ArgumentParser(
        prog="keylike",
        formatter_class=HelpFormatter,
        description="Read a house key from a photo: keyway, bitting, brand, confidence and keyed-alike risk.",
        epilog="examples:\n  keylike predict key.jpg        # one JSON line per photo\n"
               "  keylike serve                  # the page at http://127.0.0.1:8000/\n"
               "  keylike COMMAND --help         # each command's options, defaults and examples",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {metadata.version('keylike')}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_text in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; a KeylikeError prints one line and exits with its code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:  # bare, --help, --version or an unknown command
        build_parser().parse_args(argv)
        return 2
    name, rest = argv[0], argv[1:]
    parser, module = command_parser(name)
    args = parser.parse_args(rest)
    try:
        return int(module.run(args) or 0)
    except KeylikeError as exc:
        print(f"keylike {name}: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
