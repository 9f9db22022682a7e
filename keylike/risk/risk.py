"""Keyed-alike risk, computed from the keyway's specs and the bitting, never from the image.

Inputs: the keyway spec (keylike/keys/data/keyways.json) and the weights in
keylike/risk/data/market.json (every weight there is marked as an estimate, with its basis).

1. Keyspace. `K_all` = MACS-valid bittings of the keyway over all its depth codes
   (`count_keyspace`, e.g. SC1 79,666; KW1 10,483). Where the table narrows the depths used on
   residential keys (KW1/KW10: 1-6, 6,306 for KW1) and the bitting uses only those depths, the
   effective keyspace `K` counts over those depths; otherwise `K = K_all`.
2. Patterns. Flags on the bitting `b` (n cuts):
   - `all_equal`: every cut the same depth (11111);
   - `sequential`: stairs, every adjacent step the same non-zero amount (12345, 75310 is not);
   - `alternating`: two depths alternating (12121);
   - `single_step`: every adjacent step is 0 or 1 depth code (12232) and not all equal;
   - `few_distinct`: at most 2 distinct depths.
   The pattern multiplier `m` is the largest multiplier of the raised flags
   (all_equal 10, sequential 5, alternating 3, single_step 2, few_distinct 2), or 1 when none is raised.
3. Sharing. Chance that another lock of the same keyway has this bitting:
   `p = min(1, m / K)` (uniform `1 / K` when no pattern is raised). Expected identical locks per
   million installed locks of the keyway: `I = 1e6 * p` (uniform KW1 1-6: 1e6 / 6306 = 158.6, the
   locksmith's ">= 158 per million").
4. Near misses (small-step keyways, depth step <= .015 in: Schlage, Master, Best): `N` = MACS-valid
   bittings other than `b` within one depth code of `b` at every cut (a key cut one step off that
   may still turn a worn lock). `N` is 0 (reported as null) for larger steps.
5. Score. Identical-or-near locks per million: `E = 1e6 * min(1, (m + w * N) / K)`, `w = 0.01`.
   `score = round(min(100, 25 * log10(1 + E)))`; `level` is `low` below 35 (E < ~24 per million),
   `high` from 65 (E >= ~397 per million), `medium` between.
   A 6-pin Schlage key with an irregular bitting scores about 27 (low); a random residential KW1
   key 55 (medium); KW1 11111 80 (high).

Not modelled: codes that retail packs or builders reuse on purpose and master keying both make
real keyspaces smaller than `K`; the score is therefore a lower bound on the real risk.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from keylike.keys import count_keyspace, get_spec, is_valid_bitting, validate_bitting
from keylike.keys.specs import KeywaySpec
from keylike.risk.market import Figure, residential_depth_codes, risk_weight

SCORE_PER_DECADE = 25.0
"""Score points per factor of ten in identical-or-near locks per million (definition, not a figure)."""
LOW_BELOW = 35
"""Scores below this are `low`."""
HIGH_FROM = 65
"""Scores from this up are `high`."""

PATTERNS = ("all_equal", "sequential", "alternating", "single_step", "few_distinct")
"""Pattern flags, in the order they are reported."""


@dataclass(frozen=True)
class KeyRisk:
    """Everything the risk formula (module docstring) computes for one key."""

    keyway: str
    bitting: tuple[int, ...]
    keyspace: int
    """`K_all`: MACS-valid bittings over all depth codes."""
    effective_keyspace: int
    """`K`: MACS-valid bittings over the depth codes in real use for this key."""
    effective_depth_codes: tuple[int, ...]
    patterns: dict[str, bool]
    pattern_multiplier: float
    share_probability: float
    """`p`: chance that another lock of the keyway has this bitting."""
    identical_per_million: float
    """`I = 1e6 * p`."""
    uniform_identical_per_million: float
    """`1e6 / K`: the same without the pattern multiplier."""
    small_step: bool
    near_miss_count: int | None
    """`N`, or None for keyways whose depth step is too large for near misses to count."""
    near_identical_per_million: float
    """`E`: identical-or-near locks per million."""
    score: int
    level: str
    weights: tuple[Figure, ...]
    """The table entries the score used (for the response's `sources`)."""

    def factors(self) -> list[dict[str, Any]]:
        """The score's inputs, each with a short explanation (for `keyedAlikeRisk.factors`)."""
        raised = [name for name in PATTERNS if self.patterns[name]]
        near = (
            f"{self.near_miss_count} valid bittings within one depth step at every cut"
            if self.near_miss_count is not None
            else "depth step too large for one-step near misses"
        )
        return [
            {
                "name": "keyspace",
                "value": self.effective_keyspace,
                "detail": f"MACS-valid {self.keyway} bittings over depths "
                f"{','.join(map(str, self.effective_depth_codes))} (all depths: {self.keyspace})",
            },
            {
                "name": "pattern",
                "value": self.pattern_multiplier,
                "detail": f"over-used pattern: {', '.join(raised)}" if raised else "no over-used pattern",
            },
            {"name": "nearMisses", "value": self.near_miss_count, "detail": near},
            {
                "name": "identicalPerMillion",
                "value": round(self.identical_per_million, 2),
                "detail": "expected locks of this keyway per million with exactly this bitting",
            },
        ]

    def to_json(self) -> dict[str, Any]:
        """The response's `risk` object."""
        return {
            "keyway": self.keyway,
            "bitting": list(self.bitting),
            "keyspace": self.keyspace,
            "effectiveKeyspace": self.effective_keyspace,
            "effectiveDepthCodes": list(self.effective_depth_codes),
            "patterns": dict(self.patterns),
            "patternMultiplier": self.pattern_multiplier,
            "shareProbability": self.share_probability,
            "identicalPerMillion": self.identical_per_million,
            "uniformIdenticalPerMillion": self.uniform_identical_per_million,
            "smallStep": self.small_step,
            "nearMissCount": self.near_miss_count,
            "nearIdenticalPerMillion": self.near_identical_per_million,
            "score": self.score,
            "level": self.level,
        }

    def keyed_alike_risk(self) -> dict[str, Any]:
        """The response's `keyedAlikeRisk`: score 0-100, level and factors."""
        return {"score": self.score, "level": self.level, "factors": self.factors()}


def pattern_flags(bitting: Sequence[int]) -> dict[str, bool]:
    """The pattern flags of the module docstring, by name."""
    steps = [b - a for a, b in itertools.pairwise(bitting)]
    distinct = set(bitting)
    all_equal = len(distinct) == 1
    return {
        "all_equal": all_equal,
        "sequential": len(set(steps)) == 1 and steps[0] != 0,
        "alternating": len(distinct) == 2 and all(s != 0 for s in steps) and len(set(bitting[0::2])) == 1,
        "single_step": not all_equal and all(abs(s) <= 1 for s in steps),
        "few_distinct": len(distinct) <= 2,
    }


def pattern_multiplier(flags: dict[str, bool]) -> float:
    """Largest multiplier among the raised flags; 1 when none is raised."""
    multipliers = risk_weight("pattern_multipliers").value
    return max([1.0] + [float(multipliers[name]) for name, raised in flags.items() if raised])


def near_miss_count(spec: KeywaySpec, bitting: Sequence[int]) -> int:
    """MACS-valid bittings other than `bitting` within one depth code of it at every cut."""
    depths = set(spec.depth_codes)
    options = [[d for d in (c - 1, c, c + 1) if d in depths] for c in bitting]
    neighbours = (n for n in itertools.product(*options) if n != tuple(bitting))
    return sum(1 for n in neighbours if is_valid_bitting(spec, n))


def risk_level(score: int) -> str:
    """`low`, `medium` or `high` for a score (thresholds in the module docstring)."""
    if score < LOW_BELOW:
        return "low"
    return "high" if score >= HIGH_FROM else "medium"


@functools.cache
def _keyspace(keyway: str, depth_codes: tuple[int, ...]) -> int:
    return count_keyspace(get_spec(keyway), depth_codes)


def _effective_depths(spec: KeywaySpec, bitting: Sequence[int]) -> tuple[tuple[int, ...], list[Figure]]:
    residential = residential_depth_codes(spec.code)
    if residential is not None and set(bitting) <= set(residential.value):
        return tuple(residential.value), [residential]
    return spec.depth_codes, []


def assess_risk(keyway: str, bitting: Sequence[int]) -> KeyRisk:
    """Compute the keyed-alike risk of one key; an unknown keyway or uncuttable bitting raises."""
    spec = get_spec(keyway)
    bitting = tuple(int(d) for d in bitting)
    validate_bitting(spec, bitting)
    depths, depth_figures = _effective_depths(spec, bitting)
    keyspace = _keyspace(keyway, spec.depth_codes)
    effective = _keyspace(keyway, tuple(depths))
    flags = pattern_flags(bitting)
    multiplier = pattern_multiplier(flags)
    small_step_figure = risk_weight("small_step_max_in")
    near_weight = risk_weight("near_miss_weight")
    small_step = spec.step_in <= small_step_figure.value
    near = near_miss_count(spec, bitting) if small_step else None
    share = min(1.0, multiplier / effective)
    near_identical = 1e6 * min(1.0, (multiplier + near_weight.value * (near or 0)) / effective)
    score = round(min(100.0, SCORE_PER_DECADE * math.log10(1.0 + near_identical)))
    return KeyRisk(
        keyway=keyway,
        bitting=bitting,
        keyspace=keyspace,
        effective_keyspace=effective,
        effective_depth_codes=tuple(depths),
        patterns=flags,
        pattern_multiplier=multiplier,
        share_probability=share,
        identical_per_million=1e6 * share,
        uniform_identical_per_million=1e6 / effective,
        small_step=small_step,
        near_miss_count=near,
        near_identical_per_million=near_identical,
        score=score,
        level=risk_level(score),
        weights=(risk_weight("pattern_multipliers"), near_weight, small_step_figure, *depth_figures),
    )
