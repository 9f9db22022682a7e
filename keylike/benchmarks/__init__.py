"""Speed and cost measurements, run by hand as `python -m keylike.benchmarks.<name>`; results in
metrics/benchmarks/<name>.json. Not the `benchmark` stage (keylike.evaluation.benchmark), which scores the
model on the test split."""

from __future__ import annotations

import sys
import time
from typing import Any

PROCESS_START = time.time()
"""When this process imported the benchmarks (its start, for cold-start and total times)."""


def command_line(module: str, argv: list[str] | None = None) -> str:
    """The command recorded in a benchmark's JSON: `python -m <module> <arguments>` (argv None: this
    process's own arguments)."""
    return " ".join(["python", "-m", module, *(sys.argv[1:] if argv is None else argv)])


def merge_results(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """`old` updated with `new`, recursively for nested dicts (a later phase adds to earlier results)."""
    merged = dict(old)
    for key, value in new.items():
        merged[key] = merge_results(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
    return merged
