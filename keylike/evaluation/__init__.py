"""Honest evaluation on the test split: field-level metrics, confidence and calibration."""

from keylike.evaluation.benchmark import BenchmarkConfig, BenchmarkResult, SplitLeakError, check_test_split, run_benchmark
from keylike.evaluation.confidence import (
    answer_confidence,
    brier_score,
    expected_calibration_error,
    field_confidences,
    reliability_bins,
)
from keylike.evaluation.metrics import (
    cut_errors,
    depth_error_histogram,
    field_metrics,
    is_exact_match,
    keyway_confusion,
    per_keyway_metrics,
    per_position_accuracy,
)

__all__ = [
    "BenchmarkConfig",
    "BenchmarkResult",
    "SplitLeakError",
    "answer_confidence",
    "brier_score",
    "check_test_split",
    "cut_errors",
    "depth_error_histogram",
    "expected_calibration_error",
    "field_confidences",
    "field_metrics",
    "is_exact_match",
    "keyway_confusion",
    "per_keyway_metrics",
    "per_position_accuracy",
    "reliability_bins",
    "run_benchmark",
]
