"""Use keylike's page as a person would, in headless Chromium: upload a photo, read the answer, screenshot.

  python -m keylike.serving.browser --model data/models/merged --out metrics/plots/serve_page.png

The command renders one synthetic key photo with keylike's own renderer, starts `keylike serve` on
a free loopback port, opens the page at a phone's size, uploads the photo and saves a screenshot of
the answer. Playwright drives the system Chromium (Debian's `chromium`; no browser is downloaded),
and every request the page makes outside the server is refused and reported: a page that needs the
internet fails here. Needs the `dev` extra (playwright).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
PHONE = {"width": 390, "height": 844}
"""The page's size in CSS pixels, a common phone's."""

_READ_PAGE = """() => {
  const shown = (el) => el !== null && el.closest("[hidden]") === null;
  const text = (id) => { const el = document.getElementById(id); return shown(el) ? el.textContent : null; };
  const items = (selector) => [...document.querySelectorAll(selector)].filter(shown).map((el) => el.textContent);
  const result = document.getElementById("result");
  return {
    state: result.dataset.state, title: text("result-title"), error: text("error-code"), message: text("message"),
    keyway: text("keyway"), brand: text("brand"), bitting: text("bitting"), confidence: text("confidence"),
    cuts: items("#cuts text"), riskScore: text("risk-score"), riskLevel: text("risk-level"),
    factors: items("#factors li"), production: text("production"), penetration: text("penetration"),
    timeInMarket: text("time-in-market"), complexity: text("complexity"), sources: items("#sources li"),
    answer: text("answer"),
  };
}"""
"""What the page shows, by name; null (or an empty list) for what it hides."""


def find_chromium() -> str | None:
    """The system Chromium's path, or None when it is not installed."""
    return next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)


@contextmanager
def open_browser(executable: str) -> Iterator[Any]:
    """A headless Playwright Browser on the Chromium at `executable`, closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser: Any, url: str, outside: list[str]) -> Any:
    """A phone-sized page at `url`; requests to other origins are refused and appended to `outside`."""
    origin = url.split("/", 3)[:3]
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)

    def only_the_server(route: Any) -> None:
        if route.request.url.split("/", 3)[:3] == origin:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_server)
    page = context.new_page()
    page.goto(url)
    return page


def read_answer(page: Any, photo: Path, label: str = "Choose a photo", timeout_s: float = 120) -> dict[str, Any]:
    """Upload `photo` through the input labelled `label`, wait for the answer and return what the page shows."""
    page.evaluate("() => document.getElementById('result').setAttribute('hidden', '')")
    page.get_by_label(label).set_input_files(str(photo))
    page.wait_for_selector("#result:not([hidden])", timeout=timeout_s * 1000)
    return page.evaluate(_READ_PAGE)


def synthetic_photo(path: Path, keyway: str, seed: int, index: int, size: int = 768) -> Path:
    """Write one synthetic key photo (keylike.data.synthesis, default render settings) as JPEG to `path`."""
    from keylike.data.rendering import RenderSettings
    from keylike.data.synthesis import synthesize_key
    from keylike.io import atomic_write_bytes

    atomic_write_bytes(path, synthesize_key(seed, index, keyway, RenderSettings(), size).rendered.jpeg_bytes())
    return path


def screenshot_page(model: Path, out: Path, keyway: str, seed: int, index: int) -> dict[str, Any]:
    """Serve `model`, upload one synthetic photo on the page and save a full-page screenshot to `out`."""
    from keylike.errors import ConfigError
    from keylike.io import atomic_write_bytes
    from keylike.serving.server import serve_subprocess

    chromium = find_chromium()
    if chromium is None:
        raise ConfigError(f"none of {', '.join(CHROMIUM_NAMES)} is installed: apt-get install -y chromium")
    outside: list[str] = []
    with tempfile.TemporaryDirectory(prefix="keylike-page-") as tmp, serve_subprocess(["--model", str(model)]) as server:
        photo = synthetic_photo(Path(tmp) / "key.jpg", keyway, seed, index)
        with open_browser(chromium) as browser:
            page = open_page(browser, server.url, outside)
            shown = read_answer(page, photo)
            atomic_write_bytes(out, page.screenshot(full_page=True))
    if outside:
        raise ConfigError(f"the page asked for {len(outside)} address(es) outside keylike, first {outside[0]}")
    return shown


def main(argv: list[str] | None = None) -> None:
    """Write the page's screenshot (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m keylike.serving.browser", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("data/models/merged"), help="merged model folder")
    parser.add_argument("--out", type=Path, default=Path("metrics/plots/serve_page.png"), help="the PNG to write")
    parser.add_argument("--keyway", default="KW1", help="keyway of the synthetic key")
    parser.add_argument("--seed", type=int, default=3407, help="seed of the synthetic photo")
    parser.add_argument("--index", type=int, default=0, help="which photo of the seed")
    args = parser.parse_args(argv)
    shown = screenshot_page(args.model, args.out, args.keyway, args.seed, args.index)
    print(f"{args.out}: {shown['state']}, {shown['title']}, bitting {shown['bitting']}, confidence {shown['confidence']}")


if __name__ == "__main__":
    main()
