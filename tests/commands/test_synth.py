"""`keylike synth`: a synthetic data set in the Keylike format, and the line saying where it went."""

import json

from keylike.cli import main


def test_synth_command_writes_labels_images_and_a_contact_sheet(tmp_path, capsys):
    out = tmp_path / "synthetic"
    assert main(["synth", "--n", "3", "--out", str(out), "--size", "64", "--keyways", "SC1", "--workers", "1"]) == 0
    labels = [json.loads(line) for line in (out / "labels.jsonl").read_text().splitlines()]
    assert len(labels) == 3 and {label["keyway"] for label in labels} == {"SC1"}
    assert len(list((out / "images").iterdir())) == 3 and (out / "contact_sheet.png").is_file()
    assert capsys.readouterr().out.strip() == f"wrote 3 images to {out} (labels.jsonl, images/, contact_sheet.png)"


def test_synth_command_refuses_an_unknown_keyway_in_one_line(tmp_path, capsys):
    assert main(["synth", "--n", "1", "--out", str(tmp_path / "s"), "--keyways", "NOPE"]) != 0
    err = capsys.readouterr().err
    assert err.startswith("keylike synth: error:") and "NOPE" in err and err.count("\n") == 1
