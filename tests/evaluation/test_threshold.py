"""The model's calibration: the threshold for presenting a reading, the temperature's score, the file."""

import math

import pytest

from keylike.evaluation.threshold import CALIBRATION_NAME, Calibration, choose_min_confidence, log_loss, presented


def test_threshold_is_the_lowest_confidence_meeting_the_accuracy() -> None:
    confidences = [0.99, 0.95, 0.9, 0.8, 0.7, 0.6]
    correct = [True, True, True, True, False, False]
    assert choose_min_confidence(confidences, correct, 1.0) == 0.8
    assert choose_min_confidence(confidences, correct, 0.8) == 0.7  # 4 of 5 right
    assert choose_min_confidence(confidences, correct, 0.6) == 0.6  # 4 of 6 right


def test_threshold_when_even_the_surest_answer_is_wrong_presents_nothing() -> None:
    assert choose_min_confidence([0.9, 0.5], [False, True], 0.9) == 1.0


def test_presented_counts_coverage_and_accuracy() -> None:
    shown = presented([0.9, 0.8, 0.3], [True, False, False], 0.5)
    assert shown == {"min_confidence": 0.5, "coverage": round(2 / 3, 6), "accuracy": 0.5}
    assert presented([0.1], [True], 0.5)["accuracy"] is None


def test_log_loss_prefers_calibrated_confidences() -> None:
    outcomes = [True] * 8 + [False] * 2
    assert log_loss([0.8] * 10, outcomes) < log_loss([0.99] * 10, outcomes)
    assert log_loss([1.0], [True]) == pytest.approx(-math.log(1 - 1e-6))


def test_calibration_round_trips_through_the_model_folder(tmp_path) -> None:
    assert Calibration.read(tmp_path) == Calibration(1.0, 0.0)
    Calibration(1.5, 0.42).write(tmp_path, {"chosen_on": "val"})
    assert Calibration.read(tmp_path) == Calibration(1.5, 0.42)
    assert '"chosen_on": "val"' in (tmp_path / CALIBRATION_NAME).read_text()


def test_lengths_must_match() -> None:
    with pytest.raises(ValueError):
        choose_min_confidence([0.5], [True, False], 0.9)
