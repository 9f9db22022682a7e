"""Risk numbers for hand-checked keys; the arithmetic is written out in the comments."""

import math

import numpy as np
import pytest

from keylike.errors import InvalidBittingError, UnknownKeywayError
from keylike.keys import get_spec, sample_bitting
from keylike.risk import assess_risk, near_miss_count, pattern_flags, risk_level

# KW1 keyspace over the residential depths 1-6, MACS 4, by hand (v_k[a] = bittings of k cuts
# ending in depth a; a neighbour may differ by at most 4, so 1 and 6 cannot touch):
#   v1 = [1, 1, 1, 1, 1, 1]
#   v2 = [5, 6, 6, 6, 6, 5]                                          (34)
#   v3 = [5+6+6+6+6, 34, 34, 34, 34, 6+6+6+6+5] = [29, 34, 34, 34, 34, 29]   (194)
#   v4 = [29+4*34, 194, 194, 194, 194, 165] = [165, 194, 194, 194, 194, 165] (1106)
#   v5 = [165+4*194, 1106 x 4, 941] = [941, 1106, 1106, 1106, 1106, 941]
#   K = 2*941 + 4*1106 = 6306 (the locksmith's count)
KW1_RESIDENTIAL = 6306
# KW1 over all depths 1-7, same DP: v2 = [5,6,7,7,7,6,5] (43), v3 = [32,38,43,43,43,38,32] (269),
# v4 = [199,237,269,269,269,237,199] (1679), v5 = [1243,1480,1679,1679,1679,1480,1243]
#   K = 2*1243 + 2*1480 + 3*1679 = 2486 + 2960 + 5037 = 10483
KW1_ALL = 10483
# SC1, depths 0-9, MACS 7: 10^5 minus bittings with some adjacent difference >= 8. Bad ordered
# pairs: (0,8) (0,9) (1,9) and reversed = 6. Inclusion-exclusion over the 4 adjacent slots:
#   one bad slot:   4 * 6 * 10^3                                   = 24000
#   two bad slots:  3 touching * 10 walks * 10^2 + 3 apart * 6*6*10 =  4080
#   three:          2 * 16 walks * 10 + 2 * 10 * 6                  =   440
#   four:           26 walks of length 4                            =    26
#   K = 100000 - (24000 - 4080 + 440 - 26) = 79666
SC1_ALL = 79666


def score(per_million: float) -> int:
    """The formula's last step, written again so the test reads like the hand calculation."""
    return round(min(100.0, 25 * math.log10(1 + per_million)))


def test_kwikset_all_equal_bitting_is_high_risk() -> None:
    risk = assess_risk("KW1", (1, 1, 1, 1, 1))
    assert risk.keyspace == KW1_ALL
    assert risk.effective_keyspace == KW1_RESIDENTIAL  # depths 1 only: inside 1-6
    assert risk.patterns["all_equal"] and risk.pattern_multiplier == 10.0
    # p = 10 / 6306 = 0.0015858; per million 1585.79
    assert risk.share_probability == pytest.approx(10 / 6306)
    assert risk.identical_per_million == pytest.approx(1585.79, abs=0.01)
    # KW1 depth step .023 in > .015: no near misses, E = I
    assert risk.near_miss_count is None
    # 25 * log10(1586.79) = 25 * 3.20053 = 80.01 -> 80, high
    assert risk.score == 80 == score(1585.79)
    assert risk.level == "high"


def test_kwikset_irregular_bitting_matches_locksmith_figure() -> None:
    risk = assess_risk("KW1", (2, 4, 1, 3, 5))
    assert not any(risk.patterns.values())
    # 1e6 / 6306 = 158.58: ">= 158 of every million KW1 locks share one combination"
    assert risk.identical_per_million == pytest.approx(158.58, abs=0.01)
    # 25 * log10(159.58) = 25 * 2.20298 = 55.07 -> 55, medium
    assert risk.score == 55
    assert risk.level == "medium"


def test_kwikset_bitting_with_depth_7_uses_all_depths() -> None:
    risk = assess_risk("KW1", (3, 7, 4, 6, 2))
    assert risk.effective_keyspace == KW1_ALL
    # 1e6 / 10483 = 95.39; 25 * log10(96.39) = 25 * 1.98403 = 49.6 -> 50
    assert risk.identical_per_million == pytest.approx(95.39, abs=0.01)
    assert risk.score == 50


def test_random_valid_kwikset_bittings_score_below_all_equal() -> None:
    rng = np.random.default_rng(3407)
    spec = get_spec("KW1")
    all_equal = assess_risk("KW1", (1, 1, 1, 1, 1)).score
    for _ in range(20):
        bitting = sample_bitting(spec, rng)
        risk = assess_risk("KW1", bitting)
        assert risk.score < all_equal
        # with no pattern the chance is exactly uniform over the effective keyspace
        if risk.pattern_multiplier == 1.0:
            assert risk.share_probability == pytest.approx(1 / risk.effective_keyspace)


def test_schlage_irregular_bitting_counts_near_misses() -> None:
    risk = assess_risk("SC1", (3, 5, 2, 4, 6))
    assert risk.effective_keyspace == SC1_ALL
    assert risk.small_step  # Schlage step .015 in
    # every cut has 3 neighbours (d-1, d, d+1 all in 0-9); the largest adjacent change is
    # |2-5| + 2 = 5 <= MACS 7, so all 3^5 = 243 are valid; minus the key itself: 242
    assert risk.near_miss_count == 242
    # I = 1e6 / 79666 = 12.55; E = 1e6 * (1 + 0.01 * 242) / 79666 = 42.93
    assert risk.identical_per_million == pytest.approx(12.55, abs=0.01)
    assert risk.near_identical_per_million == pytest.approx(42.93, abs=0.01)
    # 25 * log10(43.93) = 25 * 1.64276 = 41.07 -> 41, medium
    assert risk.score == 41
    assert risk.level == "medium"


def test_schlage_near_misses_respect_macs() -> None:
    # 0,7,0,7,0: cuts 1/3/5 take {0,1}, cuts 2/4 take {6,7,8}; 0 next to 8 breaks MACS 7.
    # DP: a1: {0:1, 1:1}; b1: {6:2, 7:2, 8:1}; a2: {0:4, 1:5}; b2: {6:9, 7:9, 8:5};
    # a3: {0:18, 1:23} -> 41 valid, minus the key itself = 40
    assert near_miss_count(get_spec("SC1"), (0, 7, 0, 7, 0)) == 40
    risk = assess_risk("SC1", (0, 7, 0, 7, 0))
    # alternating two depths: multiplier 3; E = 1e6 * (3 + 0.4) / 79666 = 42.68 -> 25*1.6403 = 41
    assert risk.pattern_multiplier == 3.0
    assert risk.score == 41


def test_schlage_six_pin_irregular_bitting_is_low_risk() -> None:
    risk = assess_risk("SC4", (3, 5, 2, 4, 6, 1))
    assert risk.effective_keyspace == 753754  # KEYS.md
    # 3^6 - 1 = 728 near misses (largest change |6-1| + 2 = 7 <= MACS)
    assert risk.near_miss_count == 728
    # E = 1e6 * (1 + 7.28) / 753754 = 10.985; 25 * log10(11.985) = 26.97 -> 27, low
    assert risk.score == 27
    assert risk.level == "low"


@pytest.mark.parametrize(
    ("bitting", "raised"),
    [
        ((1, 1, 1, 1, 1), {"all_equal", "few_distinct"}),
        ((1, 2, 3, 4, 5), {"sequential", "single_step"}),
        ((7, 5, 3, 1, 0), set()),
        ((6, 4, 2, 0, 0), set()),
        ((1, 3, 5, 7, 9), {"sequential"}),
        ((1, 2, 1, 2, 1), {"alternating", "single_step", "few_distinct"}),
        ((1, 5, 1, 5, 1), {"alternating", "few_distinct"}),
        ((1, 2, 2, 3, 2), {"single_step"}),
        ((1, 1, 5, 5, 1), {"few_distinct"}),
        ((3, 5, 2, 4, 6), set()),
    ],
)
def test_pattern_flags(bitting: tuple[int, ...], raised: set[str]) -> None:
    flags = pattern_flags(bitting)
    assert {name for name, on in flags.items() if on} == raised


def test_risk_level_thresholds() -> None:
    assert [risk_level(s) for s in (0, 34, 35, 64, 65, 100)] == ["low", "low", "medium", "medium", "high", "high"]


def test_unknown_keyway_and_uncuttable_bitting_raise() -> None:
    with pytest.raises(UnknownKeywayError, match="XX9"):
        assess_risk("XX9", (1, 2, 3, 4, 5))
    with pytest.raises(InvalidBittingError, match="over the MACS of 4"):
        assess_risk("KW1", (1, 6, 1, 6, 1))


def test_json_shapes() -> None:
    risk = assess_risk("SC1", (3, 5, 2, 4, 6))
    body = risk.to_json()
    assert body["effectiveKeyspace"] == SC1_ALL and body["nearMissCount"] == 242
    keyed = risk.keyed_alike_risk()
    assert keyed["score"] == 41 and keyed["level"] == "medium"
    assert [f["name"] for f in keyed["factors"]] == ["keyspace", "pattern", "nearMisses", "identicalPerMillion"]
    assert all(w.estimate or w.source for w in risk.weights)
