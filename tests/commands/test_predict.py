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
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"no model in {tmp_path / 'nope'}" in err and "pass --model" in err


def _pipeline(root: Path) -> Path:
    """A project whose merge stage writes data/models/merged, and a subfolder two levels down."""
    (root / "dvc.yaml").write_text("stages:\n  merge:\n    cmd: python stages/merge.py --out data/models/merged\n")
    (root / "photos" / "2026").mkdir(parents=True)
    return root / "photos" / "2026"


def test_the_default_model_is_found_from_a_subfolder(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    subfolder = _pipeline(tmp_path)
    save_tiny_model(tmp_path / "data" / "models" / "merged")
    _photo(subfolder / "key.png", (1, 2, 3))
    monkeypatch.chdir(subfolder)
    assert main(["predict", "key.png", "--max-new-tokens", "4"]) == 0
    assert json.loads(capsys.readouterr().out)["image"] == "key.png"


def test_a_missing_default_model_names_the_folder_and_the_fix(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    subfolder = _pipeline(tmp_path)
    _photo(subfolder / "key.png", (1, 2, 3))
    monkeypatch.chdir(subfolder)
    assert main(["predict", "key.png"]) == 2
    err = capsys.readouterr().err
    assert f"no model in ../../data/models/merged ({tmp_path.resolve() / 'data/models/merged'})" in err
    assert "`dvc pull ../../data/models/merged`" in err and "`dvc repro ../../dvc.yaml:merge`" in err


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
    assert "\nexamples:\n  keylike predict key1.jpg key2.png  " in out


def test_exif_rotated_and_pixel_rotated_photos_get_the_same_picture_and_answer(
    tmp_path: Path, exif_photos: dict[str, Path], capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keylike.serving import ModelPredictor

    seen: list[bytes] = []
    generate = ModelPredictor.generate

    def recording(self, images):
        seen.extend(image.tobytes() for image in images)
        return generate(self, images)

    monkeypatch.setattr(ModelPredictor, "generate", recording)
    model = save_tiny_model(tmp_path / "model")
    photos = [exif_photos[name] for name in ("exif", "rotated", "plain")]
    assert main(["predict", *map(str, photos), "--model", str(model), "--max-new-tokens", "8"]) == 0
    exif, rotated, plain = ({k: v for k, v in json.loads(line).items() if k != "image"}
                            for line in capsys.readouterr().out.splitlines())
    assert seen[0] == seen[1] != seen[2]
    # the same picture at another place in the batch: on several threads the products may round differently
    assert exif.pop("confidence") == pytest.approx(rotated.pop("confidence"), rel=1e-6)
    assert exif == rotated


def test_a_broken_photo_is_one_error_line_and_the_others_are_answered(tmp_path: Path, capsys) -> None:
    model = save_tiny_model(tmp_path / "model")
    fixtures = sorted((Path(__file__).parents[1] / "data" / "fixtures" / "images").glob("*.bin"))
    photos = [_photo(tmp_path / "first.png", (1, 2, 3)), *fixtures, _photo(tmp_path / "last.png", (3, 2, 1))]
    assert main(["predict", *map(str, photos), "--model", str(model), "--max-new-tokens", "4"]) == 1
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["image"] for r in rows] == [str(p) for p in photos]
    assert "answer" in rows[0] and "answer" in rows[-1]
    api_names = {"decompression_bomb": "too_many_pixels"}
    reasons = [p.name.split("-")[0] for p in fixtures]
    assert [r["error"] for r in rows[1:-1]] == [api_names.get(reason, reason) for reason in reasons]
