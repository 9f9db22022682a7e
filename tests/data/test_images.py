"""keylike.data.images: every kind of image gives the right picture or a named refusal (fuzzed, with fixtures)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from keylike.data.images import ACCEPTED_FORMATS, BACKGROUND, ImageRefused, model_picture, normalise_image

FIXTURES = Path(__file__).parent / "fixtures" / "images"
REASONS = {"not_an_image", "decompression_bomb", "truncated_image", "corrupt_image", "unsupported_mode"}
MAX_SIDE, MAX_PIXELS = 1024, 1 << 22


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def picture(data: bytes) -> np.ndarray:
    return np.asarray(model_picture(data, MAX_SIDE, MAX_PIXELS), dtype=np.int16)


def scene(size: tuple[int, int] = (48, 32)) -> Image.Image:
    """An asymmetric RGB picture (a gradient with a dark corner), so that a rotation or a flip shows."""
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([x * 255 // width, y * 255 // height, np.full_like(x, 90)], axis=-1).astype(np.uint8)
    pixels[: height // 3, : width // 4] = 0
    return Image.fromarray(pixels)


GRADIENT16 = (np.arange(64 * 16).reshape(16, 64) * 64).astype(np.uint16)
"""A 16-bit grayscale ramp from 0 to 65472: Pillow's own conversion clips all but its first pixels to white."""


def _gray_of(array16: np.ndarray) -> np.ndarray:
    return picture(encode(Image.fromarray((array16 // 257).astype(np.uint8)), "PNG"))


@pytest.mark.parametrize("fmt", ACCEPTED_FORMATS)
def test_every_accepted_format_gives_an_rgb_picture(fmt: str) -> None:
    image = model_picture(encode(scene(), fmt), MAX_SIDE, MAX_PIXELS)
    assert image.mode == "RGB" and image.size == (48, 32)


@pytest.mark.parametrize("orientation", range(2, 9))
def test_exif_rotated_and_pixel_rotated_photos_give_the_same_picture(orientation: int) -> None:
    original = scene()
    exif = Image.Exif()
    exif[0x0112] = orientation
    method = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
              5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}[orientation]
    tagged = normalise_image(encode(original, "PNG", exif=exif), MAX_SIDE, MAX_PIXELS)
    rotated = normalise_image(encode(original.transpose(method), "PNG"), MAX_SIDE, MAX_PIXELS)
    untouched = normalise_image(encode(original, "PNG"), MAX_SIDE, MAX_PIXELS)
    assert tagged.jpeg == rotated.jpeg and tagged.jpeg != untouched.jpeg


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16_bit_grayscale_keeps_its_picture(fmt: str) -> None:
    data = encode(Image.fromarray(GRADIENT16), fmt)
    assert Image.open(io.BytesIO(data)).mode.startswith("I;16")
    got = picture(data)
    assert got.min() <= 2 and got.max() >= 250 and np.abs(got - _gray_of(GRADIENT16)).max() <= 3


def test_32_bit_integer_images_are_read_as_16_bit_values() -> None:
    data = encode(Image.fromarray(GRADIENT16.astype(np.int32)), "TIFF")
    assert Image.open(io.BytesIO(data)).mode == "I"
    assert np.abs(picture(data) - _gray_of(GRADIENT16)).max() <= 3


def test_float_images_are_refused_by_name() -> None:
    with pytest.raises(ImageRefused) as info:
        normalise_image(encode(Image.fromarray(GRADIENT16.astype(np.float32)), "TIFF"), MAX_SIDE, MAX_PIXELS)
    assert info.value.reason == "unsupported_mode" and "F" in info.value.message


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
def test_cmyk_becomes_the_same_colours(fmt: str) -> None:
    rgb = scene()
    assert np.abs(picture(encode(rgb.convert("CMYK"), fmt)) - picture(encode(rgb, "PNG"))).mean() <= 4


def test_palette_images_keep_their_colours() -> None:
    paletted = scene().convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    assert np.abs(picture(encode(paletted, "PNG")) - picture(encode(paletted.convert("RGB"), "PNG"))).max() <= 2


@pytest.mark.parametrize(
    "make",
    [
        lambda rgb, mask: Image.merge("RGBA", (*rgb.split(), mask)),
        lambda rgb, mask: Image.merge("LA", (rgb.convert("L"), mask)),
    ],
    ids=["RGBA", "LA"],
)
def test_alpha_is_composited_over_white(make) -> None:
    rgb = scene()
    mask = Image.new("L", rgb.size, 255)
    mask.paste(0, (24, 0, 48, 32))
    got = picture(encode(make(rgb, mask), "PNG"))
    assert (np.abs(got[:, 30:] - BACKGROUND) <= 2).all() and got[:, :20].mean() < 200


@pytest.mark.parametrize("fmt", ["PNG", "GIF"])
def test_a_transparent_palette_colour_is_white(fmt: str) -> None:
    paletted = Image.new("P", (16, 16), 1)
    paletted.putpalette([0, 0, 0, 10, 200, 10] + [0] * 762)
    paletted.paste(0, (0, 0, 8, 16))
    got = picture(encode(paletted, fmt, transparency=0))
    assert (np.abs(got[:, :6] - 255) <= 2).all() and np.abs(got[:, 10:] - (10, 200, 10)).max() <= 8


def test_a_transparent_rgb_colour_is_white() -> None:
    rgb = Image.new("RGB", (16, 16), (10, 20, 30))
    rgb.paste((200, 30, 30), (8, 0, 16, 16))
    got = picture(encode(rgb, "PNG", transparency=(10, 20, 30)))
    assert (np.abs(got[:, :6] - 255) <= 2).all() and np.abs(got[:, 10:] - (200, 30, 30)).max() <= 8


@pytest.mark.parametrize(("fmt", "options"), [("GIF", {}), ("PNG", {}), ("WEBP", {"lossless": True}), ("MPO", {})])
def test_an_image_of_several_frames_is_its_first_frame(fmt: str, options: dict) -> None:
    first, second = Image.new("RGB", (20, 12), (200, 10, 10)), Image.new("RGB", (20, 12), (10, 10, 200))
    data = encode(first, fmt, save_all=True, append_images=[second], **options)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 2
    assert np.abs(picture(data) - (200, 10, 10)).max() <= 8


def test_the_longest_side_is_scaled_down_and_the_result_is_a_jpeg() -> None:
    normalised = normalise_image(encode(scene((300, 120)), "PNG"), 100, MAX_PIXELS)
    assert (normalised.width, normalised.height) == (100, 40)
    assert Image.open(io.BytesIO(normalised.jpeg)).format == "JPEG"


def test_more_pixels_than_the_limit_is_refused_before_decoding() -> None:
    """keylike's max_pixels; Pillow's own bomb limit is met by fixtures/images/decompression_bomb-*.bin."""
    with pytest.raises(ImageRefused) as info:
        normalise_image(encode(scene((300, 120)), "PNG"), MAX_SIDE, 300 * 120 - 1)
    assert info.value.reason == "decompression_bomb" and "36000 pixels" in info.value.message


def test_a_format_pillow_knows_but_keylike_does_not_accept_is_refused_by_name() -> None:
    with pytest.raises(ImageRefused) as info:
        normalise_image(encode(scene(), "PPM"), MAX_SIDE, MAX_PIXELS)
    assert info.value.reason == "not_an_image" and "JPEG" in info.value.message


def _sample(name: str) -> bytes:
    rgb = scene((20, 12))
    makers = {
        "JPEG": lambda: encode(rgb, "JPEG"), "PNG": lambda: encode(rgb, "PNG"), "WEBP": lambda: encode(rgb, "WEBP"),
        "BMP": lambda: encode(rgb, "BMP"), "TIFF": lambda: encode(rgb, "TIFF", compression="tiff_lzw"),
        "GIF": lambda: encode(rgb.convert("P"), "GIF", save_all=True, append_images=[rgb.convert("P").rotate(90)]),
        "PNG16": lambda: encode(Image.fromarray(GRADIENT16[:12, :20]), "PNG"),
        "TIFF16": lambda: encode(Image.fromarray(GRADIENT16[:12, :20]), "TIFF"),
        "CMYK": lambda: encode(rgb.convert("CMYK"), "JPEG"),
        "APNG": lambda: encode(rgb, "PNG", save_all=True, append_images=[rgb.rotate(90)]),
        "PA": lambda: encode(rgb.convert("P"), "PNG", transparency=3),
    }
    return makers[name]()


FUZZ_SAMPLES = {name: _sample(name) for name in
                ("JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF", "PNG16", "TIFF16", "CMYK", "APNG", "PA")}


def _picture_or_named_refusal(data: bytes) -> None:
    try:
        image = model_picture(data, 64, MAX_PIXELS)
    except ImageRefused as exc:
        assert exc.reason in REASONS
    else:
        assert image.mode == "RGB" and max(image.size) <= 64


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(FUZZ_SAMPLES)), data=st.data())
def test_mutated_images_give_a_picture_or_a_named_refusal(name: str, data) -> None:
    mutated = bytearray(FUZZ_SAMPLES[name])
    for _ in range(data.draw(st.integers(1, 8))):
        mutated[data.draw(st.integers(0, len(mutated) - 1))] = data.draw(st.integers(0, 255))
    _picture_or_named_refusal(bytes(mutated[: data.draw(st.integers(1, len(mutated)))]))


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.bin")), ids=lambda p: p.name)
def test_fuzz_cases_found_stay_named_refusals(path: Path) -> None:
    """Inputs the fuzzers found that made Pillow raise outside OSError/ValueError (or past its bomb limit)."""
    with pytest.raises(ImageRefused) as info:
        normalise_image(path.read_bytes(), MAX_SIDE, MAX_PIXELS)
    assert info.value.reason == path.name.split("-")[0]
