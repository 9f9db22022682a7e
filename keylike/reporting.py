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
DETAILS_GLOB = "metrics/details"
"""Folder of the stages' details files (keylike.io.write_metrics): diffed beside DVC's metrics."""
NOISE_Z = 2.0
"""Half-width of the noise band in standard errors (about 95 % of run-to-run differences fall inside)."""
_PROPORTIONS = {
    "keyway_accuracy", "brand_accuracy", "bitting_exact_match", "exact_match", "format_compliance", "per_cut_accuracy",
    "within_one_step", "no_key_recognised", "key_called_no_key", "coverage", "accuracy", "answer_agreement",
    "text_agreement", "lowest_agreement",
}
"""Metrics that are a share of photos (or cuts): their noise band is binomial."""
_COUNTS = {"per_cut_accuracy": ("cuts",), "within_one_step": ("cuts",)}
_DEFAULT_COUNTS = ("images", "key_images", "test_images", "parity_samples")
NOISE_NOTE = (
    "Noise band: a share p measured on n photos (n: the `images`, `cuts` or `parity_samples` count beside it) "
    f"moves between runs by a binomial standard error sqrt(p(1-p)/n); a change is inside the noise when it is "
    f"under {NOISE_Z:g} standard errors of the difference, {NOISE_Z:g} x sqrt(p1(1-p1)/n + p2(1-p2)/n). "
    "Numbers that are not shares (losses, times, ECE) have no band."
)


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


def _stage(path: str) -> str:
    return Path(path).name


def noise_band(row: DiffRow, rows: list[DiffRow]) -> float | None:
    """NOISE_Z standard errors of the difference of `row`'s two values as binomial shares, with n read from
    the count beside it among `rows` (same stage); None when it is no share or no count is found."""
    prefix, _, name = row.key.rpartition(".")
    if name not in _PROPORTIONS or not (_is_number(row.old) and _is_number(row.new)):
        return None
    values = {(_stage(r.path), r.key): r.new for r in rows}
    for count in _COUNTS.get(name, _DEFAULT_COUNTS):
        for key in (f"{prefix}.{count}" if prefix else count, count):
            n = values.get((_stage(row.path), key))
            if _is_number(n) and n > 0:
                variance = sum(min(max(p, 0.0), 1.0) * (1 - min(max(p, 0.0), 1.0)) for p in (row.old, row.new)) / n
                return NOISE_Z * math.sqrt(variance)
    return None


def headline(rows: list[DiffRow]) -> str:
    """What changed, up or down, and whether each change is inside run-to-run noise."""
    changed = [r for r in rows if r.old != r.new and _is_number(r.old) and _is_number(r.new)]
    beyond, inside, unbanded = [], [], []
    for row in changed:
        band = noise_band(row, rows)
        word = "up" if row.new > row.old else "down"
        text = f"`{row.key}` {word} {format_value(row.old)} → {format_value(row.new)}"
        if band is None:
            unbanded.append(text)
        elif abs(row.new - row.old) > band:
            beyond.append(f"{text} (noise ±{band:.3g})")
        else:
            inside.append(f"{text} (noise ±{band:.3g})")
    added = [f"`{r.key}`" for r in rows if r.old is None and r.new is not None]
    removed = [f"`{r.key}`" for r in rows if r.new is None and r.old is not None]
    other = sum(r.old != r.new for r in rows) - len(changed) - len(added) - len(removed)
    lines = [f"**Beyond noise ({len(beyond)}):** " + ("; ".join(beyond) if beyond else "nothing.")]
    if inside:
        lines.append(f"**Inside noise ({len(inside)}):** " + "; ".join(inside))
    if unbanded:
        lines.append(f"**Changed, no noise band ({len(unbanded)}):** " + "; ".join(unbanded))
    for label, keys in (("Added", added), ("Removed", removed)):
        if keys:
            lines.append(f"**{label} ({len(keys)}):** " + ", ".join(keys))
    if other:
        lines.append(f"{other} other values changed (text, lists: tables below).")
    return "\n\n".join(lines)


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
    show_unchanged: bool = False,
) -> str:
    """The whole markdown report from the two `--json` diffs (metrics and details files alike); `base`/`head`
    label the columns. It opens with the headline; unchanged metrics are listed only with `show_unchanged`."""
    params, metrics = diff_rows(params_diff), diff_rows(metrics_diff)
    params_changed = sum(row.old != row.new for row in params)
    metrics_changed = sum(row.old != row.new for row in metrics)
    listed = metrics if show_unchanged else [row for row in metrics if row.old != row.new]
    unchanged = "" if show_unchanged else f" ({len(metrics) - metrics_changed} unchanged left out; `--all` lists them)"
    lines = [
        f"## keylike report: {base} → {head}",
        "",
        f"{params_changed} params changed, {metrics_changed} of {len(metrics)} metrics changed.",
        "",
        headline(metrics),
        "",
        NOISE_NOTE,
        "",
        "### Params",
        "",
        render_table(params, "param", base, head, "No params changed."),
        "### Metrics" + unchanged,
        "",
        render_table(listed, "metric", base, head,
                     "No metrics changed." if metrics else "No metrics in either revision."),
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
    metrics.update(details_diff(base, head, repo))
    if plots_dir is not None:
        out = Path(plots_dir).absolute()
        out.mkdir(parents=True, exist_ok=True)
        _dvc(["plots", "diff", *revs, "--out", os.fspath(out)], repo)
        plots_link = plots_link or (Path(plots_dir) / "index.html").as_posix()
    return render_report(base_label, head_label, params, metrics, plots_link, show_unchanged=all_params)


def _read_details(rev: str, repo: Path) -> dict[str, dict[str, Any]]:
    """The details files at `rev` (a git revision or the workspace), each flattened to dotted keys."""
    if rev == WORKSPACE:
        files = {p.relative_to(repo).as_posix(): p.read_text() for p in sorted((repo / DETAILS_GLOB).glob("*.json"))}
    else:
        listing = subprocess.run(["git", "ls-tree", "--name-only", f"{rev}:{DETAILS_GLOB}"], cwd=repo,
                                 capture_output=True, text=True, check=False).stdout.split()
        files = {f"{DETAILS_GLOB}/{name}": subprocess.run(["git", "show", f"{rev}:{DETAILS_GLOB}/{name}"], cwd=repo,
                                                          capture_output=True, text=True, check=True).stdout
                 for name in listing if name.endswith(".json")}
    return {path: _flatten(json.loads(text)) for path, text in files.items()}


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as one dict of dotted keys (as DVC names nested metrics)."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def details_diff(base: str, head: str, repo: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """The details files of both revisions in the shape of `dvc metrics diff --json --all`."""
    old, new = _read_details(base, repo), _read_details(head, repo)
    return {
        path: {key: {"old": old.get(path, {}).get(key), "new": new.get(path, {}).get(key)}
               for key in sorted({*old.get(path, {}), *new.get(path, {})})}
        for path in sorted({*old, *new})
    }
