"""Bittings: validation messages, MACS-valid keyspace counts against published figures, uniform sampling."""

import itertools
from collections import Counter

import numpy as np
import pytest

from keylike.errors import InvalidBittingError
from keylike.keys import count_keyspace, get_spec, is_valid_bitting, keyway_codes, sample_bitting, validate_bitting


@pytest.mark.parametrize(
    ("code", "depth_codes", "expected"),
    [
        ("SC1", None, 79_666),
        ("SC4", None, 753_754),
        ("KW1", None, 10_483),
        ("KW1", (1, 2, 3, 4, 5, 6), 6_306),
        ("WR3", None, 62_948),
    ],
)
def test_keyspace_reproduces_published_counts(code: str, depth_codes: tuple[int, ...] | None, expected: int) -> None:
    assert count_keyspace(get_spec(code), depth_codes) == expected


@pytest.mark.parametrize("code", ["SC1", "KW1", "WR3", "M1"])
def test_keyspace_matches_brute_force(code: str) -> None:
    spec = get_spec(code)
    brute = sum(is_valid_bitting(spec, b) for b in itertools.product(spec.depth_codes, repeat=spec.cuts))
    assert count_keyspace(spec) == brute


def test_keyspace_without_macs_limit_is_every_combination() -> None:
    spec = get_spec("Y1")  # MACS 9 = the whole depth range: nothing is excluded
    assert count_keyspace(spec) == len(spec.depth_codes) ** spec.cuts


@pytest.mark.parametrize(
    ("code", "bitting", "message"),
    [
        ("SC1", (1, 2, 3, 4), "bitting 1,2,3,4 on SC1: has 4 cuts, SC1 has 5"),
        ("SC1", (1, 2, 3, 4, 5, 6), "bitting 1,2,3,4,5,6 on SC1: has 6 cuts, SC1 has 5"),
        ("KW1", (1, 2, 8, 4, 5), "bitting 1,2,8,4,5 on KW1: cut 3 depth 8 exceeds spec max 7"),
        ("KW1", (0, 2, 3, 4, 5), "bitting 0,2,3,4,5 on KW1: cut 1 depth 0 is below spec min 1"),
        ("SC1", (0, 8, 3, 4, 5), "bitting 0,8,3,4,5 on SC1: cuts 1-2 differ by 8, over the MACS of 7"),
        ("KW1", (1, 2, 3, 7, 2), "bitting 1,2,3,7,2 on KW1: cuts 4-5 differ by 5, over the MACS of 4"),
        ("SC1", (1, 2, "3", 4, 5), "bitting 1,2,3,4,5 on SC1: cut 3 depth '3' is not an integer"),
        ("SC1", (1, True, 3, 4, 5), "cut 2 depth True is not an integer"),
    ],
)
def test_invalid_bitting_names_the_problem(code: str, bitting: tuple, message: str) -> None:
    spec = get_spec(code)
    with pytest.raises(InvalidBittingError) as info:
        validate_bitting(spec, bitting)
    assert message in str(info.value)
    assert info.value.keyway == code
    assert not is_valid_bitting(spec, bitting)


def test_macs_boundary_is_allowed() -> None:
    spec = get_spec("SC1")
    validate_bitting(spec, (0, 7, 0, 7, 0))
    assert is_valid_bitting(get_spec("KW1"), (1, 5, 1, 5, 1))
    assert not is_valid_bitting(get_spec("KW1"), (1, 6, 1, 5, 1))


@pytest.mark.parametrize("code", keyway_codes())
def test_samples_are_always_valid(code: str) -> None:
    spec = get_spec(code)
    rng = np.random.default_rng(0)
    for _ in range(300):
        bitting = sample_bitting(spec, rng)
        validate_bitting(spec, bitting)
        assert all(isinstance(d, int) for d in bitting)


def test_sampling_is_uniform_over_the_valid_keyspace() -> None:
    spec = get_spec("KW1")
    depths = (1, 2, 3)  # 3 depth codes, MACS 4: every one of the 3**5 = 243 bittings is valid
    rng = np.random.default_rng(7)
    counts = Counter(sample_bitting(spec, rng, depths) for _ in range(24_300))
    assert len(counts) == count_keyspace(spec, depths) == 243
    expected = 24_300 / 243
    chi2 = sum((n - expected) ** 2 / expected for n in counts.values())
    assert chi2 < 330  # chi-squared, 242 degrees of freedom: p ~ 0.0002 at 330


def test_sampling_is_uniform_where_macs_excludes_bittings() -> None:
    spec = get_spec("SC1")
    depths = (0, 1, 8, 9)  # MACS 7 excludes 0-8, 0-9, 1-9 neighbours: a non-trivial valid set
    rng = np.random.default_rng(11)
    valid = [b for b in itertools.product(depths, repeat=5) if is_valid_bitting(spec, b)]
    assert len(valid) == count_keyspace(spec, depths)
    draws = 40 * len(valid)
    counts = Counter(sample_bitting(spec, rng, depths) for _ in range(draws))
    assert set(counts) == set(valid)
    chi2 = sum((counts[b] - 40) ** 2 / 40 for b in valid)
    dof = len(valid) - 1
    assert chi2 < dof + 5 * (2 * dof) ** 0.5


def test_sampling_is_deterministic_for_a_seed() -> None:
    spec = get_spec("SC4")
    first = [sample_bitting(spec, np.random.default_rng(3)) for _ in range(5)]
    second = [sample_bitting(spec, np.random.default_rng(3)) for _ in range(5)]
    assert first == second


def test_problems_lists_every_bad_cut_for_the_validate_stage():
    from keylike.keys.bittings import depth_problems, macs_problems

    spec = get_spec("KW1")
    assert depth_problems(spec, (0, 2, 8, "x", True)) == [
        "cut 1 depth 0 is below spec min 1", "cut 3 depth 8 exceeds spec max 7",
        "cut 4 depth 'x' is not an integer", "cut 5 depth True is not an integer",
    ]
    assert macs_problems(spec, (1, 6, 1, "x", 7)) == [
        "cuts 1-2 differ by 5, over the MACS of 4", "cuts 2-3 differ by 5, over the MACS of 4",
    ]
    assert depth_problems(spec, (1, 2, 3, 4, 5)) == macs_problems(spec, (1, 2, 3, 4, 5)) == []
