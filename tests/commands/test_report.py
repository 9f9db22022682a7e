"""`keylike report`: a folder that is not there is named in one line (the report itself: tests/test_report.py)."""

from keylike.cli import main


def test_report_command_on_a_missing_repository_exits_with_one_line(tmp_path, capsys):
    assert main(["report", "--repo", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"keylike report: error: repository folder {tmp_path / 'nowhere'} not found") and err.count("\n") == 1
