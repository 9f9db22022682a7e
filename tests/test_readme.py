"""The numbers the README quotes are the ones in the committed metrics files (a commit that changes them
fails here until the README says the new ones); its first screen says how to start; its pictures exist.

"Committed" is the version git holds at HEAD, not the working tree: CI runs `dvc repro` before the tests,
and on a CPU of another vendor the repro's floats differ (README, "The exact model on any machine"), so the
working tree's metrics are then that machine's run, not the one the README reports."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from keylike.io import details_path, read_metrics

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def committed_metrics(path: str) -> dict:
    """read_metrics of `path` (headline and details) as committed at HEAD."""
    with tempfile.TemporaryDirectory() as tmp:
        for name in (path, details_path(path).as_posix()):
            shown = subprocess.run(["git", "show", f"HEAD:{name}"], cwd=REPO, capture_output=True, text=True)
            if shown.returncode == 0:
                (Path(tmp) / name).parent.mkdir(parents=True, exist_ok=True)
                (Path(tmp) / name).write_text(shown.stdout)
        return read_metrics(Path(tmp) / path)


def _quotes() -> list[tuple[str, str]]:
    """(what the README must say, where the number comes from)."""
    bench = committed_metrics("metrics/benchmark.json")
    export = committed_metrics("metrics/export.json")
    formats = export["formats"]
    quotes = [(f"| {label} | {target} | **{bench[key]:.3f}**", f"benchmark {key}") for label, target, key in (
        ("keyway", ">= 0.99", "keyway_accuracy"),
        ("per cut", ">= 0.95", "per_cut_accuracy"),
        ("within one depth step", ">= 0.995", "within_one_step"),
        ("whole key (keyway + every cut)", ">= 0.80", "exact_match"),
    )]
    quotes += [
        (f"| exact-match ECE (all {bench['test_images']} photos, 10 bins) | <= 0.05 | **{bench['calibration']['ece']:.3f}**",
         "benchmark calibration.ece"),
        (f"{bench['test_images']} photos\nheld out by the split, {bench['key_images']} of keys and {bench['no_key_images']} with no key",
         "benchmark test_images, key_images, no_key_images"),
    ]
    n = export["parity_samples"]
    for name in ("adapter", "merged"):
        entry = formats[name]
        same = round(entry["answer_agreement"] * n)
        quotes.append((f"{entry['size_mb']:.1f} MB", f"export {name} size_mb"))
        # parity only: the seconds per image beside it are a timing, different at every run (a fresh clone's repro too)
        quotes.append((f"{same}/{n} identical, ", f"export {name} parity"))
    return quotes


@pytest.mark.parametrize(("text", "source"), _quotes(), ids=[source for _, source in _quotes()])
def test_readme_quotes_the_committed_metrics(text: str, source: str) -> None:
    assert text in README, f"README.md should say {text!r} ({source} in metrics/)"


def test_the_first_screen_says_how_to_start() -> None:
    first_screen = README[:README.index("\n## What the default model reads")]
    for step in ("pip install", "dvc repro", "keylike predict photo.jpg", "keylike serve", "http://127.0.0.1:8000/"):
        assert step in first_screen, f"README.md's quick start should show {step!r}"


def test_every_picture_the_readme_shows_is_committed() -> None:
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README)
    tracked = set(subprocess.run(["git", "ls-files", *pictures], cwd=REPO, capture_output=True, text=True, check=True).stdout.split())
    assert pictures and set(pictures) == tracked, f"README.md shows pictures git does not hold: {set(pictures) - tracked}"
