"""Check and decode one uploaded photo, with an HTTP status and a message for every way it can be bad."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from keylike.config import check
from keylike.data.images import ImageRefused, model_picture
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
    max_side: int = 1024
    """Longest side after normalising; the ingest.max_image_side the model's training photos had."""

    def __post_init__(self) -> None:
        check(self.max_bytes > 0, "max_bytes", f"must be > 0, got {self.max_bytes}")
        check(self.max_pixels > 0, "max_pixels", f"must be > 0, got {self.max_pixels}")
        check(self.max_side >= 32, "max_side", f"must be >= 32, got {self.max_side}")


def check_content_type(content_type: str | None) -> None:
    """Refuse (415) an upload whose declared type is not an image; a missing type is allowed."""
    if content_type and not content_type.lower().startswith(ACCEPTED_CONTENT_TYPES):
        raise BadImageError(
            415, "unsupported_content_type", f"upload is {content_type!r}; send a photo (image/jpeg, image/png, ...)"
        )


_STATUS = {"decompression_bomb": (413, "too_many_pixels"), "truncated_image": (400, "corrupt_image")}
"""Refusals of keylike.data.images that the API names its own way (its codes before that module existed: the
web app's); every other reason is a 400 of that name."""


def decode_image(data: bytes, limits: ImageLimits) -> Image.Image:
    """The model's picture of upload `data` (keylike.data.images: the rules ingest applies to training photos),
    or BadImageError (empty, too big, not an image, truncated, corrupt, unsupported mode)."""
    if not data:
        raise BadImageError(400, "empty_upload", "the upload is empty (0 bytes); attach the photo")
    if len(data) > limits.max_bytes:
        raise BadImageError(
            413, "too_many_bytes", f"the upload has {len(data)} bytes, over the limit of {limits.max_bytes}"
        )
    try:
        return model_picture(data, limits.max_side, limits.max_pixels)
    except ImageRefused as exc:
        status, code = _STATUS.get(exc.reason, (400, exc.reason))
        raise BadImageError(status, code, exc.message) from exc
