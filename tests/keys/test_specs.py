"""Keyway spec tables: every keyway loads with a consistent depth table and its sources."""

import pytest

from keylike.errors import UnknownKeywayError
from keylike.keys import brands, get_spec, keyway_codes, load_specs, source_descriptions


def test_expected_keyways_and_brands() -> None:
    assert keyway_codes() == ["SC1", "SC4", "KW1", "KW10", "Y1", "Y2", "WR3", "M1", "A2"]
    assert brands() == ["Schlage", "Kwikset", "Yale", "Weiser", "Master Lock", "Best"]


@pytest.mark.parametrize("code", keyway_codes())
def test_depth_table_is_consistent(code: str) -> None:
    spec = get_spec(code)
    assert spec.code == code
    assert sorted(spec.root_depths_in) == list(spec.depth_codes)
    roots = [spec.root_depths_in[d] for d in spec.depth_codes]
    # a higher code is a deeper cut: root depth falls by one step per code
    for shallow, deep in zip(roots, roots[1:]):
        assert shallow - deep == pytest.approx(spec.step_in, abs=1e-4)
    assert spec.max_depth > spec.min_depth
    assert roots[0] <= spec.blade_height_in + 1e-9
    assert 1 <= spec.macs <= spec.max_depth - spec.min_depth
    assert spec.reference in ("shoulder", "tip")
    assert spec.bitting_order == ("tip_to_bow" if spec.reference == "tip" else "bow_to_tip")
    assert spec.sources


@pytest.mark.parametrize("code", keyway_codes())
def test_cut_positions_follow_first_cut_and_spacing(code: str) -> None:
    spec = get_spec(code)
    positions = spec.cut_positions_in()
    assert len(positions) == spec.cuts
    assert positions[0] == pytest.approx(spec.first_cut_in)
    assert all(b - a == pytest.approx(spec.spacing_in) for a, b in zip(positions, positions[1:]))


def test_published_figures() -> None:
    sc1, kw1 = get_spec("SC1"), get_spec("KW1")
    assert (sc1.first_cut_in, sc1.spacing_in, sc1.step_in, sc1.macs) == (0.231, 0.1562, 0.015, 7)
    assert (sc1.root_depths_in[0], sc1.root_depths_in[9]) == (0.335, 0.2)
    assert (kw1.first_cut_in, kw1.spacing_in, kw1.step_in, kw1.macs) == (0.247, 0.15, 0.023, 4)
    assert kw1.depth_codes == (1, 2, 3, 4, 5, 6, 7)
    assert get_spec("A2").reference == "tip"


def test_five_and_six_pin_keyways_share_geometry() -> None:
    for five, six in (("SC1", "SC4"), ("KW1", "KW10"), ("Y1", "Y2")):
        a, b = get_spec(five), get_spec(six)
        assert (a.cuts, b.cuts) == (5, 6)
        assert a.root_depths_in == b.root_depths_in and a.spacing_in == b.spacing_in


def test_every_source_name_is_described() -> None:
    described = set(source_descriptions())
    for spec in load_specs().values():
        for source in spec.sources:
            assert source.split()[0] in described, f"{spec.code}: source {source!r} has no description"


def test_unknown_keyway_lists_the_known_ones() -> None:
    with pytest.raises(UnknownKeywayError, match=r"unknown keyway 'ZZ9'; known keyways: SC1, SC4, KW1"):
        get_spec("ZZ9")
