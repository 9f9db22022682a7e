"""`keylike predict`: JSON lines in order, one per photo, from the real tiny model."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from keylike.cli import main
from keylike.model.tiny import save_tiny_model
from keylike.serving import CONTRACT_FIELDS

torch.set_num_threads(1)


def _photo(path: Path, color: tuple[int, int, int]) -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), color).save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())
    return path


def test_predict_prints_one_json_line_per_photo(tmp_path: Path, capsys) -> None:
    model = save_tiny_model(tmp_path / "model")
    photos = [_photo(tmp_path / f"{i}.png", (i * 40, 100, 200)) for i in range(3)]
    code = main(["predict", *map(str, photos), "--model", str(model), "--batch-size", "2", "--max-new-tokens", "8"])
    assert code == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["image"] for r in rows] == [str(p) for p in photos]
    for row in rows:
        assert set(CONTRACT_FIELDS) <= set(row)
        assert isinstance(row["answer"], str)


def test_predict_exits_1_when_a_file_is_not_a_photo(tmp_path: Path, capsys) -> None:
    model = save_tiny_model(tmp_path / "model")
    text = tmp_path / "notes.txt"
    text.write_text("not a photo")
    photo = _photo(tmp_path / "key.png", (1, 2, 3))
    code = main(["predict", str(text), str(photo), "--model", str(model), "--max-new-tokens", "4"])
    assert code == 1
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["error"] == "not_an_image" and str(text) in rows[0]["message"]
    assert "answer" in rows[1]


def test_missing_model_is_one_line_and_exit_2(tmp_path: Path, capsys) -> None:
    photo = _photo(tmp_path / "key.png", (1, 2, 3))
    assert main(["predict", str(photo), "--model", str(tmp_path / "nope")]) == 2
    assert "has no config.json" in capsys.readouterr().err


def test_no_existing_photo_is_refused_before_the_model_loads(tmp_path: Path, capsys) -> None:
    # the model folder does not exist either: the photos are checked first, so that is not what it says
    assert main(["predict", str(tmp_path / "a.jpg"), str(tmp_path / "b.jpg"), "--model", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "none of the photos exists" in err and "a.jpg" in err and "config.json" not in err


def test_help_shows_defaults_and_keeps_the_examples(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    out = capsys.readouterr().out
    assert "(default: data/models/merged)" in out and "(default: 8)" in out
    assert "\n  keylike predict key1.jpg key2.png --model data/models/merged\n" in out
