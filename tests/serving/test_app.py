"""The HTTP API on a real uvicorn server on 127.0.0.1, with a fake model (the tests are about HTTP)."""

from __future__ import annotations

import concurrent.futures
import threading
import time

import httpx
import pytest

from keylike.serving import CONTRACT_FIELDS


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
    "empty_upload": (lambda url, photo: post_image(url, b""), 400, "empty_upload"),
    "wrong_upload_type": (lambda url, photo: post_image(url, photo(), "text/plain"), 415, "unsupported_content_type"),
    "json_body": (lambda url, photo: _multipart(url, json={"image": "aGVsbG8="}), 415, "unsupported_media_type"),
    "no_body": (lambda url, photo: _multipart(url), 415, "unsupported_media_type"),
    "over_byte_limit": (lambda url, photo: post_image(url, photo((60, 60), noise=True)), 413, "too_many_bytes"),
    "far_over_byte_limit": (lambda url, photo: post_image(url, b"\0" * 200_000), 413, "too_many_bytes"),
    "over_pixel_limit": (lambda url, photo: post_image(url, photo((100, 100))), 413, "too_many_pixels"),
    "missing_field": (lambda url, photo: post_image(url, photo(), field="photo"), 400, "missing_field"),
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
