"""The key renderer: clean renders measure back to the spec, variation is seeded, brands look different."""

import math
from itertools import combinations

import numpy as np
import pytest

from keylike.data.rendering import RenderSettings, blade_top_in, cut_centres_in, render_key
from keylike.errors import ConfigError
from keylike.keys import get_spec, keyway_codes, sample_bitting
from keylike.keys.specs import KeywaySpec

SIZE = 768


def _geometric_macs(spec: KeywaySpec) -> int:
    """The largest adjacent difference at which the cutter's flank still leaves the neighbour's root intact."""
    reach = (spec.spacing_in - spec.root_flat_in / 2) / math.tan(math.radians(spec.cutter_angle_deg / 2))
    return min(spec.macs, int(reach / spec.step_in + 1e-9))


def _test_bittings(spec: KeywaySpec) -> list[tuple[int, ...]]:
    """Both extremes of the depth range at the largest adjacent step, plus sampled bittings."""
    m, lo, hi = _geometric_macs(spec), spec.min_depth, spec.max_depth
    bittings = [tuple(lo + m * (i % 2) for i in range(spec.cuts)), tuple(hi - m * (i % 2) for i in range(spec.cuts))]
    rng = np.random.default_rng(1)
    while len(bittings) < 5:
        bitting = sample_bitting(spec, rng)
        if all(abs(a - b) <= m for a, b in zip(bitting, bitting[1:])):
            bittings.append(bitting)
    return bittings


def _column_height_px(image: np.ndarray, column: int) -> float:
    """Length in pixels of the key across one pixel column, with the partly covered edge pixels as fractions."""
    background = image[0, 0]
    distance = np.linalg.norm(image[:, column] - background, axis=1)
    rows = np.nonzero(distance > 8)[0]
    top, bottom = rows.min(), rows.max()
    assert np.all(distance[top:bottom + 1] > 8), "the blade is not one solid run in this column"
    top_cover = min(1.0, distance[top] / distance[top + 1])
    bottom_cover = min(1.0, distance[bottom] / distance[bottom - 1])
    return bottom - top - 1 + top_cover + bottom_cover


def _measure_roots(spec: KeywaySpec, bitting: tuple[int, ...]) -> list[float]:
    """Render a clean key and read the height of the blade at each cut centre, in inches."""
    rendered = render_key(spec, bitting, np.random.default_rng(0), RenderSettings.clean(), SIZE)
    pixels = np.asarray(rendered.image, dtype=float)
    roots = []
    for centre in cut_centres_in(spec):
        x, _ = rendered.info.pixel(centre, 0.0)
        roots.append(_column_height_px(pixels, int(x)) / rendered.info.px_per_in)
    return roots


@pytest.mark.parametrize("code", keyway_codes())
def test_clean_render_measures_back_to_the_spec_root_depths(code: str) -> None:
    spec = get_spec(code)
    for bitting in _test_bittings(spec):
        measured = _measure_roots(spec, bitting)
        for position, (depth, root) in enumerate(zip(bitting, measured, strict=True), start=1):
            error = abs(root - spec.root_depths_in[depth]) / spec.step_in
            spec_root = spec.root_depths_in[depth]
            assert error < 1 / 3, f"{code} {bitting} cut {position}: measured {root:.4f} in, spec {spec_root}"


def test_cutter_flank_lowers_a_neighbour_beyond_the_geometric_limit() -> None:
    """Yale's table allows MACS 9, but a 90 degree cutter 9 steps deep reaches the neighbouring root:
    the renderer draws the cutter as it is, so the neighbour's measured root is the flank's height."""
    spec = get_spec("Y1")
    assert _geometric_macs(spec) < spec.macs
    bitting = (0, 9, 0, 9, 0)
    flank = blade_top_in(spec, bitting, np.array(cut_centres_in(spec)))
    measured = _measure_roots(spec, bitting)
    assert flank[0] < spec.root_depths_in[0] - spec.step_in
    assert np.allclose(measured, flank, atol=spec.step_in / 3)


def test_blade_top_has_flat_roots_and_cutter_angle_flanks() -> None:
    spec = get_spec("SC1")
    bitting = (9, 0, 0, 0, 0)
    centre = cut_centres_in(spec)[0]
    half_flat = spec.root_flat_in / 2
    xs = np.array([centre, centre + half_flat * 0.9, centre + half_flat + 0.05])
    top = blade_top_in(spec, bitting, xs)
    assert top[0] == top[1] == spec.root_depths_in[9]
    slope = 1 / math.tan(math.radians(spec.cutter_angle_deg / 2))
    assert top[2] == pytest.approx(spec.root_depths_in[9] + 0.05 * slope)


def test_same_seed_same_bytes_and_other_seeds_differ() -> None:
    spec = get_spec("KW1")
    first = render_key(spec, (1, 2, 3, 4, 5), np.random.default_rng([5, 1]), RenderSettings(), 128).jpeg_bytes()
    again = render_key(spec, (1, 2, 3, 4, 5), np.random.default_rng([5, 1]), RenderSettings(), 128).jpeg_bytes()
    other = render_key(spec, (1, 2, 3, 4, 5), np.random.default_rng([5, 2]), RenderSettings(), 128).jpeg_bytes()
    assert first == again
    assert first != other


@pytest.mark.parametrize("seed", range(6))
def test_key_fills_the_frame_and_stays_inside_it(seed: int) -> None:
    spec = get_spec(keyway_codes()[seed % 9])
    rng = np.random.default_rng(seed)
    rendered = render_key(spec, sample_bitting(spec, rng), rng, RenderSettings(), 192)
    xmin, ymin, xmax, ymax = rendered.info.key_bounds_in
    corners = np.array([rendered.info.pixel(x, y) for x in (xmin, xmax) for y in (ymin, ymax)])
    assert np.all((corners >= 0) & (corners <= 192)), corners
    spans = corners.max(axis=0) - corners.min(axis=0)
    assert spans.max() > 0.65 * 192
    assert rendered.image.size == (192, 192) and rendered.image.mode == "RGB"


def _key_pixels(code: str) -> tuple[np.ndarray, np.ndarray]:
    """The mask of key pixels in a clean render of `code` and their mean colour."""
    spec = get_spec(code)
    bitting = tuple([spec.min_depth] * spec.cuts)
    rendered = render_key(spec, bitting, np.random.default_rng(0), RenderSettings.clean(), 128)
    pixels = np.asarray(rendered.image, dtype=float)
    mask = np.linalg.norm(pixels - pixels[0, 0], axis=2) > 30
    return mask, pixels[mask].mean(axis=0)


def test_brands_differ_in_finish_and_bow_shape() -> None:
    brand_keyways = {get_spec(code).brand: code for code in keyway_codes()}
    looks = {brand: _key_pixels(code) for brand, code in brand_keyways.items()}
    for a, b in combinations(looks, 2):
        (mask_a, colour_a), (mask_b, colour_b) = looks[a], looks[b]
        colour_gap = np.linalg.norm(colour_a - colour_b)
        iou = (mask_a & mask_b).sum() / (mask_a | mask_b).sum()
        assert colour_gap > 25 or iou < 0.8, f"{a} and {b} look alike (colour gap {colour_gap:.0f}, IoU {iou:.2f})"
        assert colour_gap > 12, f"{a} and {b} have the same finish"


def test_five_and_six_pin_keyways_differ_in_blade_length() -> None:
    assert cut_centres_in(get_spec("SC4"))[-1] > cut_centres_in(get_spec("SC1"))[-1] + 0.1
    assert cut_centres_in(get_spec("KW10"))[-1] > cut_centres_in(get_spec("KW1"))[-1] + 0.1


def test_tip_referenced_cuts_count_from_the_tip() -> None:
    spec = get_spec("A2")
    centres = cut_centres_in(spec)
    assert centres == sorted(centres, reverse=True)  # bitting order tip to bow
    assert centres[0] > centres[-1] > 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"backgrounds": ("marble",)}, "ingest.render.backgrounds has unknown kinds ['marble']"),
        ({"backgrounds": ()}, "ingest.render.backgrounds must name at least one background"),
        ({"scale_min": 0.9, "scale_max": 0.8}, "ingest.render.scale_min and scale_max must satisfy"),
        ({"perspective": 0.5}, "ingest.render.perspective must be in [0, 0.1], got 0.5"),
        ({"jpeg_quality_min": 0}, "ingest.render.jpeg_quality_min and jpeg_quality_max must satisfy"),
        ({"noise_max": -1.0}, "ingest.render.noise_max must be >= 0, got -1.0"),
    ],
)
def test_settings_out_of_range_name_the_key(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        RenderSettings(**overrides)
    assert message in str(info.value)
