"""Confidence from token probabilities, ECE, reliability bins and Brier score, worked out by hand."""

import pytest

from keylike.evaluation.confidence import (
    answer_confidence,
    brier_score,
    expected_calibration_error,
    field_calibration,
    field_confidences,
    reliability_bins,
)
from keylike.keys import KeyLabel, parse_fields

TEXT = "KEYWAY: SC1\nBITTING: 1,2\nBRAND: Schlage"


def _tokens(pieces_and_probs):
    """Token spans of consecutive text pieces, and their probabilities."""
    spans, probs, start = [], [], 0
    for piece, prob in pieces_and_probs:
        spans.append((start, start + len(piece)))
        probs.append(prob)
        start += len(piece)
    return spans, probs


# Tokenisation of a (non-compliant: SC1 has 5 cuts) answer: format tokens have probability 0.5,
# which must not count; "SC" 0.9, "1" 0.8, "1" 0.7, "," 1.0, "2" 0.6, "Schlage" 0.95; then EOS.
PIECES = [
    ("KEYWAY:", 0.5), (" ", 0.5), ("SC", 0.9), ("1", 0.8), ("\nBITTING: ", 0.5),
    ("1", 0.7), (",", 1.0), ("2", 0.6), ("\nBRAND: ", 0.5), ("Schlage", 0.95), ("", 0.4),
]


def test_field_confidences_multiply_value_token_probabilities():
    spans, probs = _tokens(PIECES)
    assert "".join(p for p, _ in PIECES) == TEXT
    confidences = field_confidences(parse_fields(TEXT), spans, probs)
    assert confidences == pytest.approx({"keyway": 0.9 * 0.8, "bitting": 0.7 * 1.0 * 0.6, "brand": 0.95})


def test_a_token_straddling_format_and_value_counts():
    text = "KEYWAY: SC1\nBITTING: 1,2,5,3,7\nBRAND: Schlage"
    spans, probs = _tokens([("KEYWAY: S", 0.5), ("C1\nBITTING: 1,2,5,3,7\nBRAND: ", 0.25), ("Schlage", 0.8)])
    answer = parse_fields(text)
    assert answer.compliant
    # the middle token overlaps all of keyway and bitting: counted once in the answer's confidence
    assert answer_confidence(answer, spans, probs) == pytest.approx(0.5 * 0.25 * 0.8)
    assert field_confidences(answer, spans, probs) == pytest.approx({"keyway": 0.125, "bitting": 0.25, "brand": 0.8})


def test_compliant_answer_confidence_is_the_product_over_all_fields():
    text = "KEYWAY: SC1\nBITTING: 1,2,5,3,7\nBRAND: Schlage"
    pieces = [("KEYWAY: ", 0.1), ("SC1", 0.9), ("\nBITTING: ", 0.1), ("1,2,5,3,7", 0.5), ("\nBRAND: ", 0.1),
              ("Schlage", 0.8)]
    spans, probs = _tokens(pieces)
    assert answer_confidence(parse_fields(text), spans, probs) == pytest.approx(0.9 * 0.5 * 0.8)


def test_non_compliant_answer_has_zero_confidence_and_missing_fields_none():
    spans, probs = _tokens(PIECES)
    assert answer_confidence(parse_fields(TEXT), spans, probs) == 0.0
    partial = parse_fields("KEYWAY: SC1")
    assert field_confidences(partial, [(0, 8), (8, 11)], [0.5, 0.9]) == {"keyway": 0.9, "bitting": None, "brand": None}


def test_token_lists_must_agree():
    with pytest.raises(ValueError, match="2 token spans but 1 token probabilities"):
        answer_confidence(parse_fields(TEXT), [(0, 1), (1, 2)], [0.5])


# Six answers in 4 bins: bin 0 [0, .25): 0.1 wrong; bin 2 [.5, .75): 0.6 right, 0.7 wrong;
# bin 3 [.75, 1]: 0.8 right, 0.9 right, 1.0 right.
CONFIDENCES = [0.1, 0.6, 0.7, 0.8, 0.9, 1.0]
CORRECT = [False, True, False, True, True, True]


def test_reliability_bins():
    assert reliability_bins(CONFIDENCES, CORRECT, bins=4) == [
        {"bin": 0, "lower": 0.0, "upper": 0.25, "count": 1, "confidence": 0.1, "accuracy": 0.0},
        {"bin": 2, "lower": 0.5, "upper": 0.75, "count": 2, "confidence": 0.65, "accuracy": 0.5},
        {"bin": 3, "lower": 0.75, "upper": 1.0, "count": 3, "confidence": 0.9, "accuracy": 1.0},
    ]


def test_expected_calibration_error():
    # 1/6 * |0 - 0.1| + 2/6 * |0.5 - 0.65| + 3/6 * |1 - 0.9| = (0.1 + 0.3 + 0.3) / 6
    assert expected_calibration_error(CONFIDENCES, CORRECT, bins=4) == round(0.7 / 6, 6)
    assert expected_calibration_error([1.0, 0.0], [True, False], bins=10) == 0.0
    assert expected_calibration_error([], [], bins=10) is None


def test_brier_score():
    # (0.01 + 0.16 + 0.49 + 0.04 + 0.01 + 0) / 6
    assert brier_score(CONFIDENCES, CORRECT) == round(0.71 / 6, 6)
    assert brier_score([], []) is None


def test_confidence_outside_unit_interval_is_refused():
    with pytest.raises(ValueError, match="outside"):
        reliability_bins([1.5], [True], bins=10)


def test_field_calibration_scores_each_field_on_its_own():
    truth = KeyLabel("SC1", (1, 2, 5, 3, 7), "Schlage")
    # keyway right at 0.8; bitting wrong at 0.6; brand not read (confidence 0, wrong)
    answers = [parse_fields("KEYWAY: SC1\nBITTING: 1,2,5,3,6")]
    rows = [{"keyway": 0.8, "bitting": 0.6, "brand": None}]
    assert field_calibration([truth], answers, rows, bins=10) == {
        "keyway": {"ece": 0.2, "mean_confidence": 0.8},
        "bitting": {"ece": 0.6, "mean_confidence": 0.6},
        "brand": {"ece": 0.0, "mean_confidence": 0.0},
    }


def test_tiny_confidences_keep_their_significant_digits():
    """A product of many token probabilities can be 1e-9: rounding to decimals would show it as 0."""
    (row,) = reliability_bins([1.23456789e-9], [False], bins=10)
    assert row["confidence"] == 1.23457e-9
