"""Decoding uploads: any bytes give the picture ingest would store or a named refusal (fuzzed), never another exception."""

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from keylike.data.images import ACCEPTED_FORMATS, normalise_image
from keylike.serving.images import BadImageError, ImageLimits, decode_image

LIMITS = ImageLimits(max_bytes=1 << 20, max_pixels=1 << 22)
SAMPLES = {}
for fmt in ACCEPTED_FORMATS:
    buffer = io.BytesIO()
    Image.new("RGB", (24, 16), (200, 120, 40)).save(buffer, format=fmt)
    SAMPLES[fmt] = buffer.getvalue()


@pytest.mark.parametrize("fmt", ACCEPTED_FORMATS)
def test_every_accepted_format_decodes(fmt: str) -> None:
    image = decode_image(SAMPLES[fmt], LIMITS)
    assert image.mode == "RGB" and image.size == (24, 16)


def test_an_upload_becomes_the_picture_ingest_stores_for_training() -> None:
    photo = Image.effect_noise((900, 300), 60).convert("RGB")
    buffer = io.BytesIO()
    photo.save(buffer, format="PNG")
    limits = ImageLimits(max_bytes=1 << 22, max_pixels=1 << 22, max_side=256)
    stored = Image.open(io.BytesIO(normalise_image(buffer.getvalue(), 256, 1 << 22).jpeg)).convert("RGB")
    served = decode_image(buffer.getvalue(), limits)
    assert served.size == (256, 85) and served.tobytes() == stored.tobytes()


def test_a_format_pillow_knows_but_keylike_does_not_accept_is_refused_by_name() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="PPM")
    with pytest.raises(BadImageError) as info:
        decode_image(buffer.getvalue(), LIMITS)
    assert (info.value.status, info.value.code) == (400, "not_an_image") and "JPEG" in info.value.message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fmt=st.sampled_from(ACCEPTED_FORMATS), data=st.data())
def test_mutated_photos_decode_or_are_refused_by_name(fmt: str, data) -> None:
    original = bytearray(SAMPLES[fmt])
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(original) - 1))
        original[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(original)))
    try:
        image = decode_image(bytes(original[:cut]), LIMITS)
    except BadImageError as exc:
        assert exc.status in (400, 413) and exc.code in (
            "not_an_image", "corrupt_image", "unsupported_mode", "too_many_pixels", "empty_upload")
    else:
        assert image.mode == "RGB"
