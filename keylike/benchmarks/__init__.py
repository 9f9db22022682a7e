"""Benchmarks run as `python -m keylike.benchmarks.<name>`; results in metrics/benchmarks/<name>.json."""

from __future__ import annotations

import sys


def command_line(module: str, argv: list[str] | None = None) -> str:
    """The command recorded in a benchmark's JSON: `python -m <module> <arguments>` (argv None: this
    process's own arguments)."""
    return " ".join(["python", "-m", module, *(sys.argv[1:] if argv is None else argv)])
