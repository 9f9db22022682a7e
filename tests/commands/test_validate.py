"""`keylike validate`: the validate stage's command; without an ingested set it says which stage to run
(the full run: tests/stages/test_validate.py)."""

from pathlib import Path

from keylike.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_validate_command_without_a_manifest_exits_with_one_line(tmp_path, capsys):
    rc = main(["validate", "--params", str(REPO / "params.yaml"), "--data", str(tmp_path), "--docs", str(tmp_path / "docs"),
               "--metrics", str(tmp_path / "m.json")])
    err = capsys.readouterr().err
    assert rc == 1 and err.startswith("keylike validate: error:") and "keylike ingest" in err and err.count("\n") == 1
