"""Field-level metrics of answers against the true labels.

Definitions (every ratio is over the test images given, or over their true cuts):
- `format_compliance`: share of answers that pass the strict parser (three fields, a known keyway,
  that keyway's brand, a bitting of the keyway's length, depth range and MACS).
- `keyway_accuracy`, `brand_accuracy`, `bitting_exact_match`: share of answers whose field, read on
  its own (keylike.keys.answer.parse_fields), equals the truth; a missing field is wrong.
- `exact_match`: compliant and all three fields right (the "correct" of calibration).
- Cuts are compared by position in bitting order, whatever keyway the answer names. For each true cut
  the error is predicted depth code minus true depth code, in depth steps (one code is one step);
  a cut the answer lacks (no bitting, or a shorter one) has no error and counts as wrong.
  `per_cut_accuracy` and `within_one_step` are over all true cuts; `depth_mae_steps` is the mean
  absolute error over the cuts that have one (`compared_cuts` of them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from keylike.keys import NO_KEY, KeyLabel, ParsedAnswer, keyway_codes

NO_ANSWER = "(none)"
"""The predicted class of an answer without a readable KEYWAY line, in confusion data."""
OTHER_ANSWER = "(other)"
"""The predicted class of a KEYWAY that is no known keyway code, in confusion data."""


def cut_errors(truth: KeyLabel, answer: ParsedAnswer) -> list[int | None]:
    """Signed error (predicted - true depth code) at each true cut; None where the answer has no cut."""
    predicted = answer.bitting or ()
    return [predicted[i] - depth if i < len(predicted) else None for i, depth in enumerate(truth.bitting)]


def is_exact_match(truth: KeyLabel, answer: ParsedAnswer) -> bool:
    """True when the answer is compliant and all three fields equal the truth."""
    return answer.label == truth


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 6) if denominator else None


def field_metrics(truths: Sequence[KeyLabel], answers: Sequence[ParsedAnswer]) -> dict[str, float | int | None]:
    """Compliance, field accuracies, exact match and cut-level metrics (see the module docstring)."""
    _check_lengths(truths, answers)
    errors = [e for t, a in zip(truths, answers) for e in cut_errors(t, a)]
    compared = [abs(e) for e in errors if e is not None]
    n = len(truths)
    return {
        "images": n,
        "format_compliance": _ratio(sum(a.compliant for a in answers), n),
        "keyway_accuracy": _ratio(sum(a.keyway == t.keyway for t, a in zip(truths, answers)), n),
        "brand_accuracy": _ratio(sum(a.brand == t.brand for t, a in zip(truths, answers)), n),
        "bitting_exact_match": _ratio(sum(a.bitting == t.bitting for t, a in zip(truths, answers)), n),
        "exact_match": _ratio(sum(is_exact_match(t, a) for t, a in zip(truths, answers)), n),
        "cuts": len(errors),
        "compared_cuts": len(compared),
        "per_cut_accuracy": _ratio(sum(e == 0 for e in compared), len(errors)),
        "within_one_step": _ratio(sum(e <= 1 for e in compared), len(errors)),
        "depth_mae_steps": _ratio(sum(compared), len(compared)),
    }


def per_keyway_metrics(
    truths: Sequence[KeyLabel], answers: Sequence[ParsedAnswer]
) -> dict[str, dict[str, float | int | None]]:
    """field_metrics for the test images of each true keyway, keyed by keyway code (sorted)."""
    _check_lengths(truths, answers)
    return {
        keyway: field_metrics(
            [t for t in truths if t.keyway == keyway], [a for t, a in zip(truths, answers) if t.keyway == keyway]
        )
        for keyway in sorted({t.keyway for t in truths})
    }


def per_position_accuracy(truths: Sequence[KeyLabel], answers: Sequence[ParsedAnswer]) -> list[dict]:
    """Rows {position, cuts, accuracy, within_one_step} for each cut position (1-based, bitting order)."""
    _check_lengths(truths, answers)
    by_position: dict[int, list[int | None]] = {}
    for truth, answer in zip(truths, answers):
        for position, error in enumerate(cut_errors(truth, answer), start=1):
            by_position.setdefault(position, []).append(error)
    return [
        {
            "position": position,
            "cuts": len(errors),
            "accuracy": _ratio(sum(e == 0 for e in errors), len(errors)),
            "within_one_step": _ratio(sum(e is not None and abs(e) <= 1 for e in errors), len(errors)),
        }
        for position, errors in sorted(by_position.items())
    ]


def depth_error_histogram(truths: Sequence[KeyLabel], answers: Sequence[ParsedAnswer]) -> list[dict]:
    """Rows {error, count}: signed depth errors in steps, every value from the lowest to the highest seen and 0."""
    _check_lengths(truths, answers)
    counts = Counter(e for t, a in zip(truths, answers) for e in cut_errors(t, a) if e is not None)
    low, high = min([0, *counts]), max([0, *counts])
    return [{"error": error, "count": counts[error]} for error in range(low, high + 1)]


def keyway_confusion(truths: Sequence[KeyLabel], answers: Sequence[ParsedAnswer]) -> list[dict]:
    """Rows {actual, predicted} per image; no KEYWAY line predicts NO_ANSWER, an unknown code OTHER_ANSWER."""
    _check_lengths(truths, answers)
    known = {*keyway_codes(), NO_KEY}
    return [
        {"actual": t.keyway, "predicted": NO_ANSWER if a.keyway is None else a.keyway if a.keyway in known else OTHER_ANSWER}
        for t, a in zip(truths, answers)
    ]


def _check_lengths(truths: Sequence[KeyLabel], answers: Sequence[ParsedAnswer]) -> None:
    if len(truths) != len(answers):
        raise ValueError(f"{len(truths)} true labels but {len(answers)} answers")
