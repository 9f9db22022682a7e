"""The benchmark stage: answer every test image with the merged model and score the answers.

Only the test split is scored, and it is first checked to share no record, image (sha256) or
physical key (keyway + bitting) with the train and val splits: a leak raises SplitLeakError.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from keylike.config import base_seed, check, config_from_block
from keylike.data.manifest import ManifestRecord
from keylike.data.split import read_splits
from keylike.errors import KeylikeError
from keylike.evaluation.confidence import (
    answer_confidence,
    brier_score,
    expected_calibration_error,
    field_calibration,
    field_confidences,
    reliability_bins,
    round_confidence,
)
from keylike.evaluation.latency import percentile
from keylike.evaluation.metrics import (
    depth_error_histogram,
    field_metrics,
    is_exact_match,
    keyway_confusion,
    per_keyway_metrics,
    per_position_accuracy,
)
from keylike.evaluation.threshold import (
    TEMPERATURES,
    Calibration,
    choose_min_confidence,
    log_loss,
    presented,
)
from keylike.io import write_json, write_metrics
from keylike.keys import MAX_ANSWER_TOKENS, NO_KEY, parse_fields
from keylike.model.inference import (
    DEVICES,
    DTYPES,
    generate_answers,
    generate_at_temperatures,
    load_for_inference,
)
from keylike.numerics import set_cpu_threads

PLOT_FILES = {
    "confusion": "confusion.json",
    "per_position": "per_position.json",
    "depth_error": "depth_error.json",
    "reliability": "reliability.json",
}
"""The plot data files the stage writes under its --plots folder (declared in dvc.yaml)."""
FIGURE_FILE = "benchmark.png"
HEADLINE = ("keyway_accuracy", "per_cut_accuracy", "exact_match", "calibration.ece")
"""The numbers metrics/benchmark.json keeps (with each source's exact match); the rest go to metrics/details/."""


class SplitLeakError(KeylikeError):
    """The test split shares records, images or keys with the train or val split."""


@dataclass(frozen=True)
class BenchmarkConfig:
    """The `benchmark` block of params.yaml."""

    seed: int
    """base.seed (set before generating; greedy decoding does not sample)."""
    batch_size: int = 16
    """Test images per generate() call."""
    max_new_tokens: int = MAX_ANSWER_TOKENS
    """Longest answer in tokens; a full answer is about 20."""
    calibration_bins: int = 10
    """Equal-width confidence bins for the expected calibration error and the reliability diagram."""
    device: str = "auto"
    """`auto` (CUDA when available, else CPU), `cpu` or `cuda`."""
    dtype: str = "auto"
    """Weights dtype: `auto` (bfloat16 on CUDA, float32 on CPU), `float32`, `bfloat16` or `float16`."""
    cache_implementation: str | None = None
    """KV cache for generate(), e.g. `static` on a GPU; null for the model's default."""
    warmup_batches: int = 1
    """Untimed batches run first (kernel selection, compilation, caches)."""
    cpu_threads: int = 1
    """torch threads on a CPU (the same count gives the same bytes on any machine); 0 keeps torch's default."""
    grammar: bool = True
    """Decode inside the answer grammar (keylike.model.grammar), as `keylike serve` and `predict` do;
    false measures what the model writes unconstrained."""

    def __post_init__(self) -> None:
        check(self.batch_size >= 1, "benchmark.batch_size", f"must be >= 1, got {self.batch_size}")
        check(self.max_new_tokens >= 1, "benchmark.max_new_tokens", f"must be >= 1, got {self.max_new_tokens}")
        check(self.calibration_bins >= 1, "benchmark.calibration_bins", f"must be >= 1, got {self.calibration_bins}")
        check(self.device in DEVICES, "benchmark.device", f"must be one of {', '.join(DEVICES)}, got {self.device!r}")
        check(self.dtype in DTYPES, "benchmark.dtype", f"must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        check(self.warmup_batches >= 0, "benchmark.warmup_batches", f"must be >= 0, got {self.warmup_batches}")
        check(self.cpu_threads >= 0, "benchmark.cpu_threads", f"must be >= 0, got {self.cpu_threads}")

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> BenchmarkConfig:
        """Build from params.yaml (`benchmark` block plus base.seed)."""
        return config_from_block(cls, params, "benchmark", seed=base_seed(params))


@dataclass(frozen=True)
class BenchmarkResult:
    """Metrics (metrics/benchmark.json) and the rows of each plot data file."""

    metrics: dict[str, Any]
    plots: dict[str, list[dict]]

    def write(self, metrics_path: Path, plots_dir: Path) -> None:
        """Write the metrics JSON, the plot data files and a PNG of the four plots."""
        from keylike.evaluation.plots import render_figure

        per_source = [f"per_source.{source}.exact_match" for source in self.metrics.get("per_source", {})]
        write_metrics(metrics_path, self.metrics, (*HEADLINE, *per_source))
        for name, filename in PLOT_FILES.items():
            write_json(plots_dir / filename, self.plots[name])
        render_figure(self.plots, plots_dir / FIGURE_FILE)


def check_test_split(splits: dict[str, list[ManifestRecord]]) -> None:
    """Raise SplitLeakError if a test record shares its id, image sha256 or key with train or val."""
    if not splits["test"]:
        raise SplitLeakError("the test split is empty: nothing to benchmark")
    seen = {"id": {}, "sha256": {}, "group": {}}
    for name in ("train", "val"):
        for record in splits[name]:
            for attribute, index in seen.items():
                index.setdefault(getattr(record, attribute), f"{name} record {record.id}")
    leaks = [
        f"test record {record.id} {attribute} {getattr(record, attribute)} is also in {index[getattr(record, attribute)]}"
        for record in splits["test"]
        for attribute, index in seen.items()
        if getattr(record, attribute) in index
    ]
    if leaks:
        shown = "; ".join(leaks[:5]) + (f"; ... {len(leaks) - 5} more" if len(leaks) > 5 else "")
        raise SplitLeakError(f"{len(leaks)} leak(s) from train/val into test: {shown}. Re-run the split stage.")


def no_key_metrics(truths: Sequence[Any], answers: Sequence[Any]) -> dict[str, Any]:
    """How photos with no key are told apart: share of them answered NO KEY, share of key photos answered NO KEY."""
    no_keys = [a for t, a in zip(truths, answers) if t.is_no_key]
    keys = [a for t, a in zip(truths, answers) if not t.is_no_key]
    return {
        "no_key_images": len(no_keys),
        "no_key_recognised": round(sum(a.keyway == NO_KEY for a in no_keys) / len(no_keys), 6) if no_keys else None,
        "key_called_no_key": round(sum(a.keyway == NO_KEY for a in keys) / len(keys), 6) if keys else None,
    }


def score_generations(
    records: Sequence[ManifestRecord], generations: Sequence[Any], bins: int, min_confidence: float = 0.0
) -> BenchmarkResult:
    """Field metrics (on key photos), no-key rates, confidence calibration (every photo) and plot rows of
    generations (with .text, .token_spans, .token_probs); `presented`: what `min_confidence` lets through."""
    if len(records) != len(generations):
        raise ValueError(f"{len(records)} test records but {len(generations)} generations")
    truths = [r.label for r in records]
    answers = [parse_fields(g.text) for g in generations]
    confidences = [answer_confidence(a, g.token_spans, g.token_probs) for a, g in zip(answers, generations)]
    correct = [is_exact_match(t, a) for t, a in zip(truths, answers)]
    keys = [i for i, t in enumerate(truths) if not t.is_no_key]
    metrics: dict[str, Any] = field_metrics([truths[i] for i in keys], [answers[i] for i in keys])
    metrics["test_images"] = len(records)
    metrics["key_images"] = metrics.pop("images")
    metrics.update(no_key_metrics(truths, answers))
    metrics["presented"] = presented(confidences, correct, min_confidence)
    metrics["calibration"] = {
        "correct_means": "exact_match",
        "bins": bins,
        "ece": expected_calibration_error(confidences, correct, bins),
        "brier": brier_score(confidences, correct),
        "mean_confidence": round_confidence(float(np.mean(confidences))),
        "fields": field_calibration(
            truths, answers, [field_confidences(a, g.token_spans, g.token_probs) for a, g in zip(answers, generations)], bins
        ),
    }
    metrics["per_keyway"] = per_keyway_metrics(truths, answers)
    metrics["per_source"] = per_source_metrics(records, answers)
    confusion = [
        {**row, "id": r.id, "answer": g.text, "confidence": round_confidence(c), "correct": ok}
        for row, r, g, c, ok in zip(keyway_confusion(truths, answers), records, generations, confidences, correct)
    ]
    plots = {
        "confusion": confusion,
        "per_position": per_position_accuracy(truths, answers),
        "depth_error": depth_error_histogram(truths, answers),
        "reliability": reliability_bins(confidences, correct, bins),
    }
    return BenchmarkResult(metrics, plots)


def per_source_metrics(records: Sequence[ManifestRecord], answers: Sequence[Any]) -> dict[str, dict[str, Any]]:
    """field_metrics of every photo (keys and no-key) of each source: `synthetic` and each user data set."""
    return {
        source: field_metrics([r.label for r in records if r.source == source],
                              [a for r, a in zip(records, answers) if r.source == source])
        for source in sorted({r.source for r in records})
    }


def calibrate_on_val(
    model_dir: Path, split_dir: Path, images_dir: Path, min_accuracy: float, *, batch_size: int = 16,
    max_new_tokens: int = MAX_ANSWER_TOKENS, dtype: str = "auto",
) -> dict[str, Any]:
    """Fit the model's calibration (temperature, then threshold) on the val split and store it in `model_dir`
    (keylike.evaluation.threshold); returns the evidence. `dtype`: as in `load_for_inference`."""
    records = read_splits(split_dir)["val"]
    images = [_open_image(images_dir, r) for r in records]
    model, processor = load_for_inference(model_dir, dtype=dtype)
    by_temperature = generate_at_temperatures(model, processor, images, TEMPERATURES, batch_size=batch_size,
                                              max_new_tokens=max_new_tokens, progress=True)
    fits = []
    for temperature, generations in by_temperature.items():
        answers = [parse_fields(g.text) for g in generations]
        confidences = [answer_confidence(a, g.token_spans, g.token_probs) for a, g in zip(answers, generations)]
        correct = [is_exact_match(r.label, a) for r, a in zip(records, answers)]
        fits.append((log_loss(confidences, correct), temperature, confidences, correct))
    loss, temperature, confidences, correct = min(fits, key=lambda fit: fit[0])
    calibration = Calibration(temperature, choose_min_confidence(confidences, correct, min_accuracy))
    shown = presented(confidences, correct, calibration.min_confidence)
    evidence = {"chosen_on": "val", "val_images": len(records), "val_log_loss": round(loss, 6),
                "min_presented_accuracy": min_accuracy, "val_coverage": shown["coverage"],
                "val_presented_accuracy": shown["accuracy"]}
    calibration.write(model_dir, evidence)
    return {"temperature": temperature, "min_confidence": calibration.min_confidence, **evidence}


def latency_metrics(latencies_s: Sequence[float], total_s: float) -> dict[str, float]:
    """p50/p95/mean of per-image latency (each image's batch wall time) and images per second."""
    return {
        "p50_s": round(percentile(latencies_s, 50), 6),
        "p95_s": round(percentile(latencies_s, 95), 6),
        "mean_s": round(float(np.mean(latencies_s)), 6),
        "images_per_s": round(len(latencies_s) / total_s, 6),
        "total_s": round(total_s, 6),
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / 1024**2 if sys.platform == "darwin" else peak / 1024, 1)


def run_benchmark(config: BenchmarkConfig, model_dir: Path, split_dir: Path, images_dir: Path) -> BenchmarkResult:
    """Check the split, answer every test image with the model in `model_dir`, and score the answers."""
    import torch

    splits = read_splits(split_dir)
    check_test_split(splits)
    records = splits["test"]
    images = [_open_image(images_dir, r) for r in records]
    torch.manual_seed(config.seed)
    if config.cpu_threads:
        set_cpu_threads(config.cpu_threads)
    model, processor = load_for_inference(model_dir, config.device, config.dtype)
    calibration = Calibration.read(model_dir)
    settings = dict(batch_size=config.batch_size, max_new_tokens=config.max_new_tokens,
                    cache_implementation=config.cache_implementation, temperature=calibration.temperature,
                    grammar=config.grammar)
    for _ in range(config.warmup_batches):
        generate_answers(model, processor, images[: config.batch_size], **settings)
    cuda = model.device.type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats(model.device)
    started = time.perf_counter()
    generations = generate_answers(model, processor, images, progress=True, **settings)
    total_s = time.perf_counter() - started
    result = score_generations(records, generations, config.calibration_bins, calibration.min_confidence)
    result.metrics["calibration"]["temperature"] = calibration.temperature
    result.metrics["latency"] = latency_metrics([g.latency_s for g in generations], total_s)
    result.metrics["latency"]["batch_size"] = config.batch_size
    result.metrics["memory"] = {
        "peak_rss_mb": peak_rss_mb(),
        "peak_gpu_mb": round(torch.cuda.max_memory_allocated(model.device) / 1024**2, 1) if cuda else None,
    }
    return result


def _open_image(images_dir: Path, record: ManifestRecord) -> Image.Image:
    path = images_dir / record.image
    if not path.is_file():
        raise KeylikeError(f"test record {record.id}: image {path} not found; is --images the ingested folder?")
    with Image.open(path) as image:
        return image.convert("RGB")
