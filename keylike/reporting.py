"""Pull-request report: params and metrics between two git revisions as deterministic markdown.

`dvc params diff --json` and `dvc metrics diff --json` give the numbers; their row order changes
from run to run (and so does that of their `--md` tables), so the rows here are sorted by file and
key, and numbers are printed with a fixed precision: the same two revisions always give the same
text. Plots are rendered by `dvc plots diff` into a directory the report links to.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keylike.errors import KeylikeError

WORKSPACE = "workspace"
"""The `--head` value that means the working tree (uncommitted changes included), not a commit."""

_MISSING = "—"


@dataclass(frozen=True)
class DiffRow:
    """One param or metric in one file, at the base and the head revision (None where absent)."""

    path: str
    key: str
    old: Any
    new: Any


def diff_rows(diff: dict[str, dict[str, dict[str, Any]]]) -> list[DiffRow]:
    """The rows of a `dvc params/metrics diff --json` answer, sorted by file, then key."""
    rows = [
        DiffRow(path, key, values.get("old"), values.get("new"))
        for path, entries in diff.items()
        for key, values in entries.items()
    ]
    return sorted(rows, key=lambda row: (row.path, row.key))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def format_value(value: Any) -> str:
    """A value as table text: floats to 6 significant digits, None as a dash, JSON otherwise."""
    if value is None:
        return _MISSING
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    if isinstance(value, (str, int)):
        return str(value)
    return json.dumps(value, sort_keys=True)


def format_change(old: Any, new: Any) -> str:
    """The change from `old` to `new`: a signed difference for numbers, else a word."""
    if old is None and new is None:
        return _MISSING
    if old is None:
        return "added"
    if new is None:
        return "removed"
    if _is_number(old) and _is_number(new):
        delta = new - old
        return "0" if delta == 0 else f"{delta:+.4g}"
    return "same" if old == new else "changed"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_table(rows: list[DiffRow], what: str, base: str, head: str, empty: str) -> str:
    """A markdown section per file: `| what | base | head | change |`, rows already sorted; `empty`
    when there are no rows."""
    if not rows:
        return f"{empty}\n"
    out = []
    for path in sorted({row.path for row in rows}):
        out += [f"`{path}`", "", f"| {what} | {_cell(base)} | {_cell(head)} | change |", "|---|---:|---:|---:|"]
        out += [
            f"| `{_cell(r.key)}` | {_cell(format_value(r.old))} | {_cell(format_value(r.new))} "
            f"| {format_change(r.old, r.new)} |"
            for r in rows
            if r.path == path
        ]
        out.append("")
    return "\n".join(out)


def render_report(
    base: str,
    head: str,
    params_diff: dict,
    metrics_diff: dict,
    plots_link: str | None = None,
) -> str:
    """The whole markdown report from the two `--json` diffs; `base`/`head` label the columns."""
    params, metrics = diff_rows(params_diff), diff_rows(metrics_diff)
    params_changed = sum(row.old != row.new for row in params)
    metrics_changed = sum(row.old != row.new for row in metrics)
    lines = [
        f"## keylike report: {base} → {head}",
        "",
        f"{params_changed} params changed, {metrics_changed} of {len(metrics)} metrics changed.",
        "",
        "### Params",
        "",
        render_table(params, "param", base, head, "No params changed."),
        "### Metrics",
        "",
        render_table(metrics, "metric", base, head, "No metrics in either revision."),
    ]
    if plots_link is not None:
        lines += ["### Plots", "", f"[Plots of {base} and {head}]({plots_link}) (`dvc plots diff`).", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _dvc(args: list[str], repo: Path) -> str:
    """Run this environment's `dvc` in `repo`; a failure becomes a KeylikeError with DVC's message."""
    result = subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=repo, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise KeylikeError(f"`dvc {' '.join(args)}` failed in {repo}: {result.stderr.strip()[-2000:]}")
    return result.stdout


def revision_label(rev: str, repo: Path) -> str:
    """`main (1a2b3c4)` for a git revision (`1a2b3c4` for a commit id), `workspace` for the working tree."""
    if rev == WORKSPACE:
        return WORKSPACE
    result = subprocess.run(
        ["git", "rev-parse", "--short", "--verify", "--end-of-options", f"{rev}^{{commit}}"],
        cwd=repo, capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise KeylikeError(
            f"unknown git revision {rev!r} in {repo}; in a CI checkout fetch it first "
            f"(`git fetch origin main`) and pass --base origin/main"
        )
    sha = result.stdout.strip()
    return sha if sha.startswith(rev) or rev.startswith(sha) else f"{rev} ({sha})"


def build_report(
    base: str,
    head: str = WORKSPACE,
    repo: Path = Path("."),
    plots_dir: Path | None = None,
    plots_link: str | None = None,
    all_params: bool = False,
) -> str:
    """Diff params and metrics of `base` against `head` (a revision or `workspace`) in `repo`.

    With `plots_dir`, `dvc plots diff` writes its HTML there and the report links to `plots_link`
    (default: `plots_dir/index.html` as given).
    """
    base_label, head_label = revision_label(base, repo), revision_label(head, repo)
    revs = [base] if head == WORKSPACE else [base, head]
    params = json.loads(_dvc(["params", "diff", *revs, "--json", *(["--all"] if all_params else [])], repo) or "{}")
    metrics = json.loads(_dvc(["metrics", "diff", *revs, "--json", "--all"], repo) or "{}")
    if plots_dir is not None:
        out = Path(plots_dir).absolute()
        out.mkdir(parents=True, exist_ok=True)
        _dvc(["plots", "diff", *revs, "--out", os.fspath(out)], repo)
        plots_link = plots_link or (Path(plots_dir) / "index.html").as_posix()
    return render_report(base_label, head_label, params, metrics, plots_link)
