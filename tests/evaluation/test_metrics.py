"""Every field-level metric on four hand-made answers whose scores are worked out below."""

import pytest

from keylike.evaluation.metrics import (
    NO_ANSWER,
    OTHER_ANSWER,
    cut_errors,
    depth_error_histogram,
    field_metrics,
    keyway_confusion,
    per_keyway_metrics,
    per_position_accuracy,
)
from keylike.keys import KeyLabel, parse_fields

TRUTHS = [
    KeyLabel("SC1", (1, 2, 5, 3, 7), "Schlage"),
    KeyLabel("KW1", (1, 2, 3, 4, 5), "Kwikset"),
    KeyLabel("SC1", (3, 3, 3, 3, 3), "Schlage"),
    KeyLabel("A2", (1, 2, 3, 4, 5, 6, 7), "Best"),
]
ANSWERS = [
    # 1: exactly right. cut errors 0 0 0 0 0
    parse_fields("KEYWAY: SC1\nBITTING: 1,2,5,3,7\nBRAND: Schlage"),
    # 2: compliant, last cut two steps deep. cut errors 0 0 0 0 +2
    parse_fields("KEYWAY: KW1\nBITTING: 1,2,3,4,7\nBRAND: Kwikset"),
    # 3: reordered (not compliant), wrong keyway, right brand, 3 of 5 cuts. cut errors +1 0 -1 - -
    parse_fields("BRAND: Schlage\nKEYWAY: SC4\nBITTING: 4,3,2"),
    # 4: no fields at all. cut errors - - - - - - -
    parse_fields("I cannot read this key."),
]


def test_cut_errors_are_signed_and_missing_cuts_are_none():
    assert [cut_errors(t, a) for t, a in zip(TRUTHS, ANSWERS)] == [
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 2],
        [1, 0, -1, None, None],
        [None] * 7,
    ]


def test_field_metrics_match_hand_computed_values():
    metrics = field_metrics(TRUTHS, ANSWERS)
    assert metrics == {
        "images": 4,
        "format_compliance": 0.5,  # answers 1 and 2
        "keyway_accuracy": 0.5,  # answers 1 and 2
        "brand_accuracy": 0.75,  # answers 1, 2 and 3
        "bitting_exact_match": 0.25,  # answer 1
        "exact_match": 0.25,  # answer 1
        "cuts": 22,  # 5 + 5 + 5 + 7
        "compared_cuts": 13,  # 5 + 5 + 3
        "per_cut_accuracy": round(10 / 22, 6),  # 5 + 4 + 1 right
        "within_one_step": round(12 / 22, 6),  # 5 + 4 + 3
        "depth_mae_steps": round(4 / 13, 6),  # |+2| + |+1| + |-1|
    }


def test_exact_match_needs_compliance():
    """All three fields right in the wrong layout is not an exact match."""
    truth = KeyLabel("SC1", (1, 2, 5, 3, 7), "Schlage")
    reordered = parse_fields("BRAND: Schlage\nKEYWAY: SC1\nBITTING: 1,2,5,3,7")
    metrics = field_metrics([truth], [reordered])
    assert metrics["keyway_accuracy"] == metrics["brand_accuracy"] == metrics["bitting_exact_match"] == 1.0
    assert metrics["exact_match"] == metrics["format_compliance"] == 0.0


def test_per_keyway_breakdown():
    breakdown = per_keyway_metrics(TRUTHS, ANSWERS)
    assert list(breakdown) == ["A2", "KW1", "SC1"]
    sc1 = breakdown["SC1"]  # answers 1 and 3
    assert (sc1["images"], sc1["format_compliance"], sc1["keyway_accuracy"], sc1["brand_accuracy"]) == (2, 0.5, 0.5, 1.0)
    assert (sc1["cuts"], sc1["compared_cuts"], sc1["per_cut_accuracy"], sc1["within_one_step"]) == (10, 8, 0.6, 0.8)
    assert sc1["depth_mae_steps"] == 0.25  # (1 + 1) / 8
    assert breakdown["KW1"]["depth_mae_steps"] == 0.4  # 2 / 5
    assert breakdown["A2"]["compared_cuts"] == 0 and breakdown["A2"]["depth_mae_steps"] is None
    assert breakdown["A2"]["per_cut_accuracy"] == 0.0


def test_per_position_accuracy():
    rows = per_position_accuracy(TRUTHS, ANSWERS)
    assert [(r["position"], r["cuts"], r["accuracy"], r["within_one_step"]) for r in rows] == [
        (1, 4, 0.5, 0.75),  # 0 0 +1 -
        (2, 4, 0.75, 0.75),  # 0 0 0 -
        (3, 4, 0.5, 0.75),  # 0 0 -1 -
        (4, 4, 0.5, 0.5),  # 0 0 - -
        (5, 4, 0.25, 0.25),  # 0 +2 - -
        (6, 1, 0.0, 0.0),  # A2 only, missing
        (7, 1, 0.0, 0.0),
    ]


def test_depth_error_histogram_covers_the_seen_range():
    assert depth_error_histogram(TRUTHS, ANSWERS) == [
        {"error": -1, "count": 1},
        {"error": 0, "count": 10},
        {"error": 1, "count": 1},
        {"error": 2, "count": 1},
    ]


def test_keyway_confusion_marks_missing_keyways():
    assert keyway_confusion(TRUTHS, ANSWERS) == [
        {"actual": "SC1", "predicted": "SC1"},
        {"actual": "KW1", "predicted": "KW1"},
        {"actual": "SC1", "predicted": "SC4"},
        {"actual": "A2", "predicted": NO_ANSWER},
    ]


def test_keyway_confusion_groups_unknown_codes():
    truth = KeyLabel("SC1", (1, 2, 5, 3, 7), "Schlage")
    answer = parse_fields("KEYWAY: SC1 BITTING 1,2\nBRAND: Schlage")
    assert answer.keyway == "SC1 BITTING 1,2"
    assert keyway_confusion([truth], [answer]) == [{"actual": "SC1", "predicted": OTHER_ANSWER}]


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="4 true labels but 3 answers"):
        field_metrics(TRUTHS, ANSWERS[:3])


def test_no_images_gives_no_ratios():
    metrics = field_metrics([], [])
    assert metrics["images"] == 0 and metrics["keyway_accuracy"] is None and metrics["depth_mae_steps"] is None
