"""The model's calibration, fitted on the val split: a temperature for its confidences, and the
confidence below which an answer is not presented as a reading.

The merge stage answers every val photo with the merged model, once. The temperature (which divides the
logits the token probabilities come from; greedy answers do not change) is the one of
`TEMPERATURES` whose confidences best predict an exact match (lowest log loss). The threshold is the
lowest confidence at which the answers it would present (confidence >= threshold) are exactly right
at least `merge.min_presented_accuracy` of the time. Both travel with the model in
`keylike_calibration.json`: `keylike serve`, `keylike predict` and the benchmark apply them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from keylike.io import write_json

CALIBRATION_NAME = "keylike_calibration.json"
"""File in a merged model folder holding its `temperature` and `min_confidence`."""
TEMPERATURES = (0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.75, 2.0, 2.5)
"""Candidate temperatures."""


def log_loss(confidences: Sequence[float], correct: Sequence[bool]) -> float:
    """Mean negative log-likelihood of the outcomes under the confidences (clipped to [1e-6, 1 - 1e-6])."""
    clipped = [min(max(c, 1e-6), 1 - 1e-6) for c in confidences]
    return -sum(math.log(c if ok else 1 - c) for c, ok in zip(clipped, correct, strict=True)) / max(1, len(correct))


def choose_min_confidence(confidences: Sequence[float], correct: Sequence[bool], min_accuracy: float) -> float:
    """The lowest threshold whose presented answers are at least `min_accuracy` exact; 1.0 when none is."""
    if len(confidences) != len(correct):
        raise ValueError(f"{len(confidences)} confidences but {len(correct)} outcomes")
    threshold, hits = 1.0, 0
    for seen, (confidence, ok) in enumerate(sorted(zip(confidences, correct), key=lambda p: -p[0]), start=1):
        hits += bool(ok)
        if hits / seen >= min_accuracy:
            threshold = float(confidence)
    return threshold


def presented(confidences: Sequence[float], correct: Sequence[bool], min_confidence: float) -> dict[str, float | None]:
    """Share of answers presented at `min_confidence`, and the exact-match accuracy of those."""
    shown = [ok for c, ok in zip(confidences, correct, strict=True) if c >= min_confidence]
    return {
        "min_confidence": min_confidence,
        "coverage": round(len(shown) / len(correct), 6) if correct else None,
        "accuracy": round(sum(shown) / len(shown), 6) if shown else None,
    }


@dataclass(frozen=True)
class Calibration:
    """How a model's confidences are read: the temperature, and the threshold for presenting a reading."""

    temperature: float = 1.0
    min_confidence: float = 0.0

    def write(self, model_dir: Path | str, evidence: dict[str, Any]) -> None:
        """Store it (and how it was chosen) in the model folder."""
        write_json(Path(model_dir) / CALIBRATION_NAME, {**asdict(self), **evidence})

    @classmethod
    def read(cls, model_dir: Path | str) -> Calibration:
        """The model folder's calibration; none (temperature 1, every answer presented) without the file."""
        path = Path(model_dir) / CALIBRATION_NAME
        if not path.is_file():
            return cls()
        values = json.loads(path.read_text())
        return cls(float(values["temperature"]), float(values["min_confidence"]))
