"""One way from image bytes to the model's picture, for ingest, validation, `keylike predict` and `keylike serve`.

`normalise_image(data, max_side, max_pixels)` turns untrusted bytes into the JPEG ingest stores, and
`model_picture` decodes that JPEG as training reads an ingested image, so a photo reaches the model the
same way in training and in production. The rules, in order:
- **Formats**: ACCEPTED_FORMATS only; anything else is refused as `not_an_image`.
- **Size first**: width x height over `max_pixels` is refused (`decompression_bomb`) before any pixel is decoded.
- **Frames**: the first frame is the picture (an animated GIF, PNG or WebP: its first frame; a multi-page
  TIFF: its first page; a phone's multi-picture JPEG (MPO): its main photo).
- **Orientation**: the EXIF orientation is applied, so an EXIF-rotated photo and the same photo rotated in
  its pixels give the same picture.
- **Bit depth**: 16-bit grayscale (`I;16` modes) and 32-bit integer images (`I`, read as 16-bit values,
  clipped to 0-65535) are scaled to 8 bits, never clipped to white; 32-bit float images (`F`) have no
  agreed range and are refused as `unsupported_mode`.
- **Colour**: transparency (alpha, or a transparent colour) is composited over white (BACKGROUND);
  palette, 1-bit, grayscale, CMYK, YCbCr and LAB become RGB with Pillow's conversions (ICC profiles are
  not applied).
- **Normalisation**: the longest side is scaled down to `max_side` (a JPEG decoded at a reduced scale
  where it can, then LANCZOS), and the result is re-encoded as JPEG q95 without metadata.
Every decoder failure is an ImageRefused with a reason: `not_an_image`, `decompression_bomb`,
`truncated_image`, `corrupt_image` or `unsupported_mode`; nothing else escapes.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from keylike.errors import RefusedInputError

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")
"""Image formats keylike decodes (a multi-picture JPEG opens as JPEG's MPO variant); anything else is `not_an_image`."""
JPEG_QUALITY = 95
BACKGROUND = (255, 255, 255)
"""What transparent pixels become."""
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")
_RGB_CONVERTIBLE = ("1", "L", "P", "RGB", "RGBX", "CMYK", "YCbCr", "LAB", "HSV")
_INTEGER_MODES = ("I", "I;16", "I;16L", "I;16B", "I;16N")


class ImageRefused(RefusedInputError):
    """Image bytes keylike will not take in; `reason` is the stable name (see the module doc)."""


@dataclass(frozen=True)
class NormalisedImage:
    """A re-encoded image: JPEG bytes and size."""

    jpeg: bytes
    width: int
    height: int


def _failure(exc: Exception, what: str) -> ImageRefused:
    truncated = isinstance(exc, EOFError) or "truncated" in str(exc).lower()
    reason = "truncated_image" if truncated else "corrupt_image"
    return ImageRefused(reason, f"the image cannot be decoded ({what}): {exc}"[:300])


def open_image(data: bytes, max_pixels: int) -> Image.Image:
    """`data` opened lazily (header read, pixels not yet decoded), its size checked; raises ImageRefused."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except Image.DecompressionBombError as exc:
        raise ImageRefused("decompression_bomb", str(exc)) from exc
    except UnidentifiedImageError as exc:
        raise ImageRefused("not_an_image", f"not a {'/'.join(ACCEPTED_FORMATS)} image") from exc
    except Exception as exc:  # untrusted bytes in C decoders: any failure is a bad image, never a crash
        raise _failure(exc, "its header") from exc
    width, height = image.size
    if width * height > max_pixels:
        raise ImageRefused("decompression_bomb",
                           f"{width}x{height} = {width * height} pixels, over the limit of {max_pixels}")
    return image


def _to_rgb(image: Image.Image) -> Image.Image:
    """`image` (orientation applied) as 8-bit RGB: bit depth scaled, transparency over BACKGROUND."""
    if image.mode in _INTEGER_MODES:
        values = np.clip(np.asarray(image).astype(np.int64), 0, 65535)
        image = Image.fromarray(((values * 255 + 32767) // 65535).astype(np.uint8), "L")
    if image.mode in _ALPHA_MODES or (image.mode in _RGB_CONVERTIBLE and "transparency" in image.info):
        rgba = image.convert("RGBA")
        image = Image.new("RGB", rgba.size, BACKGROUND)
        image.paste(rgba, mask=rgba.getchannel("A"))
    if image.mode not in _RGB_CONVERTIBLE:
        raise ImageRefused("unsupported_mode",
                           f"pixel mode {image.mode} has no agreed 8-bit picture; save the photo with 8 or 16 bits")
    return image if image.mode == "RGB" else image.convert("RGB")


def normalise_image(data: bytes, max_side: int, max_pixels: int) -> NormalisedImage:
    """Decode untrusted image bytes by the module's rules and re-encode them as JPEG; raises ImageRefused."""
    image = open_image(data, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if image.format in ("JPEG", "MPO"):
                image.draft("RGB", (max_side, max_side))
            image.load()
            ImageOps.exif_transpose(image, in_place=True)
            image = _to_rgb(image)
            if max(image.size) > max_side:
                image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    except ImageRefused:
        raise
    except Exception as exc:  # as in open_image: any decoder failure is a named refusal
        raise _failure(exc, "its pixels") from exc
    return NormalisedImage(buffer.getvalue(), image.width, image.height)


def read_picture(jpeg: bytes) -> Image.Image:
    """A normalised (ingested) JPEG as the RGB picture the model is given, as training reads it."""
    with Image.open(io.BytesIO(jpeg)) as image:
        return image.convert("RGB")


def model_picture(data: bytes, max_side: int, max_pixels: int) -> Image.Image:
    """The picture the model sees for image bytes `data`: normalised as ingest stores it, then read back."""
    return read_picture(normalise_image(data, max_side, max_pixels).jpeg)
