"""The real tiny model behind the predictor, `predict_files` and a real server on 127.0.0.1."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
import torch
from PIL import Image

from keylike.errors import ConfigError
from keylike.serving import (
    CONTRACT_FIELDS,
    BatchConfig,
    ImageLimits,
    ModelPredictor,
    ServeConfig,
    create_app,
    predict_files,
    running_server,
)

torch.set_num_threads(1)


def _check_contract(body: dict) -> None:
    """Every contract field is there; an answer that is not a reading has no made-up key fields."""
    assert set(CONTRACT_FIELDS) <= set(body)
    assert isinstance(body["answer"], str)
    assert 0.0 <= body["confidence"] <= 1.0
    if not body["success"]:
        assert body["keyway"] is None and body["bitting"] is None and body["brand"] is None
        assert body["error"] in ("answer_unparseable", "no_key", "low_confidence")


@pytest.fixture(scope="module")
def predictor(tiny_model_dir: str) -> ModelPredictor:
    return ModelPredictor(Path(tiny_model_dir), max_new_tokens=8, device="cpu")


def test_predictor_answers_each_image_in_order(predictor: ModelPredictor, photo) -> None:
    colors = ((10, 10, 10), (250, 250, 250), (9, 99, 199))
    images = [Image.open(io.BytesIO(photo(color=c))).convert("RGB") for c in colors]
    answers = predictor.generate(images)
    assert len(answers) == 3
    # same image alone gives the same answer as in the batch (greedy, batch-invariant)
    assert predictor.generate(images[2:])[0].text == answers[2].text
    assert all(0.0 <= a.confidence <= 1.0 for a in answers)


def test_missing_model_folder_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="has no config.json"):
        ModelPredictor(tmp_path)


def test_predict_files_keeps_order_and_reports_unusable_files(predictor: ModelPredictor, photo, tmp_path: Path) -> None:
    paths = []
    for i, content in enumerate([photo(), b"not a photo", photo(color=(1, 2, 3)), photo((80, 80))]):
        path = tmp_path / f"{i}.png"
        path.write_bytes(content)
        paths.append(path)
    paths.append(tmp_path / "missing.png")
    rows = list(predict_files(predictor, paths, ImageLimits(max_pixels=70 * 70), batch_size=2))
    assert [r["image"] for r in rows] == [str(p) for p in paths]
    assert [r.get("error") for r in rows[1::2]] == ["not_an_image", "too_many_pixels"]
    assert rows[4]["error"] == "not_found"
    for row in (rows[0], rows[2]):
        _check_contract(row)


def test_real_model_on_a_real_server(predictor: ModelPredictor, photo) -> None:
    config = ServeConfig(batching=BatchConfig(max_batch_size=4, max_wait_ms=20))
    with running_server(create_app(predictor, config)) as url:
        response = httpx.post(f"{url}/analyze", files={"image": ("k.png", photo(), "image/png")}, timeout=60)
        assert response.status_code == 200
        _check_contract(response.json())
        bad = httpx.post(f"{url}/analyze", files={"image": ("k.png", b"", "image/png")}, timeout=60)
        assert bad.status_code == 400
        assert httpx.get(f"{url}/health", timeout=10).json()["model"] == predictor.name


class _Recording:
    """The real predictor, recording the pixels of every picture it is given."""

    def __init__(self, predictor: ModelPredictor) -> None:
        self.inner, self.name, self.min_confidence = predictor, predictor.name, predictor.min_confidence
        self.seen: list[bytes] = []

    def generate(self, images):
        self.seen.extend(image.tobytes() for image in images)
        return self.inner.generate(images)


def test_exif_rotated_and_pixel_rotated_uploads_get_the_same_picture_and_answer(
    predictor: ModelPredictor, exif_photos: dict[str, Path]
) -> None:
    recording = _Recording(predictor)
    with running_server(create_app(recording, ServeConfig(batching=BatchConfig(max_batch_size=1)))) as url:
        bodies = {}
        for name in ("exif", "rotated", "plain"):
            upload = {"image": (f"{name}.png", exif_photos[name].read_bytes(), "image/png")}
            response = httpx.post(f"{url}/analyze", files=upload, timeout=60)
            assert response.status_code == 200
            bodies[name] = response.json()
    assert recording.seen[0] == recording.seen[1] != recording.seen[2]
    assert bodies["exif"] == bodies["rotated"]
