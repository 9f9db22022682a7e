"""The README's team-workflow section, run block by block exactly as written (the clone URL aside),
on the tiny project: publish a run, fresh clone + pull + status + no-op repro, pull of the merged
model alone, experiments (a param change and the production profile) shared through the git remote,
a branch from an experiment, and the pull-request report."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
BLOCK = re.compile(r"<!-- test:team-workflow (\w+) -->\s*```bash\n(.*?)\n```", re.S)
STEPS = ["publish", "clone", "serve", "experiment", "teammate", "report"]
URL = "https://github.com/your-org/keylike.git"
OUTS = ("data/ingested", "data/models/adapter", "data/models/merged", "data/models/export")


def readme_blocks(text: str) -> dict[str, str]:
    """{step name: shell block} of the `<!-- test:team-workflow NAME -->` blocks, in README order."""
    return dict(BLOCK.findall(text))


def test_readme_has_the_team_workflow_blocks_in_order() -> None:
    assert list(readme_blocks(README.read_text())) == STEPS, f"{README} lacks the team-workflow section's test blocks"


def test_readme_blocks_are_found() -> None:
    text = (
        "x\n<!-- test:team-workflow a -->\n```bash\necho 1\necho 2\n```\n"
        "<!-- test:team-workflow b -->\n\n```bash\nls\n```\n"
    )
    assert readme_blocks(text) == {"a": "echo 1\necho 2", "b": "ls"}


def _metrics(project) -> str:
    return (project.path / "metrics" / "benchmark.json").read_text()


def test_team_workflow_as_the_readme_says(tiny_project, tmp_path) -> None:
    blocks = readme_blocks(README.read_text())
    assert list(blocks) == STEPS, f"{README} lacks the team-workflow section's test blocks"
    author = tiny_project
    origin = author.git("remote", "get-url", "origin").stdout.strip()
    team = author.at(tmp_path / "team")
    team.path.mkdir()

    def step(name: str, where) -> str:
        """Run one README block with bash -euo pipefail in the checkout (or directory) `where`."""
        script = blocks[name].replace(URL, origin)
        return where.run("bash", "-euo", "pipefail", "-c", script, timeout=300).stdout

    # publish: a data update (more photos), then the README's publish block
    author.run("sed", "-i", "s/synthetic_count: 24/synthetic_count: 30/", "params.yaml")
    step("publish", author)
    assert "in sync" in author.dvc("status", "--cloud").stdout
    assert author.git("rev-parse", "main").stdout == author.git("rev-parse", "origin/main").stdout
    published = author.hashes(*OUTS)

    # fresh clone: pull restores every output bit for bit, status is clean, repro runs nothing
    out = step("clone", team)
    clone = team.at(team.path / "keylike-clone")
    assert clone.hashes(*OUTS) == published
    assert "Data and pipelines are up to date." in out
    assert "Running stage" not in out
    assert clone.git("status", "--porcelain").stdout == ""

    # serving only: the merged model and nothing else
    step("serve", team)
    server = team.at(team.path / "keylike-serve")
    merged = {k: v for k, v in published.items() if k.startswith("data/models/merged/")}
    assert server.hashes("data/models/merged") == merged
    assert not any((server.path / out).exists() for out in OUTS if out != "data/models/merged")

    # experiments in the clone: a param change and the production profile; the exp show columns
    out = step("experiment", clone)
    header = next(line for line in out.splitlines() if line.startswith("| Experiment"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    wanted = {"keyway_accuracy", "bitting_exact_match", "calibration.ece", "train.learning_rate", "train.backend"}
    assert wanted <= set(columns)
    assert not [c for c in columns if c.startswith(("Created", "data/", "per_keyway", "calibration.bins"))], columns
    assert "backend: unsloth" in (clone.path / "params.yaml").read_text()  # -S +profile=production applied
    assert "lr-1e-2" in clone.dvc("exp", "list", "origin").stdout
    clone.dvc("exp", "apply", "lr-1e-2")
    experiment = clone.hashes(*OUTS)
    experiment_metrics = _metrics(clone)
    assert json.loads(experiment_metrics)["keyway_accuracy"] != json.loads(_metrics(author))["keyway_accuracy"]

    # the author pulls the shared experiment, branches from it; outputs come from the DVC remote
    step("teammate", author)
    assert author.git("branch", "--show-current").stdout.strip() == "faster-lr"
    assert author.hashes(*OUTS) == experiment
    assert _metrics(author) == experiment_metrics
    assert "up to date" in author.dvc("status").stdout
    assert "refs/heads/faster-lr" in author.git("ls-remote", "origin").stdout

    # the pull-request report, main against the branch
    step("report", author)
    report = (author.path / "data" / "reports" / "pr" / "report.md").read_text()
    assert "| `train.learning_rate` | 0.005 | 0.01 | +0.005 |" in report
    assert "| `keyway_accuracy` |" in report
    assert "](plots/index.html)" in report
    assert (author.path / "data" / "reports" / "pr" / "plots" / "index.html").is_file()


REAL_REDUCED = {  # the default profile, smaller: the pipeline's shape is what this test is about
    "ingest": {"synthetic_count": 84, "image_size": 96},
    "validate": {"min_records_per_keyway": 5},
    "train": {"epochs": 1},
    "export": {"parity_samples": 4},
}


@pytest.mark.slow
def test_real_pipeline_publish_then_fresh_clone_is_a_no_op(tmp_path, checkout) -> None:
    """keylike's own pipeline (HEAD, reduced sizes) through the README's publish and clone blocks:
    after `dvc pull` in a fresh clone every output is there, `dvc status` is clean and `dvc repro`
    runs nothing; `dvc pull merge` alone brings the merged model."""
    blocks = readme_blocks(README.read_text())
    author = checkout(tmp_path / "keylike")
    author.path.mkdir()
    archive = subprocess.run(["git", "archive", "--format=tar", "HEAD"], cwd=REPO, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(author.path)], input=archive.stdout, check=True)
    params = yaml.safe_load((author.path / "params.yaml").read_text())
    for block, values in REAL_REDUCED.items():
        params[block].update(values)
    (author.path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    author.git("init", "-q", "-b", "main")
    author.git("add", "-A")
    author.git("commit", "-q", "-m", "keylike at HEAD, reduced")
    author.run("git", "init", "-q", "--bare", "-b", "main", str(tmp_path / "origin.git"))
    author.git("remote", "add", "origin", str(tmp_path / "origin.git"))
    author.git("push", "-q", "-u", "origin", "main")
    origin = str(tmp_path / "origin.git")

    author.run("bash", "-euo", "pipefail", "-c", blocks["publish"], timeout=1200)
    outs = ("data/ingested", "data/split", "data/models/adapter", "data/models/merged", "data/models/export")
    published = author.hashes(*outs)

    team = author.at(tmp_path / "team")
    team.path.mkdir()
    out = team.run("bash", "-euo", "pipefail", "-c", blocks["clone"].replace(URL, origin), timeout=1200).stdout
    clone = team.at(team.path / "keylike-clone")
    assert clone.hashes(*outs) == published
    assert "Running stage" not in out, out[-3000:]
    assert clone.dvc("status", "--json").stdout.strip() == "{}"

    team.run("bash", "-euo", "pipefail", "-c", blocks["serve"].replace(URL, origin))
    server = team.at(team.path / "keylike-serve")
    merged = {k: v for k, v in published.items() if k.startswith("data/models/merged/")}
    assert server.hashes("data/models/merged") == merged
