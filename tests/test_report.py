"""`keylike report`: formatting on hand-made `dvc ... diff --json` answers, and end to end on the tiny
git + DVC project with the real CLIs."""

from __future__ import annotations

import json

import pytest

from keylike.cli import main as keylike_main
from keylike.errors import KeylikeError
from keylike.reporting import NOISE_NOTE, diff_rows, format_change, format_value, render_report, revision_label

METRICS = {
    "metrics/train.json": {"final_loss": {"old": 0.4, "new": 0.25, "diff": -0.15000000000000002}},
    "metrics/benchmark.json": {
        "per_keyway.SC1.keyway_accuracy": {"old": 0.55, "new": 0.6, "diff": 0.05},
        "bitting_exact": {"old": 0.275, "new": 0.3, "diff": 0.025},
        "test_images": {"old": 12, "new": 12, "diff": 0},
        "keyway_accuracy": {"old": None, "new": 0.6},
    },
}
PARAMS = {
    "params.yaml": {
        "train.learning_rate": {"old": 0.005, "new": 0.01, "diff": 0.005},
        "train.backend": {"old": "hf", "new": "unsloth"},
    }
}


def _reversed(diff: dict) -> dict:
    """The same diff with every level's insertion order reversed (as DVC may well answer)."""
    return {path: dict(reversed(list(entries.items()))) for path, entries in reversed(list(diff.items()))}


def test_rows_are_sorted_by_file_then_key() -> None:
    rows = diff_rows(METRICS)
    assert [(r.path, r.key) for r in rows] == [
        ("metrics/benchmark.json", "bitting_exact"),
        ("metrics/benchmark.json", "keyway_accuracy"),
        ("metrics/benchmark.json", "per_keyway.SC1.keyway_accuracy"),
        ("metrics/benchmark.json", "test_images"),
        ("metrics/train.json", "final_loss"),
    ]


def test_report_text_does_not_depend_on_dvc_answer_order() -> None:
    first = render_report("main (abc1234)", "workspace", PARAMS, METRICS)
    assert render_report("main (abc1234)", "workspace", _reversed(PARAMS), _reversed(METRICS)) == first


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (0.4, 0.25, "-0.15"),
        (0.005, 0.01, "+0.005"),
        (12, 12, "0"),
        (None, 0.6, "added"),
        (0.6, None, "removed"),
        ("hf", "unsloth", "changed"),
        ("hf", "hf", "same"),
        (True, False, "changed"),
        (None, None, "—"),
    ],
)
def test_format_change(old, new, expected) -> None:
    assert format_change(old, new) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1 + 0.2, "0.3"),
        (1234567.0, "1.23457e+06"),
        (3, "3"),
        (None, "—"),
        ([1, 2], "[1, 2]"),
        (float("nan"), "nan"),
        (False, "False"),
    ],
)
def test_format_value(value, expected) -> None:
    assert format_value(value) == expected


def test_report_on_hand_made_diffs() -> None:
    text = render_report("main (abc1234)", "HEAD (def5678)", PARAMS, METRICS, plots_link="plots/index.html")
    assert text == (
        "## keylike report: main (abc1234) → HEAD (def5678)\n\n"
        "2 params changed, 4 of 5 metrics changed.\n\n"
        "**Beyond noise (0):** nothing.\n\n"
        "**Inside noise (1):** `per_keyway.SC1.keyway_accuracy` up 0.55 → 0.6 (noise ±0.403)\n\n"
        "**Changed, no noise band (2):** `bitting_exact` up 0.275 → 0.3; `final_loss` down 0.4 → 0.25\n\n"
        "**Added (1):** `keyway_accuracy`\n\n"
        f"{NOISE_NOTE}\n\n"
        "### Params\n\n"
        "`params.yaml`\n\n"
        "| param | main (abc1234) | HEAD (def5678) | change |\n|---|---:|---:|---:|\n"
        "| `train.backend` | hf | unsloth | changed |\n"
        "| `train.learning_rate` | 0.005 | 0.01 | +0.005 |\n\n"
        "### Metrics (1 unchanged left out; `--all` lists them)\n\n"
        "`metrics/benchmark.json`\n\n"
        "| metric | main (abc1234) | HEAD (def5678) | change |\n|---|---:|---:|---:|\n"
        "| `bitting_exact` | 0.275 | 0.3 | +0.025 |\n"
        "| `keyway_accuracy` | — | 0.6 | added |\n"
        "| `per_keyway.SC1.keyway_accuracy` | 0.55 | 0.6 | +0.05 |\n\n"
        "`metrics/train.json`\n\n"
        "| metric | main (abc1234) | HEAD (def5678) | change |\n|---|---:|---:|---:|\n"
        "| `final_loss` | 0.4 | 0.25 | -0.15 |\n\n"
        "### Plots\n\n"
        "[Plots of main (abc1234) and HEAD (def5678)](plots/index.html) (`dvc plots diff`).\n"
    )


def test_headline_tells_noise_from_change() -> None:
    """0.95 -> 0.99 on 189 photos is beyond two binomial standard errors (0.035); 0.80 -> 0.81 is inside."""
    metrics = {
        "metrics/benchmark.json": {"keyway_accuracy": {"old": 0.95, "new": 0.99}, "exact_match": {"old": 0.8, "new": 0.81}},
        "metrics/details/benchmark.json": {"images": {"old": 189, "new": 189}},
    }
    text = render_report("main", "workspace", {}, metrics)
    assert "**Beyond noise (1):** `keyway_accuracy` up 0.95 → 0.99 (noise ±0.0349)" in text
    assert "**Inside noise (1):** `exact_match` up 0.8 → 0.81 (noise ±0.0815)" in text
    assert "| `images` |" not in text and "| `images` | 189 | 189 | 0 |" in render_report("main", "w", {}, metrics, show_unchanged=True)


def test_empty_diffs_say_so_and_pipes_are_escaped() -> None:
    text = render_report("main", "workspace", {}, {"m.json": {"a|b": {"old": "x|y", "new": "x|y"}}}, show_unchanged=True)
    assert "No params changed." in text
    assert "No metrics in either revision." in render_report("main", "workspace", {}, {})
    assert "| `a\\|b` | x\\|y | x\\|y | same |" in text


@pytest.fixture(scope="module")
def committed(tiny_project_factory, tmp_path_factory):
    """One tiny project for the tests that only read it."""
    return tiny_project_factory(tmp_path_factory.mktemp("report"))


def test_revision_labels(committed) -> None:
    sha = committed.git("rev-parse", "--short", "HEAD").stdout.strip()
    full = committed.git("rev-parse", "HEAD").stdout.strip()
    assert revision_label("main", committed.path) == f"main ({sha})"
    assert revision_label(full, committed.path) == sha
    assert revision_label("workspace", committed.path) == "workspace"


def test_unknown_base_names_the_revision_and_the_fix(committed) -> None:
    with pytest.raises(KeylikeError, match="unknown git revision 'nope'.*git fetch origin main"):
        revision_label("nope", committed.path)


def test_cli_unknown_base_exits_1_with_one_line(committed, capsys) -> None:
    assert keylike_main(["report", "--repo", str(committed.path), "--base", "no-such-branch"]) == 1
    assert "keylike report: error: unknown git revision 'no-such-branch'" in capsys.readouterr().err


def _metric(project, path: str, key: str) -> float:
    return json.loads((project.path / path).read_text())[key]


def test_report_between_two_commits_end_to_end(tiny_project) -> None:
    """Branch, change a param, `dvc repro`, commit; the report reads both revisions through the real
    CLIs, renders the plots and is the same text when run twice."""
    project = tiny_project
    old_accuracy = _metric(project, "metrics/benchmark.json", "keyway_accuracy")
    project.git("checkout", "-q", "-b", "faster-lr")
    project.run("sed", "-i", "s/learning_rate: 0.005/learning_rate: 0.01/", "params.yaml")
    project.dvc("repro")
    project.git("commit", "-q", "-am", "lr 0.01")
    new_accuracy = _metric(project, "metrics/benchmark.json", "keyway_accuracy")
    assert new_accuracy != old_accuracy

    args = ["report", "--base", "main", "--head", "HEAD", "--out", "pr/report.md", "--plots-dir", "pr/plots"]
    project.keylike(*args)
    text = (project.path / "pr" / "report.md").read_text()
    main_sha = project.git("rev-parse", "--short", "main").stdout.strip()
    head_sha = project.git("rev-parse", "--short", "HEAD").stdout.strip()
    assert text.startswith(f"## keylike report: main ({main_sha}) → HEAD ({head_sha})\n")
    assert "| `train.learning_rate` | 0.005 | 0.01 | +0.005 |" in text
    old, new = format_value(old_accuracy), format_value(new_accuracy)
    assert f"| `keyway_accuracy` | {old} | {new} | {format_change(old_accuracy, new_accuracy)} |" in text
    assert "| `records` |" not in text and "unchanged left out" in text  # unchanged metrics only with --all
    assert "| `records` | 24 | 24 | 0 |" in project.keylike(*args[:5], "--all").stdout
    assert "[Plots of main" in text and "](plots/index.html)" in text
    assert "per_position.json" in (project.path / "pr" / "plots" / "index.html").read_text()

    project.keylike(*args)
    assert (project.path / "pr" / "report.md").read_text() == text


def test_report_against_the_workspace(tiny_project) -> None:
    """Uncommitted params are compared too; to stdout by default."""
    project = tiny_project
    project.run("sed", "-i", "s/epochs: 3/epochs: 5/", "params.yaml")
    text = project.keylike("report", "--base", "main").stdout
    assert "→ workspace" in text
    assert "| `train.epochs` | 3 | 5 | +2 |" in text
    assert "learning_rate" not in text  # unchanged params are left out unless --all
    assert "learning_rate" in project.keylike("report", "--base", "main", "--all").stdout
