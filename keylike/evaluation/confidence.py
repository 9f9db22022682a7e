"""Confidence from the model's own token probabilities, and how well it is calibrated.

How the confidence is computed: the model generates greedily and records, for every generated
token, the softmax probability it gave that token among the tokens the answer grammar allows at that
point (keylike.model.grammar; among all tokens when decoding without it), at the calibration
temperature: a probability over answers that can exist, not diluted by tokens that cannot be written. A field's confidence is the product of the
probabilities of the tokens that overlap the field's value in the answer text (for
`BITTING: 1,2,5,3,7` the tokens of `1,2,5,3,7`, commas included; format tokens such as `BITTING:`
are left out). The answer's confidence is the product over the value tokens of all three fields,
i.e. the model's probability of having written exactly these three values, given the format.
A non-compliant answer (see keylike.keys.answer.parse_fields) gets confidence 0: nothing usable came out.

Calibration: an answer is *correct* when it is an exact match (compliant and keyway, bitting and
brand all right). Expected calibration error (ECE) bins the answers by confidence into equal-width
bins over [0, 1] and sums, over bins, the share of answers in the bin times |accuracy - mean
confidence| of the bin. Each field is also calibrated on its own: the field's confidence (0 when it
was not read) against the field being right, whatever the other fields say.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from keylike.keys import FIELDS, KeyLabel, ParsedAnswer

Span = tuple[int, int]


def round_confidence(value: float) -> float:
    """A confidence to 6 significant digits (products of probabilities can be tiny; 0.0 would hide them)."""
    return float(f"{value:.6g}")


def _value_tokens(span: Span, token_spans: Sequence[Span]) -> set[int]:
    start, end = span
    return {i for i, (s, e) in enumerate(token_spans) if s < end and e > start}


def _product(token_probs: Sequence[float], tokens: Iterable[int]) -> float:
    return math.prod(token_probs[i] for i in tokens)


def field_confidences(
    answer: ParsedAnswer, token_spans: Sequence[Span], token_probs: Sequence[float]
) -> dict[str, float | None]:
    """Per field: the product of the probabilities of its value tokens; None for a field not read."""
    _check_tokens(token_spans, token_probs)
    confidences: dict[str, float | None] = {}
    for name in FIELDS:
        tokens = _value_tokens(answer.spans[name], token_spans) if name in answer.spans else set()
        confidences[name] = _product(token_probs, tokens) if tokens else None
    return confidences


def answer_confidence(answer: ParsedAnswer, token_spans: Sequence[Span], token_probs: Sequence[float]) -> float:
    """The product of the probabilities of all value tokens of a compliant answer (`NO KEY`: its own
    tokens); 0 otherwise."""
    _check_tokens(token_spans, token_probs)
    if not answer.compliant:
        return 0.0
    tokens = set().union(*(_value_tokens(answer.spans[name], token_spans) for name in FIELDS if name in answer.spans))
    return _product(token_probs, tokens)


def _bins(confidences: Sequence[float], correct: Sequence[bool], bins: int) -> dict[int, list[int]]:
    """Indices of the answers in each non-empty equal-width bin (1.0 falls in the last bin)."""
    if len(confidences) != len(correct):
        raise ValueError(f"{len(confidences)} confidences but {len(correct)} correctness flags")
    members: dict[int, list[int]] = {}
    for i, confidence in enumerate(confidences):
        if not 0.0 <= confidence <= 1.0:
            raise ValueError(f"confidence {confidence} of answer {i} is outside [0, 1]")
        members.setdefault(min(int(confidence * bins), bins - 1), []).append(i)
    return dict(sorted(members.items()))


def reliability_bins(confidences: Sequence[float], correct: Sequence[bool], bins: int) -> list[dict]:
    """Rows {bin, lower, upper, count, confidence, accuracy} of the non-empty equal-width confidence bins."""
    return [
        {
            "bin": b,
            "lower": round(b / bins, 6),
            "upper": round((b + 1) / bins, 6),
            "count": len(idx),
            "confidence": round_confidence(sum(confidences[i] for i in idx) / len(idx)),
            "accuracy": round(sum(bool(correct[i]) for i in idx) / len(idx), 6),
        }
        for b, idx in _bins(confidences, correct, bins).items()
    ]


def expected_calibration_error(confidences: Sequence[float], correct: Sequence[bool], bins: int) -> float | None:
    """ECE over equal-width bins (None for no answers)."""
    members = _bins(confidences, correct, bins)
    if not confidences:
        return None
    gaps = (abs(sum(bool(correct[i]) - confidences[i] for i in idx)) for idx in members.values())
    return round(sum(gaps) / len(confidences), 6)


def brier_score(confidences: Sequence[float], correct: Sequence[bool]) -> float | None:
    """Mean squared difference between confidence and correctness (1 or 0); None for no answers."""
    if len(confidences) != len(correct):
        raise ValueError(f"{len(confidences)} confidences but {len(correct)} correctness flags")
    if not confidences:
        return None
    return round(sum((c - float(y)) ** 2 for c, y in zip(confidences, correct)) / len(confidences), 6)


def field_calibration(
    truths: Sequence[KeyLabel],
    answers: Sequence[ParsedAnswer],
    field_confidence_rows: Sequence[dict[str, float | None]],
    bins: int,
) -> dict[str, dict[str, float | None]]:
    """Per field: ECE and mean of its confidence (0 when not read) against that field being right."""
    calibration = {}
    for name in FIELDS:
        confidences = [row[name] or 0.0 for row in field_confidence_rows]
        correct = [getattr(a, name) == getattr(t, name) for t, a in zip(truths, answers, strict=True)]
        calibration[name] = {
            "ece": expected_calibration_error(confidences, correct, bins),
            "mean_confidence": round_confidence(sum(confidences) / len(confidences)) if confidences else None,
        }
    return calibration


def _check_tokens(token_spans: Sequence[Span], token_probs: Sequence[float]) -> None:
    if len(token_spans) != len(token_probs):
        raise ValueError(f"{len(token_spans)} token spans but {len(token_probs)} token probabilities")
