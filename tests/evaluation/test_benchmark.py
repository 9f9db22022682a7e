"""Benchmark scoring on hand-made generations, the test-split leak check, and the config."""

import json
from pathlib import Path

import pytest

from keylike.config import load_params
from keylike.data.manifest import ManifestRecord
from keylike.errors import ConfigError
from keylike.evaluation.benchmark import (
    PLOT_FILES,
    BenchmarkConfig,
    SplitLeakError,
    check_test_split,
    latency_metrics,
    score_generations,
)
from keylike.model.inference import Generation


def _record(i, keyway, bitting, brand, sha=None):
    return ManifestRecord(
        id=f"synthetic-{i:06d}",
        image=f"images/{i}.png",
        sha256=sha or f"{i:064x}",
        width=64,
        height=64,
        source="synthetic",
        keyway=keyway,
        bitting=tuple(bitting),
        brand=brand,
    )


def _generation(text, prob, latency=0.5):
    """One token spanning the whole answer, with probability `prob`."""
    return Generation(text, (7,), (prob,), ((0, len(text)),), latency)


RECORDS = [
    _record(1, "SC1", (1, 2, 5, 3, 7), "Schlage"),
    _record(2, "KW1", (1, 2, 3, 4, 5), "Kwikset"),
    _record(3, "SC1", (3, 3, 3, 3, 3), "Schlage"),
    _record(4, "A2", (1, 2, 3, 4, 5, 6, 7), "Best"),
]
GENERATIONS = [
    _generation("KEYWAY: SC1\nBITTING: 1,2,5,3,7\nBRAND: Schlage", 0.9),  # exact match
    _generation("KEYWAY: KW1\nBITTING: 1,2,3,4,7\nBRAND: Kwikset", 0.6),  # compliant, one cut wrong
    _generation("BRAND: Schlage\nKEYWAY: SC4\nBITTING: 4,3,2", 0.99),  # not compliant: confidence 0
    _generation("I cannot read this key.", 0.99),  # not compliant: confidence 0
]


def test_score_generations_metrics_and_calibration():
    result = score_generations(RECORDS, GENERATIONS, bins=10)
    metrics = result.metrics
    assert metrics["test_images"] == 4
    assert (metrics["format_compliance"], metrics["keyway_accuracy"], metrics["exact_match"]) == (0.5, 0.5, 0.25)
    assert set(metrics["per_keyway"]) == {"A2", "KW1", "SC1"}
    # confidences 0.9 (right), 0.6 (wrong), 0, 0 (wrong); bins 9, 6, 0, 0
    calibration = metrics["calibration"]
    assert calibration["correct_means"] == "exact_match"
    assert calibration["mean_confidence"] == 0.375  # 1.5 / 4
    assert calibration["ece"] == 0.175  # (|1 - 0.9| + |0 - 0.6| + 0 + 0) / 4
    assert calibration["brier"] == 0.0925  # (0.01 + 0.36) / 4
    # one-token generations give each read field the generation's probability. Keyway: 0.9 right, 0.6 right,
    # 0.99 wrong (SC4), not read (0, wrong). Bin 6: |1 - 0.6| = 0.4; bin 9: |(1 - 0.9) + (0 - 0.99)| = 0.89; bin 0: 0
    assert calibration["fields"]["keyway"]["mean_confidence"] == round((0.9 + 0.6 + 0.99) / 4, 6)
    assert calibration["fields"]["keyway"]["ece"] == round((0.4 + abs(1 - 0.9 - 0.99)) / 4, 6)
    assert [(r["bin"], r["count"], r["accuracy"]) for r in result.plots["reliability"]] == [
        (0, 2, 0.0), (6, 1, 0.0), (9, 1, 1.0)
    ]
    confusion = result.plots["confusion"]
    assert [(r["id"], r["actual"], r["predicted"], r["correct"]) for r in confusion] == [
        ("synthetic-000001", "SC1", "SC1", True),
        ("synthetic-000002", "KW1", "KW1", False),
        ("synthetic-000003", "SC1", "SC4", False),
        ("synthetic-000004", "A2", "(none)", False),
    ]
    assert [r["confidence"] for r in confusion] == [0.9, 0.6, 0.0, 0.0]
    assert set(result.plots) == set(PLOT_FILES)


def test_result_writes_metrics_plot_data_and_figure(tmp_path):
    result = score_generations(RECORDS, GENERATIONS, bins=10)
    result.write(tmp_path / "metrics" / "benchmark.json", tmp_path / "plots")
    assert json.loads((tmp_path / "metrics" / "benchmark.json").read_text())["exact_match"] == 0.25
    for filename in PLOT_FILES.values():
        rows = json.loads((tmp_path / "plots" / filename).read_text())
        assert isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows)
    assert (tmp_path / "plots" / "benchmark.png").read_bytes().startswith(b"\x89PNG")


def test_score_generations_refuses_a_count_mismatch():
    with pytest.raises(ValueError, match="4 test records but 3 generations"):
        score_generations(RECORDS, GENERATIONS[:3], bins=10)


def test_latency_metrics():
    # four images in two batches of two: 1 s and 3 s; 4 s in all
    latency = latency_metrics([1.0, 1.0, 3.0, 3.0], total_s=4.0)
    assert latency == {"p50_s": 2.0, "p95_s": 3.0, "mean_s": 2.0, "images_per_s": 1.0, "total_s": 4.0}


def _splits(**test_overrides):
    train = [_record(10, "SC1", (1, 1, 1, 1, 1), "Schlage"), _record(11, "KW1", (2, 2, 2, 2, 2), "Kwikset")]
    val = [_record(20, "Y1", (0, 0, 0, 0, 0), "Yale")]
    test = [_record(30, "SC1", (4, 4, 4, 4, 4), "Schlage")]
    test.extend(_record(**kw) for kw in test_overrides.values())
    return {"train": train, "val": val, "test": test}


def test_clean_split_passes():
    check_test_split(_splits())


@pytest.mark.parametrize(
    ("leak", "message"),
    [
        (dict(i=11, keyway="WR3", bitting=(5, 5, 5, 5, 5), brand="Weiser"), r"synthetic-000011 id .* train record"),
        (dict(i=31, keyway="WR3", bitting=(5, 5, 5, 5, 5), brand="Weiser", sha=f"{20:064x}"), r"sha256 .* val record"),
        (dict(i=32, keyway="SC1", bitting=(1, 1, 1, 1, 1), brand="Schlage"), r"group SC1:1,1,1,1,1 .* train record"),
    ],
)
def test_leaks_into_test_are_refused(leak, message):
    with pytest.raises(SplitLeakError, match=message):
        check_test_split(_splits(leak=leak))


def test_empty_test_split_is_refused():
    with pytest.raises(SplitLeakError, match="test split is empty"):
        check_test_split({"train": [], "val": [], "test": []})


def test_config_from_the_real_params():
    params = load_params(Path(__file__).parents[2] / "params.yaml")
    config = BenchmarkConfig.from_params(params)
    assert config.seed == params["base"]["seed"]
    assert config.batch_size >= 1


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("batch_size", 0, "benchmark.batch_size must be >= 1, got 0"),
        ("device", "tpu", "benchmark.device must be one of auto, cpu, cuda"),
        ("dtype", "int8", "benchmark.dtype must be one of auto, float32"),
        ("calibration_bins", 0, "benchmark.calibration_bins must be >= 1"),
    ],
)
def test_config_range_checks_name_the_key(key, value, message):
    params = {"base": {"seed": 1}, "benchmark": {key: value}}
    with pytest.raises(ConfigError, match=message):
        BenchmarkConfig.from_params(params)
