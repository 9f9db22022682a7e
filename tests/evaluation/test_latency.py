"""Percentiles and latency summaries shared by the benchmark stage and the speed measurements."""

import pytest

from keylike.evaluation.latency import latency_summary, percentile


def test_percentile_interpolates_between_ranks():
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(values, 50) == pytest.approx(2.5)
    assert percentile([7.0], 95) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_latency_summary():
    summary = latency_summary([0.3, 0.1, 0.2])
    assert summary == {"p50_s": 0.2, "p95_s": pytest.approx(0.29), "mean_s": pytest.approx(0.2), "min_s": 0.1, "n": 3}
