"""Bittings: validation against a keyway, MACS-valid keyspace counts, and uniform sampling."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from keylike.errors import InvalidBittingError
from keylike.keys.specs import KeywaySpec


def _is_depth(depth: object) -> bool:
    return not isinstance(depth, bool) and isinstance(depth, (int, np.integer))


def depth_problems(spec: KeywaySpec, bitting: Sequence[object]) -> list[str]:
    """Each cut whose depth is not an integer in the keyway's depth range, in cut order."""
    problems = []
    for position, depth in enumerate(bitting, start=1):
        if not _is_depth(depth):
            problems.append(f"cut {position} depth {depth!r} is not an integer")
        elif depth < spec.min_depth:
            problems.append(f"cut {position} depth {depth} is below spec min {spec.min_depth}")
        elif depth > spec.max_depth:
            problems.append(f"cut {position} depth {depth} exceeds spec max {spec.max_depth}")
    return problems


def macs_problems(spec: KeywaySpec, bitting: Sequence[object]) -> list[str]:
    """Each adjacent pair of integer depths further apart than the keyway's MACS, in cut order."""
    return [
        f"cuts {position}-{position + 1} differ by {abs(a - b)}, over the MACS of {spec.macs}"
        for position, (a, b) in enumerate(zip(bitting, bitting[1:]), start=1)
        if _is_depth(a) and _is_depth(b) and abs(a - b) > spec.macs
    ]


def validate_bitting(spec: KeywaySpec, bitting: Sequence[int]) -> None:
    """Raise InvalidBittingError naming the first problem: length, a depth out of range, or MACS."""
    if len(bitting) != spec.cuts:
        raise InvalidBittingError(spec.code, bitting, f"has {len(bitting)} cuts, {spec.code} has {spec.cuts}")
    problems = depth_problems(spec, bitting) or macs_problems(spec, bitting)
    if problems:
        raise InvalidBittingError(spec.code, bitting, problems[0])


def is_valid_bitting(spec: KeywaySpec, bitting: Sequence[int]) -> bool:
    """True when `bitting` can be cut on `spec` (see validate_bitting)."""
    try:
        validate_bitting(spec, bitting)
    except InvalidBittingError:
        return False
    return True


def _depths(spec: KeywaySpec, depth_codes: Sequence[int] | None) -> list[int]:
    return list(spec.depth_codes if depth_codes is None else depth_codes)


def _suffix_counts(spec: KeywaySpec, depths: list[int], cuts: int) -> list[dict[int, int]]:
    """counts[i][d]: MACS-valid ways to cut positions i.. when position i has depth d."""
    counts: list[dict[int, int]] = [dict() for _ in range(cuts)]
    counts[-1] = {d: 1 for d in depths}
    for i in range(cuts - 2, -1, -1):
        counts[i] = {d: sum(n for e, n in counts[i + 1].items() if abs(e - d) <= spec.macs) for d in depths}
    return counts


def count_keyspace(spec: KeywaySpec, depth_codes: Sequence[int] | None = None, cuts: int | None = None) -> int:
    """Number of MACS-valid bittings (dynamic programme over adjacent differences)."""
    counts = _suffix_counts(spec, _depths(spec, depth_codes), cuts or spec.cuts)
    return sum(counts[0].values())


def sample_bitting(
    spec: KeywaySpec, rng: np.random.Generator, depth_codes: Sequence[int] | None = None
) -> tuple[int, ...]:
    """Draw one bitting uniformly from the MACS-valid keyspace (exact, via the DP counts)."""
    depths = _depths(spec, depth_codes)
    counts = _suffix_counts(spec, depths, spec.cuts)
    bitting: list[int] = []
    options = depths
    for i in range(spec.cuts):
        weights = np.array([counts[i][d] for d in options], dtype=float)
        depth = int(options[rng.choice(len(options), p=weights / weights.sum())])
        bitting.append(depth)
        options = [d for d in depths if abs(d - depth) <= spec.macs]
    return tuple(bitting)
