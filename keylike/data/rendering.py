"""Draw a photo of a house key from its keyway spec (Pillow + numpy only, deterministic).

The key is built in inches, in *key space*: the shoulder at x = 0, the blade running to +x, the
uncut back edge of the blade at y = 0 and the bitting edge on top (y = blade height). Each cut is
the spec's V cutter (included angle `cutter_angle_deg`, flat `root_flat_in` at the bottom) sunk to
the root depth of its code at its true station, so a clean render can be measured back to the
spec. The bow shape and finish come from the brand, the milling grooves along the blade from the
keyway system, so a person (and a small model at 64 px) can tell keyways apart.

The photo is then made: a background texture (wood, paper, fabric, or `plain`, a uniform green
cutting mat used by measurement tests), rotation, scale, perspective, a soft shadow, lighting,
blur, sensor noise and JPEG compression, each drawn from the generator it is given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from keylike.data.photo import RenderSettings, jpeg_bytes, photograph
from keylike.keys.specs import KeywaySpec

_SUPERSAMPLE = 3
_STEP_IN = 0.001


@dataclass(frozen=True)
class _BrandStyle:
    """How a brand's keys look: bow outline, finish colour and the name stamped on the bow."""

    bow: str
    finish: tuple[int, int, int]
    stamp: str
    bow_width_in: float
    bow_height_in: float


_BRAND_STYLES = {
    "Schlage": _BrandStyle("squircle", (196, 198, 202), "SCHLAGE", 0.82, 0.80),
    "Kwikset": _BrandStyle("round_flat", (214, 172, 72), "KWIKSET", 0.80, 0.82),
    "Yale": _BrandStyle("scalloped", (150, 104, 58), "YALE", 0.76, 0.88),
    "Weiser": _BrandStyle("hexagon", (196, 120, 88), "WEISER", 0.86, 0.76),
    "Master Lock": _BrandStyle("rectangle", (88, 92, 104), "MASTER", 0.62, 0.84),
    "Best": _BrandStyle("bell", (164, 182, 204), "BEST", 0.86, 0.90),
}
_DEFAULT_STYLE = _BrandStyle("squircle", (180, 180, 180), "", 0.82, 0.80)

_GROOVES = {
    "schlage_classic": (0.22, 0.52, 0.74),
    "kwikset_kw1": (0.36, 0.66),
    "yale_standard": (0.18, 0.40, 0.62),
    "weiser_classic": (0.30, 0.56),
    "master_padlock_keycopier": (0.48,),
    "best_sfic_a2": (0.16, 0.34, 0.52, 0.70),
}
"""Keyway milling grooves along the blade face, as shares of the blade height from the back edge."""


@dataclass(frozen=True)
class RenderInfo:
    """Where the key landed in the photo, so a test can measure cuts back from the pixels."""

    px_per_in: float
    """Pixels per inch of key (exact for clean renders; nominal under perspective)."""
    key_to_pixel: tuple[tuple[float, float, float], ...]
    """3x3 homography from key space (inches) to output pixel coordinates (continuous, x right, y down)."""
    key_bounds_in: tuple[float, float, float, float]
    """xmin, ymin, xmax, ymax of the whole key (bow to tip) in key space."""
    background: str
    jpeg_quality: int

    def pixel(self, x_in: float, y_in: float) -> tuple[float, float]:
        """Output pixel coordinates (continuous) of key-space point (x_in, y_in)."""
        h = np.array(self.key_to_pixel)
        u, v, w = h @ np.array([x_in, y_in, 1.0])
        return float(u / w), float(v / w)


@dataclass(frozen=True)
class RenderedKey:
    """A rendered key photo before compression, with its geometry."""

    image: Image.Image
    info: RenderInfo

    def jpeg_bytes(self) -> bytes:
        """The photo as JPEG at the drawn quality."""
        return jpeg_bytes(self.image, self.info.jpeg_quality)


@dataclass(frozen=True)
class _KeyGeometry:
    """The key outline in key space (inches)."""

    blade: list[tuple[float, float]]
    shoulder: list[tuple[float, float]]
    bow: list[tuple[float, float]]
    hole: tuple[float, float, float]
    """Key-ring hole centre x, y and radius."""
    blade_length_in: float
    blade_height_in: float
    bounds: tuple[float, float, float, float]
    """xmin, ymin, xmax, ymax of the whole key."""


def blade_top_in(spec: KeywaySpec, bitting: tuple[int, ...], xs: np.ndarray) -> np.ndarray:
    """Height of the bitting edge above the back edge at each x (inches): the blade cut by every V cutter."""
    top = np.full_like(xs, spec.blade_height_in, dtype=float)
    slope = 1.0 / math.tan(math.radians(spec.cutter_angle_deg / 2))
    for centre, depth in zip(cut_centres_in(spec), bitting, strict=True):
        flank = np.maximum(0.0, np.abs(xs - centre) - spec.root_flat_in / 2)
        top = np.minimum(top, spec.root_depths_in[depth] + flank * slope)
    return top


def blade_length_in(spec: KeywaySpec) -> float:
    """Shoulder to tip (inches): the last cut station plus room for the tip."""
    last = spec.first_cut_in + (spec.cuts - 1) * spec.spacing_in
    return last + (0.12 if spec.reference == "tip" else 0.45 * spec.spacing_in + 0.2)


def cut_centres_in(spec: KeywaySpec) -> list[float]:
    """Key-space x of each cut centre, in bitting order (tip-referenced stations counted from the tip)."""
    if spec.reference == "tip":
        length = blade_length_in(spec)
        return [length - p for p in spec.cut_positions_in()]
    return spec.cut_positions_in()


def _tip_limits(spec: KeywaySpec, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Upper and lower outline of the tip: a taper after the last cut (a small chamfer on tip-stop keys)."""
    height, length = spec.blade_height_in, blade_length_in(spec)
    if spec.reference == "tip":
        upper = np.minimum(height, height - 0.05 + (length - xs) * 1.4)
        lower = np.maximum(0.0, 0.04 - (length - xs))
        return upper, lower
    start = length - 0.2
    upper = np.where(xs <= start, height, height - (xs - start) / 0.2 * 0.58 * height)
    lower = np.maximum(0.0, (xs - (length - 0.07)) / 0.07 * 0.22 * height)
    return upper, lower


def _bow_outline(style: _BrandStyle, cx: float, cy: float) -> list[tuple[float, float]]:
    """The bow's outline around (cx, cy), 180 points, by the brand's shape."""
    a, b = style.bow_width_in / 2, style.bow_height_in / 2
    t = np.linspace(0, 2 * np.pi, 180, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    if style.bow == "squircle":
        x, y = a * np.sign(c) * np.abs(c) ** 0.5, b * np.sign(s) * np.abs(s) ** 0.5
    elif style.bow == "round_flat":
        x, y = np.clip(a * c, -0.8 * a, a), np.clip(b * s, -0.86 * b, 0.86 * b)
    elif style.bow == "scalloped":
        r = 1 + 0.06 * np.cos(8 * t)
        x, y = a * r * c, b * r * s
    elif style.bow == "hexagon":
        corners = np.linspace(0, 2 * np.pi, 7)
        seg = np.floor(t / (np.pi / 3)).astype(int)
        frac = (t - corners[seg]) / (np.pi / 3)
        x = a * ((1 - frac) * np.cos(corners[seg]) + frac * np.cos(corners[seg + 1]))
        y = b * ((1 - frac) * np.sin(corners[seg]) + frac * np.sin(corners[seg + 1]))
    elif style.bow == "rectangle":
        x, y = a * np.sign(c) * np.abs(c) ** 0.2, b * np.sign(s) * np.abs(s) ** 0.2
    else:  # bell: wide at the outer end, narrowing towards the blade
        x, y = a * c, b * s * (0.75 - 0.25 * c)
    return list(zip((cx + x).tolist(), (cy + y).tolist(), strict=True))


def _style(spec: KeywaySpec) -> _BrandStyle:
    return _BRAND_STYLES.get(spec.brand, _DEFAULT_STYLE)


def key_geometry(spec: KeywaySpec, bitting: tuple[int, ...]) -> _KeyGeometry:
    """The outline of the whole key in key space: blade with its cuts and tip, shoulder, the brand's bow."""
    style = _style(spec)
    height, length = spec.blade_height_in, blade_length_in(spec)
    breaks = [c + d for c in cut_centres_in(spec) for d in (-spec.root_flat_in / 2, spec.root_flat_in / 2)]
    xs = np.unique(np.concatenate([np.arange(0.0, length, _STEP_IN), breaks, [length]]))
    xs = xs[(xs >= 0) & (xs <= length)]
    upper, lower = _tip_limits(spec, xs)
    top = np.minimum(blade_top_in(spec, bitting, xs), upper)
    blade = [(-0.02, height)] + list(zip(xs.tolist(), top.tolist(), strict=True))
    blade += list(zip(xs[::-1].tolist(), lower[::-1].tolist(), strict=True)) + [(-0.02, 0.0)]
    shoulder_w, neck_w = 0.07, 0.12
    shoulder = [(-shoulder_w, -0.03), (0.0, -0.03), (0.0, height + 0.06), (-shoulder_w, height + 0.06)]
    cy = height / 2
    neck_half = 0.24
    cx = -shoulder_w - neck_w - style.bow_width_in / 2 + 0.05
    outline = _bow_outline(style, cx, cy)
    bow = [(-shoulder_w + 0.01, cy - neck_half), (-shoulder_w + 0.01, cy + neck_half)] + [
        p for p in outline if p[0] < cx or abs(p[1] - cy) > neck_half
    ]
    bow = sorted(bow, key=lambda p: math.atan2(p[1] - cy, p[0] - cx))
    xs_all = [p[0] for p in outline] + [length]
    ys_all = [p[1] for p in outline] + [-0.03, height + 0.06]
    hole = (cx - style.bow_width_in * 0.22, cy, 0.085)
    return _KeyGeometry(blade, shoulder, bow, hole, length, height,
                        (min(xs_all), min(ys_all), max(xs_all), max(ys_all)))


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _key_layer(
    spec: KeywaySpec, geo: _KeyGeometry, px_per_in: float, margin: int, rng: np.random.Generator
) -> tuple[Image.Image, tuple[tuple[float, ...], ...]]:
    """The key as an RGBA image at `px_per_in`, and the affine key space -> layer pixels."""
    style = _style(spec)
    xmin, ymin, xmax, ymax = geo.bounds
    width = int(math.ceil((xmax - xmin) * px_per_in)) + 2 * margin
    height = int(math.ceil((ymax - ymin) * px_per_in)) + 2 * margin
    k = _SUPERSAMPLE
    to_px = ((px_per_in, 0.0, margin - xmin * px_per_in), (0.0, -px_per_in, margin + ymax * px_per_in), (0.0, 0.0, 1.0))

    def ss(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return [(k * (to_px[0][0] * x + to_px[0][2]), k * (to_px[1][1] * y + to_px[1][2])) for x, y in points]

    alpha = Image.new("L", (width * k, height * k), 0)
    draw = ImageDraw.Draw(alpha)
    for part in (geo.bow, geo.shoulder, geo.blade):
        draw.polygon(ss(part), fill=255)
    hx, hy, hr = geo.hole
    (hcx, hcy), = ss([(hx, hy)])
    draw.ellipse((hcx - hr * px_per_in * k, hcy - hr * px_per_in * k, hcx + hr * px_per_in * k,
                  hcy + hr * px_per_in * k), fill=0)
    blade_mask = Image.new("L", alpha.size, 0)
    ImageDraw.Draw(blade_mask).polygon(ss(geo.blade), fill=255)
    grooves = Image.new("L", alpha.size, 0)
    groove_draw = ImageDraw.Draw(grooves)
    groove_w = max(1.0, 0.035 * geo.blade_height_in * px_per_in * k)
    for share in _GROOVES.get(spec.system, (0.5,)):
        (gx0, gy), (gx1, _) = ss([(0.0, share * geo.blade_height_in), (geo.blade_length_in, 0.0)])
        groove_draw.rectangle((gx0, gy - groove_w, gx1, gy + groove_w), fill=255)
    stamp = Image.new("L", alpha.size, 0)
    if style.stamp:
        font = _font(max(6, int(0.13 * px_per_in * k)))
        (sx, sy), = ss([(hx + style.bow_width_in * 0.42, hy)])
        ImageDraw.Draw(stamp).text((sx, sy), style.stamp, fill=255, font=font, anchor="mm")
        stamp = stamp.rotate(90, center=(sx, sy))

    def down(img: Image.Image) -> np.ndarray:
        return np.asarray(img.reduce(k), dtype=np.float32) / 255.0

    a, blade, groove = down(alpha), down(blade_mask), down(grooves) * down(blade_mask)
    stamped = down(stamp)
    y_in = (to_px[1][2] - np.arange(height, dtype=np.float32)[:, None]) / px_per_in
    # Metal: a soft cylindrical sheen across the key, a light-dependent highlight band, brushed streaks.
    band_at = rng.uniform(0.2, 0.8) * (ymax - ymin) + ymin
    sheen = 0.86 + 0.1 * np.cos((y_in - ymin) / (ymax - ymin) * np.pi * 2)
    sheen += 0.22 * np.exp(-(((y_in - band_at) / 0.06) ** 2)) + 0.03 * rng.standard_normal((height, 1), np.float32)
    # Grooves milled into the blade are darker, the stamped brand name a little darker, the rim catches light.
    blurred = Image.fromarray((a * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(max(1.0, 0.012 * px_per_in)))
    edge = np.clip(a - np.asarray(blurred, dtype=np.float32) / 255.0, 0, 1)
    shade = sheen * (1 - 0.4 * groove) * (1 - 0.3 * stamped * (1 - blade)) + 0.9 * edge
    tint = rng.uniform(0.94, 1.06)
    rgb = np.clip(np.array(style.finish, dtype=np.float32) * tint * shade[..., None], 0, 255)
    layer = np.dstack([rgb, a * 255]).astype(np.uint8)
    return Image.fromarray(layer, "RGBA"), to_px


def _homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """3x3 matrix mapping the 4 points src to dst."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(src, dst, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    coeffs = np.linalg.solve(np.array(rows, dtype=float), np.array(rhs, dtype=float))
    return np.append(coeffs, 1.0).reshape(3, 3)


def _place(
    layer: Image.Image, angle: float, rng: np.random.Generator, perspective: float, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rotate the key layer, move it within the frame and tilt the plane: RGBA float array and homography."""
    lw, lh = layer.size
    c, s = abs(math.cos(angle)), abs(math.sin(angle))
    centre = np.array([size / 2 + rng.uniform(-0.4, 0.4) * max(0.0, size - (lw * c + lh * s)),
                       size / 2 + rng.uniform(-0.4, 0.4) * max(0.0, size - (lw * s + lh * c))])
    corners = np.array([[0, 0], [lw, 0], [lw, lh], [0, lh]], dtype=float)
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    placed = (corners - [lw / 2, lh / 2]) @ rot.T + centre
    if angle == 0:
        placed = np.round(placed)  # whole-pixel moves keep clean renders exact
    placed += rng.uniform(-perspective, perspective, size=(4, 2)) * size
    to_layer = _homography(placed, corners)
    coeffs = tuple((to_layer / to_layer[2, 2]).flatten()[:8])
    moved = layer.transform((size, size), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC)
    return np.asarray(moved, dtype=np.float32), _homography(corners, placed)


def render_key(
    spec: KeywaySpec, bitting: tuple[int, ...], rng: np.random.Generator, settings: RenderSettings, size: int
) -> RenderedKey:
    """Render one photo of the key `bitting` cut on `spec`, size x size pixels, drawing variation from `rng`."""
    geo = key_geometry(spec, bitting)
    xmin, ymin, xmax, ymax = geo.bounds
    angle = math.radians(rng.uniform(-settings.rotation_deg, settings.rotation_deg))
    c, s = abs(math.cos(angle)), abs(math.sin(angle))
    key_w, key_h = xmax - xmin, ymax - ymin
    fill = rng.uniform(settings.scale_min, settings.scale_max)
    room = (fill - 2 * settings.perspective) * size  # perspective moves corners by up to `perspective`
    px_per_in = room / max(key_w * c + key_h * s, key_w * s + key_h * c)
    layer, to_px = _key_layer(spec, geo, px_per_in, 2, rng)
    key, to_out = _place(layer, angle, rng, settings.perspective, size)
    image, kind = photograph(key, rng, settings, size)
    info = RenderInfo(
        px_per_in=px_per_in,
        key_to_pixel=tuple(tuple(float(v) for v in row) for row in to_out @ np.array(to_px)),
        key_bounds_in=geo.bounds,
        background=kind,
        jpeg_quality=int(rng.integers(settings.jpeg_quality_min, settings.jpeg_quality_max + 1)),
    )
    return RenderedKey(image, info)
