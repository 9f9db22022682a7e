"""The HTTP API on a real uvicorn server on 127.0.0.1, with a fake model (the tests are about HTTP)."""

from __future__ import annotations

import concurrent.futures
import io
import json
import logging
import re
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from keylike.serving import CONTRACT_FIELDS, Answer, ServeConfig, analyze_answer, create_app, running_server

FIXTURES = Path(__file__).parents[1] / "data" / "fixtures" / "images"
"""Images the fuzzers found (tests/data/test_images.py), named `<reason>-<what>.bin`."""


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def post_image(url: str, data: bytes, content_type: str = "image/png", field: str = "image") -> httpx.Response:
    return httpx.post(f"{url}/analyze", files={field: ("key.png", data, content_type)}, timeout=30)


def test_happy_path_returns_the_contract(server: str, fake, photo) -> None:
    response = post_image(server, photo())
    assert response.status_code == 200
    body = response.json()
    assert set(CONTRACT_FIELDS) <= set(body)
    assert body["success"] is True
    assert (body["keyway"], body["bitting"], body["brand"]) == ("KW1", "1,1,1,1,1", "Kwikset")
    assert body["bittingCuts"] == [1, 1, 1, 1, 1]
    assert body["confidence"] == 0.75
    # KW1 11111: 10 / 6306 per lock -> 1585.8 per million -> score 80, high (tests/risk/test_risk.py)
    assert body["keyedAlikeRisk"]["score"] == 80 and body["keyedAlikeRisk"]["level"] == "high"
    assert body["estimatedAnnualProduction"] == 39_000_000
    assert body["timeInMarket"] == 80
    assert {s["field"] for s in body["sources"]} >= {"estimatedAnnualProduction", "marketPenetration", "timeInMarket"}
    assert fake.batches == [1]


def test_unparseable_answer_is_success_false_with_raw_answer(server: str, photo) -> None:
    response = post_image(server, photo(color=(255, 0, 0)))
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is False
    assert body["answer"] == "KEYWAY: KW1\nBITTING: 1,1\nBRAND: Kwikset"
    assert body["bitting"] is None and body["bittingCuts"] is None and body["keyedAlikeRisk"] is None
    assert "has 2 cuts" in body["message"]


def _multipart(url: str, **kwargs) -> httpx.Response:
    return httpx.post(f"{url}/analyze", timeout=30, **kwargs)


BAD_REQUESTS = {
    "not_an_image": (lambda url, photo: post_image(url, b"this is a text file, not a photo"), 400, "not_an_image"),
    "truncated_png": (lambda url, photo: post_image(url, photo(noise=True)[:600]), 400, "corrupt_image"),
    "truncated_jpeg": (
        lambda url, photo: post_image(url, photo(fmt="JPEG", noise=True)[:700], "image/jpeg"),
        400,
        "corrupt_image",
    ),
    "float_tiff": (lambda url, photo: post_image(url, _encode(Image.new("F", (8, 8)), "TIFF")), 400, "unsupported_mode"),
    "empty_upload": (lambda url, photo: post_image(url, b""), 400, "empty_upload"),
    "wrong_upload_type": (lambda url, photo: post_image(url, photo(), "text/plain"), 415, "unsupported_content_type"),
    "json_body": (lambda url, photo: _multipart(url, json={"image": "aGVsbG8="}), 415, "unsupported_media_type"),
    "no_body": (lambda url, photo: _multipart(url), 415, "unsupported_media_type"),
    "over_byte_limit": (lambda url, photo: post_image(url, photo((60, 60), noise=True)), 413, "too_many_bytes"),
    "far_over_byte_limit": (lambda url, photo: post_image(url, b"\0" * 200_000), 413, "too_many_bytes"),
    "over_pixel_limit": (lambda url, photo: post_image(url, photo((100, 100))), 413, "too_many_pixels"),
    "missing_field": (lambda url, photo: post_image(url, photo(), field="photo"), 400, "missing_field"),
    **{
        f"fixture_{path.stem}": (lambda url, photo, path=path: post_image(url, path.read_bytes()),
                                 413 if path.name.startswith("decompression_bomb") else 400,
                                 "too_many_pixels" if path.name.startswith("decompression_bomb") else path.name.split("-")[0])
        for path in sorted(FIXTURES.glob("*.bin"))
    },
    "text_field": (
        lambda url, photo: _multipart(url, data={"image": "text"}, files={"other": ("a.txt", b"x", "text/plain")}),
        400,
        "missing_field",
    ),
}


@pytest.mark.parametrize("kind", list(BAD_REQUESTS))
def test_bad_input_gets_a_4xx_json_error_and_the_server_keeps_serving(
    server: str, fake, photo, kind: str
) -> None:
    send, status, code = BAD_REQUESTS[kind]
    response = send(server, photo)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error"] == code
    assert body["message"]
    assert fake.batches == []  # refused before the model
    assert post_image(server, photo()).json()["success"] is True


GOOD_ODD_PHOTOS = {
    "16_bit_gray_png": lambda: _encode(Image.fromarray((np.arange(32 * 16).reshape(16, 32) * 128).astype(np.uint16)), "PNG"),
    "cmyk_jpeg": lambda: _encode(Image.new("CMYK", (32, 16), (0, 200, 200, 0)), "JPEG"),
    "palette_gif_with_transparency": lambda: _encode(Image.new("P", (32, 16), 0), "GIF", transparency=0),
    "rgba_png": lambda: _encode(Image.new("RGBA", (32, 16), (10, 10, 10, 0)), "PNG"),
    "animated_webp": lambda: _encode(Image.new("RGB", (32, 16), (9, 9, 9)), "WEBP", save_all=True,
                                     append_images=[Image.new("RGB", (32, 16))]),
}


@pytest.mark.parametrize("kind", list(GOOD_ODD_PHOTOS))
def test_odd_but_sound_photos_are_answered(server: str, fake, kind: str) -> None:
    response = post_image(server, GOOD_ODD_PHOTOS[kind]())
    assert response.status_code == 200 and response.json()["success"] is True
    assert fake.batches == [1]


def test_health_and_openapi(server: str) -> None:
    health = httpx.get(f"{server}/health", timeout=10).json()
    assert health["status"] == "ok" and health["model"] == "fake" and health["maxBatchSize"] == 8
    schema = httpx.get(f"{server}/openapi.json", timeout=10).json()
    assert set(schema["paths"]) >= {"/analyze", "/health"}
    analyze = schema["paths"]["/analyze"]["post"]
    assert {"200", "400", "413", "415"} <= set(analyze["responses"])
    assert analyze["requestBody"]["content"]["multipart/form-data"]["schema"]["required"] == ["image"]
    answer = schema["components"]["schemas"]["Analysis"]["properties"]
    assert all(code in answer["error"]["description"] for code in ("no_key", "low_confidence", "invalid_bitting"))
    assert "bestGuess" in answer
    # the units a web developer needs, where they look: the schema's field descriptions
    units = {"confidence": "0-1", "marketPenetration": "0-1", "timeInMarket": "Years", "manufacturingComplexity": "0-100",
             "estimatedAnnualProduction": "per year"}
    assert {name: unit for name, unit in units.items() if unit in answer[name]["description"]} == units
    assert {"type": "integer"} in answer["manufacturingComplexity"]["anyOf"]
    missing = httpx.get(f"{server}/nowhere", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_concurrent_requests_share_one_generate_call(server: str, fake, photo) -> None:
    fake.gate = threading.Event()
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        first = pool.submit(post_image, server, photo())
        _wait_for(lambda: fake.batches == [1])  # the first request holds the model
        rest = [pool.submit(post_image, server, photo()) for _ in range(5)]
        _wait_for(lambda: httpx.get(f"{server}/health", timeout=10).json()["queued"] == 5)
        fake.gate.set()
        bodies = [f.result().json() for f in [first, *rest]]
    assert all(b["success"] for b in bodies)
    assert fake.batches == [1, 5]
    health = httpx.get(f"{server}/health", timeout=10).json()
    assert (health["requests"], health["batches"], health["largestBatch"]) == (6, 2, 5)


def _wait_for(condition, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_a_chunked_upload_over_the_limit_is_refused_without_a_content_length(server: str) -> None:
    """No Content-Length to check first: the body is counted as it arrives and refused once past the limit."""
    sent = []

    def chunks():
        yield b"--x\r\nContent-Disposition: form-data; name=\"image\"; filename=\"k.png\"\r\nContent-Type: image/png\r\n\r\n"
        for _ in range(64):
            sent.append(1)
            yield b"\0" * 4096

    response = httpx.post(f"{server}/analyze", content=chunks(), timeout=30,
                          headers={"content-type": "multipart/form-data; boundary=x"})
    assert response.status_code == 413 and response.json()["error"] == "too_many_bytes"
    assert "content-length" not in response.request.headers
    health = httpx.get(f"{server}/health", timeout=10)
    assert health.status_code == 200


@pytest.mark.parametrize("min_confidence", [0.0, 0.9])
def test_http_and_predict_give_the_same_json(server: str, fake, photo, min_confidence: float) -> None:
    """One shape (keylike.serving.response): the same values and the same JSON types, to the byte."""
    fake.min_confidence = min_confidence
    response = post_image(server, photo())
    expected = analyze_answer("KEYWAY: KW1\nBITTING: 1,1,1,1,1\nBRAND: Kwikset", 0.75, min_confidence)
    assert json.dumps(response.json(), sort_keys=True) == json.dumps(expected, sort_keys=True)


def test_the_access_log_has_one_line_per_request_with_its_outcome(server: str, fake, photo, caplog) -> None:
    caplog.set_level(logging.INFO, logger="keylike.access")
    fake.answers[(0, 0, 255)] = Answer("NO KEY", 0.9)
    post_image(server, photo())
    post_image(server, photo(color=(0, 0, 255)))
    post_image(server, photo(noise=True)[:600])
    httpx.get(server, timeout=10)

    def lines() -> list[str]:  # a line is written once its response has gone out: it may trail the client
        return [r.getMessage() for r in caplog.records if r.name == "keylike.access"]

    _wait_for(lambda: len(lines()) == 4)
    pattern = r'127\.0\.0\.1:\d+ "(\w+ \S+)" (\d{3}) \d+\.\d ms (\S+)'
    assert [re.fullmatch(pattern, line).groups() for line in lines()] == [
        ("POST /analyze", "200", "ok"),
        ("POST /analyze", "200", "no_key"),
        ("POST /analyze", "400", "corrupt_image"),
        ("GET /", "200", "-"),
    ]


def test_the_access_log_can_be_turned_off(fake, photo, caplog) -> None:
    caplog.set_level(logging.INFO, logger="keylike.access")
    with running_server(create_app(fake, ServeConfig(access_log=False))) as url:
        assert post_image(url, photo()).json()["success"] is True
    assert [r for r in caplog.records if r.name == "keylike.access"] == []
