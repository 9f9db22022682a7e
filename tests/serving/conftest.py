"""Fixtures for the serving tests: photos as bytes, a fake predictor, a real server on 127.0.0.1."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Sequence

import numpy as np
import pytest
from PIL import Image

from keylike.serving import Answer, BatchConfig, ImageLimits, ServeConfig, create_app, running_server

GOOD_ANSWER = "KEYWAY: KW1\nBITTING: 1,1,1,1,1\nBRAND: Kwikset"
BAD_ANSWER = "KEYWAY: KW1\nBITTING: 1,1\nBRAND: Kwikset"
"""What the fake model answers for a red photo: a bitting too short for KW1, which must not parse."""


def photo_bytes(size: tuple[int, int] = (32, 16), color: tuple[int, int, int] = (200, 180, 40), fmt: str = "PNG",
                noise: bool = False) -> bytes:
    """A small photo encoded as `fmt`; `noise` makes it incompressible."""
    if noise:
        pixels = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        image = Image.fromarray(pixels)
    else:
        image = Image.new("RGB", size, color)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


class FakePredictor:
    """Answers GOOD_ANSWER, or what `answers` gives for the photo's top-left colour (BAD_ANSWER for red);
    records batch sizes; can hold a batch at a gate."""

    name = "fake"
    min_confidence = 0.0

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.gate: threading.Event | None = None
        self.answers: dict[tuple[int, int, int], Answer] = {(255, 0, 0): Answer(BAD_ANSWER, 0.75)}

    def generate(self, images: Sequence[Image.Image]) -> list[Answer]:
        self.batches.append(len(images))
        if self.gate is not None:
            assert self.gate.wait(timeout=30), "test never opened the gate"
        return [self._answer(image.getpixel((0, 0))) for image in images]

    def _answer(self, pixel: tuple[int, int, int]) -> Answer:
        """The answer of the colour in `answers` within 8 levels of `pixel`: the model sees the photo after the
        JPEG of keylike.data.images, which moves a colour by a level or two ((255, 0, 0) comes back (254, 0, 0))."""
        for colour, answer in self.answers.items():
            if max(abs(p - c) for p, c in zip(pixel, colour, strict=True)) <= 8:
                return answer
        return Answer(GOOD_ANSWER, 0.75)


TEST_LIMITS = ImageLimits(max_bytes=8 * 1024, max_pixels=64 * 64)
"""Small limits so that the over-limit uploads stay small."""


@pytest.fixture
def fake() -> FakePredictor:
    return FakePredictor()


@pytest.fixture
def server(fake: FakePredictor) -> Iterator[str]:
    """A real uvicorn server on 127.0.0.1 (free port) serving the fake predictor; yields the base URL."""
    config = ServeConfig(limits=TEST_LIMITS, batching=BatchConfig(max_batch_size=8, max_wait_ms=5))
    with running_server(create_app(fake, config)) as url:
        yield url


@pytest.fixture
def photo():
    """`photo_bytes` (a fixture, so that test modules need not import conftest)."""
    return photo_bytes


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> str:
    """The embedded tiny Gemma 3n (random weights) saved like a merged model: the real loading path."""
    import torch

    from keylike.model.tiny import save_tiny_model

    torch.set_num_threads(1)
    return str(save_tiny_model(tmp_path_factory.mktemp("serving") / "model"))
