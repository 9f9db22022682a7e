"""`keylike split`: the split stage's command; before validation it says which stage to run, in one line
(the full run: tests/stages/test_split.py)."""

from pathlib import Path

from keylike.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_split_command_before_validation_exits_with_one_line(tmp_path, capsys):
    rc = main(["split", "--params", str(REPO / "params.yaml"), "--data", str(tmp_path), "--validation",
               str(tmp_path / "validation.json"), "--out", str(tmp_path / "split"), "--metrics", str(tmp_path / "m.json")])
    err = capsys.readouterr().err
    assert rc == 1 and err.startswith("keylike split: error:") and "keylike validate" in err and err.count("\n") == 1
    assert not (tmp_path / "split").exists()
