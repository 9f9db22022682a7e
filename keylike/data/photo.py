"""The photograph around a subject: background textures, shadow, lighting, camera, and photos with no key.

Shared by key renders (`keylike.data.rendering`) and the no-key photos the model must learn to refuse:
both draw their variation from the generator they are given, so a seed gives byte-identical photos.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from keylike.config import check

BACKGROUNDS = ("wood", "paper", "fabric", "plain")
"""Background kinds; `plain` is a uniform green cutting mat (for measuring clean renders)."""

_PLAIN_RGB = (52, 128, 84)
REFERENCE_SIDE = 768
"""Blur and shadow sizes are given in pixels at this side and scaled to the output size."""


@dataclass(frozen=True)
class RenderSettings:
    """Photographic variation of synthetic key photos (params: `ingest.render`)."""

    backgrounds: tuple[str, ...] = ("wood", "paper", "fabric")
    """Background kinds to draw from, uniformly: wood, paper, fabric, plain."""
    rotation_deg: float = 12.0
    """The key is rotated by a uniform angle in [-rotation_deg, rotation_deg]."""
    scale_min: float = 0.80
    """Smallest share of the frame the key spans (its rotated bounding box)."""
    scale_max: float = 0.95
    """Largest share of the frame the key spans."""
    perspective: float = 0.03
    """Largest shift of each corner of the key plane, as a share of the image side."""
    shadow: float = 0.5
    """Largest darkness of the key's cast shadow (0 = no shadow)."""
    lighting: float = 0.35
    """Strength of the uneven lighting (brightness gradient and colour temperature; 0 = flat)."""
    blur_max: float = 1.2
    """Largest Gaussian blur radius in pixels at 768 px (scaled with the image size)."""
    noise_max: float = 6.0
    """Largest standard deviation of the sensor noise, in 8-bit levels."""
    jpeg_quality_min: int = 70
    """Lowest JPEG quality drawn."""
    jpeg_quality_max: int = 95
    """Highest JPEG quality drawn."""

    def __post_init__(self) -> None:
        check(len(self.backgrounds) > 0, "ingest.render.backgrounds", "must name at least one background")
        unknown = sorted(set(self.backgrounds) - set(BACKGROUNDS))
        check(not unknown, "ingest.render.backgrounds", f"has unknown kinds {unknown}; known: {list(BACKGROUNDS)}")
        check(0 <= self.rotation_deg <= 180, "ingest.render.rotation_deg",
              f"must be in [0, 180], got {self.rotation_deg}")
        check(0.3 <= self.scale_min <= self.scale_max <= 1.0, "ingest.render.scale_min",
              f"and scale_max must satisfy 0.3 <= scale_min <= scale_max <= 1, got {self.scale_min}, {self.scale_max}")
        check(0 <= self.perspective <= 0.1, "ingest.render.perspective", f"must be in [0, 0.1], got {self.perspective}")
        check(0 <= self.shadow <= 1, "ingest.render.shadow", f"must be in [0, 1], got {self.shadow}")
        check(0 <= self.lighting <= 1, "ingest.render.lighting", f"must be in [0, 1], got {self.lighting}")
        check(self.blur_max >= 0, "ingest.render.blur_max", f"must be >= 0, got {self.blur_max}")
        check(self.noise_max >= 0, "ingest.render.noise_max", f"must be >= 0, got {self.noise_max}")
        check(1 <= self.jpeg_quality_min <= self.jpeg_quality_max <= 100, "ingest.render.jpeg_quality_min",
              f"and jpeg_quality_max must satisfy 1 <= min <= max <= 100, got {self.jpeg_quality_min}, "
              f"{self.jpeg_quality_max}")

    @classmethod
    def clean(cls) -> RenderSettings:
        """No variation: plain mat, no rotation, perspective, shadow, lighting, blur or noise; JPEG q100."""
        return cls(backgrounds=("plain",), rotation_deg=0.0, scale_min=0.9, scale_max=0.9, perspective=0.0,
                   shadow=0.0, lighting=0.0, blur_max=0.0, noise_max=0.0, jpeg_quality_min=100,
                   jpeg_quality_max=100)



def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Smooth random field in [0, 1] of shape (size, size): bicubic upsampling of a coarse grid."""
    coarse = (rng.random((cells, cells)) * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(coarse).resize((size, size), Image.Resampling.BICUBIC), dtype=np.float32) / 255


def background(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """An RGB float32 texture of shape (size, size, 3)."""
    yy = (np.arange(size, dtype=np.float32) / size)[:, None]
    xx = (np.arange(size, dtype=np.float32) / size)[None, :]
    if kind == "plain":
        return np.broadcast_to(np.array(_PLAIN_RGB, dtype=np.float32), (size, size, 3)).copy()
    if kind == "wood":
        base = np.array([rng.uniform(120, 190), rng.uniform(75, 120), rng.uniform(35, 70)], dtype=np.float32)
        angle = rng.uniform(0, np.pi)
        across = -xx * np.sin(angle) + yy * np.cos(angle)
        warp = _smooth_noise(rng, size, 4) * rng.uniform(0.5, 1.5)
        grain = np.sin((across * rng.uniform(12, 30) + warp) * 2 * np.pi)
        streaks = rng.standard_normal(1024, dtype=np.float32)[(((across + 2) * 300) % 1024).astype(int)]
        value = 1 + 0.1 * grain + 0.04 * streaks + 0.15 * (_smooth_noise(rng, size, 3) - 0.5)
        return base * value[..., None]
    if kind == "paper":
        base = rng.uniform(225, 250) - np.array([0, 2, rng.uniform(5, 20)], dtype=np.float32)
        value = 1 + 0.02 * (_smooth_noise(rng, size, 12) - 0.5) + 0.012 * rng.standard_normal((size, size), np.float32)
        img = base * value[..., None]
        if rng.random() < 0.5:  # ruled paper
            spacing = rng.uniform(0.05, 0.08)
            lines = np.abs(((yy[:, 0] + rng.random()) % spacing) / spacing - 0.5) > 0.485
            img[lines] = img[lines] * np.array([0.75, 0.82, 0.98], dtype=np.float32)
        return img
    grey = rng.uniform(60, 190)
    base = grey + 0.45 * (np.array(rng.uniform(40, 200, size=3), dtype=np.float32) - grey)
    weave = rng.uniform(90, 160)
    warp = np.sin(xx * weave * np.pi) * np.sin(yy * weave * np.pi)
    noise = 0.03 * rng.standard_normal((size, size), np.float32)
    value = 1 + 0.1 * warp + 0.1 * (_smooth_noise(rng, size, 6) - 0.5) + noise
    return base * value[..., None]



def cast_shadow(photo: np.ndarray, alpha: np.ndarray, rng: np.random.Generator, strength: float, scale: float) -> None:
    """Darken `photo` in place under a soft, offset copy of the key's silhouette."""
    light = rng.uniform(0, 2 * np.pi)
    offset = rng.uniform(4, 14) * scale
    shadow = Image.fromarray((alpha * 255).astype(np.uint8)).transform(
        alpha.shape[::-1], Image.Transform.AFFINE, (1, 0, -offset * math.cos(light), 0, 1, -offset * math.sin(light)))
    shadow = shadow.filter(ImageFilter.GaussianBlur(rng.uniform(3, 10) * scale))
    darkness = rng.uniform(0.3, 1.0) * strength
    photo *= 1 - darkness * (np.asarray(shadow, dtype=np.float32)[..., None] / 255.0)


def light(photo: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Uneven lighting: a brightness gradient, vignette, colour temperature and exposure."""
    size = photo.shape[0]
    yy = (np.arange(size, dtype=np.float32) / size - 0.5)[:, None]
    xx = (np.arange(size, dtype=np.float32) / size - 0.5)[None, :]
    direction = rng.uniform(0, 2 * np.pi)
    gradient = 1 + strength * rng.uniform(0.3, 1.0) * (xx * np.cos(direction) + yy * np.sin(direction))
    vignette = 1 - strength * 0.5 * (xx**2 + yy**2)
    warmth = strength * rng.uniform(-0.12, 0.12)
    tint = np.array([1 + warmth, 1.0, 1 - warmth], dtype=np.float32)
    return photo * (gradient * vignette)[..., None] * tint * rng.uniform(1 - 0.3 * strength, 1.05)


def camera(photo: np.ndarray, rng: np.random.Generator, settings: RenderSettings, scale: float) -> Image.Image:
    """Focus blur and sensor noise."""
    image = Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8), "RGB")
    if settings.blur_max > 0:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0, settings.blur_max) * scale))
    if settings.noise_max > 0:
        sigma = np.float32(rng.uniform(0, settings.noise_max))
        noisy = np.asarray(image, dtype=np.float32) + sigma * rng.standard_normal(photo.shape, np.float32) + 0.5
        image = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "RGB")
    return image



def jpeg_bytes(image: Image.Image, quality: int) -> bytes:
    """`image` encoded as JPEG at `quality`."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


@dataclass(frozen=True)
class RenderedScene:
    """A rendered photo with no key in it (a background, maybe other objects)."""

    image: Image.Image
    jpeg_quality: int

    def jpeg_bytes(self) -> bytes:
        """The photo as JPEG at the drawn quality."""
        return jpeg_bytes(self.image, self.jpeg_quality)


_OBJECT_COLOURS = ((196, 198, 202), (214, 172, 72), (150, 104, 58), (40, 40, 48), (180, 40, 40), (30, 80, 170))


def _objects_layer(rng: np.random.Generator, size: int) -> np.ndarray:
    """RGBA float layer with 0-3 everyday objects that are not keys: coins, a pen, a ring."""
    k = 3
    layer = Image.new("RGBA", (size * k, size * k), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for _ in range(int(rng.integers(0, 4))):
        colour = tuple(int(c * rng.uniform(0.85, 1.1)) for c in _OBJECT_COLOURS[int(rng.integers(len(_OBJECT_COLOURS)))])
        cx, cy = rng.uniform(0.15, 0.85, size=2) * size * k
        kind = int(rng.integers(3))
        if kind == 0:  # coin
            r = rng.uniform(0.06, 0.14) * size * k
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*colour, 255))
            draw.ellipse((cx - 0.8 * r, cy - 0.8 * r, cx + 0.8 * r, cy + 0.8 * r), outline=(*(c // 2 for c in colour), 255),
                         width=max(1, int(0.05 * r)))
        elif kind == 1:  # pen
            length, width, angle = rng.uniform(0.4, 0.8) * size * k, rng.uniform(0.03, 0.05) * size * k, rng.uniform(0, math.pi)
            dx, dy = math.cos(angle) * length / 2, math.sin(angle) * length / 2
            draw.line((cx - dx, cy - dy, cx + dx, cy + dy), fill=(*colour, 255), width=int(width))
        else:  # ring
            r = rng.uniform(0.05, 0.1) * size * k
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(*colour, 255), width=max(2, int(0.25 * r)))
    return np.asarray(layer.reduce(k), dtype=np.float32)


def photograph(subject: np.ndarray, rng: np.random.Generator, settings: RenderSettings, size: int) -> tuple[Image.Image, str]:
    """Photograph an RGBA float layer (size x size): on a drawn background, with its shadow, lighting and
    camera; returns the photo and the background kind."""
    alpha = subject[..., 3:] / 255.0
    kind = str(rng.choice(settings.backgrounds))
    photo = background(kind, size, rng)
    scale = size / REFERENCE_SIDE
    if settings.shadow > 0:
        cast_shadow(photo, alpha[..., 0], rng, settings.shadow, scale)
    photo = photo * (1 - alpha) + subject[..., :3] * alpha
    if settings.lighting > 0:
        photo = light(photo, rng, settings.lighting)
    return camera(photo, rng, settings, scale), kind


def render_no_key(rng: np.random.Generator, settings: RenderSettings, size: int) -> RenderedScene:
    """A size x size photo without a key: a background, 0-3 other objects, shadow, lighting and camera."""
    image, _ = photograph(_objects_layer(rng, size), rng, settings, size)
    return RenderedScene(image, int(rng.integers(settings.jpeg_quality_min, settings.jpeg_quality_max + 1)))
