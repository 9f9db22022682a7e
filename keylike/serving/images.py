"""Check and decode one uploaded photo, with an HTTP status and a message for every way it can be bad."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from keylike.config import check
from keylike.data.ingest import ACCEPTED_FORMATS
from keylike.errors import KeylikeError

ACCEPTED_CONTENT_TYPES = ("image/", "application/octet-stream")
"""Content types of the upload that are decoded; anything else is refused with 415."""


class BadImageError(KeylikeError):
    """An upload that is not a usable photo; `status` is the HTTP status, `code` a stable error name."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ImageLimits:
    """What an upload may weigh."""

    max_bytes: int = 10 * 1024 * 1024
    """Largest upload in bytes (413 above)."""
    max_pixels: int = 40_000_000
    """Largest width x height (413 above), checked before the pixels are decoded."""

    def __post_init__(self) -> None:
        check(self.max_bytes > 0, "max_bytes", f"must be > 0, got {self.max_bytes}")
        check(self.max_pixels > 0, "max_pixels", f"must be > 0, got {self.max_pixels}")


def check_content_type(content_type: str | None) -> None:
    """Refuse (415) an upload whose declared type is not an image; a missing type is allowed."""
    if content_type and not content_type.lower().startswith(ACCEPTED_CONTENT_TYPES):
        raise BadImageError(
            415, "unsupported_content_type", f"upload is {content_type!r}; send a photo (image/jpeg, image/png, ...)"
        )


def decode_image(data: bytes, limits: ImageLimits) -> Image.Image:
    """Decode `data` into an RGB image, or raise BadImageError (empty, too big, not an image, truncated)."""
    if not data:
        raise BadImageError(400, "empty_upload", "the upload is empty (0 bytes); attach the photo")
    if len(data) > limits.max_bytes:
        raise BadImageError(
            413, "too_many_bytes", f"the upload has {len(data)} bytes, over the limit of {limits.max_bytes}"
        )
    try:
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
            width, height = image.size
            if width * height > limits.max_pixels:
                raise BadImageError(
                    413,
                    "too_many_pixels",
                    f"the image is {width}x{height} = {width * height} pixels, over the limit of {limits.max_pixels}",
                )
            image.load()
            return image.convert("RGB")
    except UnidentifiedImageError as exc:
        raise BadImageError(400, "not_an_image", f"the upload is not a {'/'.join(ACCEPTED_FORMATS)} image") from exc
    except Image.DecompressionBombError as exc:
        raise BadImageError(413, "too_many_pixels", str(exc)) from exc
    except BadImageError:
        raise
    except Exception as exc:  # untrusted bytes in C decoders: any failure is a bad photo, never a 500
        raise BadImageError(400, "corrupt_image", f"the image cannot be decoded (truncated or corrupt): {exc}") from exc
