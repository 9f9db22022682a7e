"""The page at / and the docs, in a real browser (the system Chromium, driven by Playwright), offline.

Every request the page makes outside the server under test is refused and must be none.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from keylike.serving import Answer, serve_subprocess
from keylike.serving.browser import find_chromium, open_browser, open_page, read_answer, synthetic_photo

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium; .ci/run installs it in CI)"
)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with open_browser(CHROMIUM) as browser:
        yield browser


@pytest.fixture(scope="module")
def keylike_serve(tiny_model_dir: str) -> Iterator[str]:
    """`keylike serve` in a subprocess on 127.0.0.1 with the tiny model; yields its URL."""
    with serve_subprocess(["--model", tiny_model_dir], env={"OMP_NUM_THREADS": "1"}) as server:
        yield server.url


def _percent(x: float) -> str:
    return f"{100 * x:.1f} %"


def test_the_page_shows_what_keylike_serve_answers_for_a_synthetic_photo(keylike_serve: str, browser, tmp_path: Path) -> None:
    photo = synthetic_photo(tmp_path / "key.jpg", "KW1", seed=3407, index=1, size=384)
    outside: list[str] = []
    page = open_page(browser, keylike_serve, outside)
    assert page.get_attribute("meta[name=viewport]", "content") == "width=device-width, initial-scale=1"
    shown = read_answer(page, photo, label="Take a photo")
    api = httpx.post(f"{keylike_serve}/analyze", files={"image": ("key.jpg", photo.read_bytes(), "image/jpeg")},
                     timeout=120).json()
    assert outside == []
    assert shown["state"] == ("reading" if api["success"] else api["error"])
    assert shown["confidence"] == _percent(api["confidence"])
    assert shown["answer"] == api["answer"]
    reading = api if api["success"] else api.get("bestGuess") or api
    assert shown["keyway"] == (reading["keyway"] if reading["keyway"] else None)
    if reading["bittingCuts"]:  # drawn with the bow on the left
        bow_to_tip = reading["bittingCuts"][:: -1 if reading["bittingOrder"] == "tip_to_bow" else 1]
        assert shown["cuts"] == [str(c) for c in bow_to_tip]
        assert shown["bitting"] == " ".join(map(str, reading["bittingCuts"]))


def _upload(server: str, browser, path: Path, data: bytes) -> dict:
    path.write_bytes(data)
    outside: list[str] = []
    shown = read_answer(open_page(browser, server, outside), path)
    assert outside == []
    return shown


def test_a_reading_shows_key_cuts_risk_and_sources(server: str, browser, photo, tmp_path: Path) -> None:
    shown = _upload(server, browser, tmp_path / "key.png", photo())
    # the fake model reads KW1 11111 at 0.75: risk 80, high (tests/serving/test_app.py)
    assert shown["state"] == "reading" and shown["title"] == "Kwikset KW1" and shown["error"] is None
    assert (shown["keyway"], shown["brand"], shown["bitting"]) == ("KW1", "Kwikset", "1 1 1 1 1")
    assert shown["cuts"] == ["1"] * 5
    assert shown["confidence"] == "75.0 %"
    assert (shown["riskScore"], shown["riskLevel"]) == ("80", "high")
    assert [f.split(":")[0] for f in shown["factors"]] == ["keyspace", "pattern", "nearMisses", "identicalPerMillion"]
    assert shown["production"] == "39,000,000 locksets per year"
    assert shown["penetration"] == "50.0 % (share of U.S. residential locksets)"
    assert (shown["timeInMarket"], shown["complexity"]) == ("80 years", "25/100")
    assert any(s.startswith("estimatedAnnualProduction: 39000000 locksets per year") for s in shown["sources"])


UNSURE = "KEYWAY: SC1\nBITTING: 1,2,5,3,7\nBRAND: Schlage"

STATES = {
    # top-left colour of the photo -> the fake model's answer, and what the page must show
    "no_key": ((0, 0, 255), Answer("NO KEY", 0.9), {"keyway": None, "cuts": [], "riskScore": None}),
    "low_confidence": ((0, 255, 0), Answer(UNSURE, 0.4),
                       {"keyway": "SC1", "cuts": ["1", "2", "5", "3", "7"], "confidence": "40.0 %"}),
    "invalid_bitting": ((255, 0, 0), None, {"keyway": "KW1", "brand": "Kwikset", "bitting": "not readable", "cuts": []}),
    "answer_unparseable": ((9, 9, 9), Answer("KEYWAY: ZZ9\nBITTING: 1\nBRAND: Acme", 0.3),
                           {"keyway": None, "riskScore": None, "answer": "KEYWAY: ZZ9\nBITTING: 1\nBRAND: Acme"}),
}


@pytest.mark.parametrize("state", list(STATES))
def test_every_refusal_is_shown_with_its_code_and_message(server: str, fake, browser, photo, tmp_path: Path, state: str) -> None:
    colour, answer, expected = STATES[state]
    if answer is not None:
        fake.answers[colour] = answer
    fake.min_confidence = 0.5
    shown = _upload(server, browser, tmp_path / "key.png", photo(color=colour))
    assert shown["state"] == state and shown["error"] == state
    assert shown["message"] and shown["title"]
    assert {key: shown[key] for key in expected} == expected


def test_a_refused_upload_is_shown_with_the_servers_code(server: str, browser, photo, tmp_path: Path) -> None:
    shown = _upload(server, browser, tmp_path / "key.png", photo(noise=True)[:600])
    assert shown["state"] == "corrupt_image" and shown["error"] == "corrupt_image"
    assert shown["title"] == "Photo refused" and "cannot be decoded" in shown["message"]
    assert shown["keyway"] is None and shown["confidence"] is None


def test_a_dropped_photo_is_read(server: str, fake, browser, photo) -> None:
    outside: list[str] = []
    page = open_page(browser, server, outside)
    page.evaluate(
        """(b64) => {
          const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          const files = new DataTransfer();
          files.items.add(new File([bytes], "key.png", { type: "image/png" }));
          document.getElementById("upload").dispatchEvent(new DragEvent("drop", { dataTransfer: files, bubbles: true }));
        }""",
        base64.b64encode(photo()).decode(),
    )
    page.wait_for_selector("#result[data-state=reading]:not([hidden])")
    assert page.text_content("#keyway") == "KW1" and fake.batches == [1]
    assert outside == []


def test_the_camera_input_asks_for_the_back_camera(server: str, browser) -> None:
    page = open_page(browser, server, [])
    camera = page.get_by_label("Take a photo")
    assert (camera.get_attribute("accept"), camera.get_attribute("capture")) == ("image/*", "environment")
    assert page.get_by_label("Choose a photo").get_attribute("capture") is None


def test_the_api_docs_render_offline(server: str, browser) -> None:
    outside: list[str] = []
    page = open_page(browser, f"{server}/docs", outside)
    page.wait_for_selector(".swagger-ui .info .title:has-text('keylike')", timeout=30_000)
    assert "/analyze" in page.inner_text("body")  # the operations are rendered, not only the title
    assert outside == []
