"""One module per `keylike` command: `add_arguments(parser)` and `run(args) -> int`.

A stage file (stages/<verb>.py) parses its command line with the same parser and calls the same
`run`, so each verb has one argument parser; default paths come from the stage's `cmd:` in dvc.yaml.
A module's docstring is its help: the indented lines that start with `keylike ` are its examples,
shown after the options under "examples:", the rest is the description.
"""

from __future__ import annotations

import argparse
import importlib
import re
from pathlib import Path
from typing import Any

from keylike.dvc_paths import stage_paths

_EXAMPLE = re.compile(r"^\s+keylike\b")
"""An example line of a command's docstring: indented, starting with `keylike`."""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description and the examples block as written (line by line, indented) and shows every
    option's default unless its help already names it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.option_strings and "default" not in text and action.default not in (None, False, argparse.SUPPRESS):
            text += " (default: %(default)s)"
        return text


def split_examples(doc: str) -> tuple[str, str | None]:
    """A command docstring as (description, epilog): its example lines go to an indented "examples:" block."""
    lines = doc.strip("\n").splitlines()
    examples = [line.strip() for line in lines if _EXAMPLE.match(line)]
    description = re.sub(r"\n{3,}", "\n\n", "\n".join(line for line in lines if not _EXAMPLE.match(line))).strip()
    return description, "examples:\n" + "\n".join(f"  {line}" for line in examples) if examples else None


def command_parser(name: str, prog: str | None = None) -> tuple[argparse.ArgumentParser, Any]:
    """The argument parser of command `name` and its module (keylike.commands.<name>)."""
    module = importlib.import_module(f"keylike.commands.{name.replace('-', '_')}")
    description, epilog = split_examples(module.__doc__ or "")
    parser = argparse.ArgumentParser(prog=prog or f"keylike {name}", description=description, epilog=epilog,
                                     formatter_class=HelpFormatter)
    module.add_arguments(parser)
    return parser, module


def run_stage(name: str, argv: list[str] | None = None) -> int:
    """Run the dvc.yaml stage `name`: the command's own parser and `run` (errors propagate to run_main)."""
    parser, module = command_parser(name, prog=f"stages/{name}.py")
    return int(module.run(parser.parse_args(argv)) or 0)


def add_path(parser: argparse.ArgumentParser, stage: str, flag: str, help: str | None = None, *,
             stage_flag: str | None = None, optional: bool = False) -> None:
    """Add path flag `flag`, defaulting to the value stage `stage` passes to its `stage_flag` (default: the
    same flag) in dvc.yaml; required when dvc.yaml has none, unless `optional` (then None)."""
    default = stage_paths(stage).get(stage_flag or flag)
    required = default is None and not optional
    parser.add_argument(flag, type=Path, default=default, required=required, help=help)
