"""A loaded model that turns photos into the web app's JSON; loads once, answers in batches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from PIL import Image
from tqdm import tqdm

from keylike.evaluation.confidence import answer_confidence
from keylike.evaluation.threshold import Calibration
from keylike.keys import MAX_ANSWER_TOKENS, parse_fields
from keylike.serving.images import BadImageError, ImageLimits, decode_image
from keylike.serving.response import analyze_answer


@dataclass(frozen=True)
class Answer:
    """One model answer and its confidence in [0, 1] (keylike.evaluation.confidence)."""

    text: str
    confidence: float


class Predictor(Protocol):
    """What the HTTP layer and `keylike predict` need from a model."""

    name: str
    """Shown by GET /health (the model directory)."""
    min_confidence: float
    """Readings below this confidence are answered `low_confidence` (keylike.evaluation.threshold)."""

    def generate(self, images: Sequence[Image.Image]) -> Sequence[Answer]:
        """One answer per image, in order, from one generate call."""
        ...


class ModelPredictor:
    """A merged keylike model loaded once from `model_dir`; `generate` runs one batched generate call."""

    def __init__(self, model_dir: Path, *, max_new_tokens: int = MAX_ANSWER_TOKENS, device: str = "auto", dtype: str = "auto") -> None:
        self.name = str(model_dir)
        self.max_new_tokens = max_new_tokens
        from keylike.model.inference import load_for_inference

        self.calibration = Calibration.read(model_dir)
        self.min_confidence = self.calibration.min_confidence
        self.model, self.processor = load_for_inference(model_dir, device, dtype)

    def generate(self, images: Sequence[Image.Image]) -> list[Answer]:
        """Greedy answers for `images` (keylike.model.inference), each with its confidence."""
        from keylike.model.inference import AUTO_CACHE, generate_answers

        generations = generate_answers(
            self.model, self.processor, list(images), batch_size=max(1, len(images)), max_new_tokens=self.max_new_tokens,
            cache_implementation=AUTO_CACHE,  # static + compiled decode on a GPU: fastest measured
            temperature=self.calibration.temperature,
        )
        return [
            Answer(g.text, answer_confidence(parse_fields(g.text), g.token_spans, g.token_probs)) for g in generations
        ]


def analyze_images(predictor: Predictor, images: Sequence[Image.Image]) -> list[dict[str, Any]]:
    """The web app's JSON for each image (one generate call)."""
    return [analyze_answer(a.text, float(a.confidence), predictor.min_confidence) for a in predictor.generate(images)]


def _read_photo(path: Path, limits: ImageLimits) -> Image.Image:
    if not path.is_file():
        raise BadImageError(404, "not_found", f"{path} is not a file")
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise BadImageError(413, "too_many_bytes", f"{path} has {size} bytes, over the limit of {limits.max_bytes}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadImageError(400, "unreadable_file", f"{path} cannot be read: {exc.strerror or exc}") from exc
    return decode_image(data, limits)


def predict_files(
    predictor: Predictor, paths: Sequence[Path], limits: ImageLimits, *, batch_size: int = 8
) -> Iterator[dict[str, Any]]:
    """The web app's JSON for each photo, in order, with its `image` path; `batch_size` photos per generate call.

    A file that cannot be used gives `{image, success: false, error, message}` and the others go on.
    A progress bar (stderr) shows when there is more than one batch.
    """
    with tqdm(total=len(paths), unit="image", desc="predict", disable=len(paths) <= batch_size) as bar:
        for start in range(0, len(paths), batch_size):
            chunk = paths[start : start + batch_size]
            rows: dict[int, dict[str, Any]] = {}
            images: dict[int, Image.Image] = {}
            for i, path in enumerate(chunk):
                try:
                    images[i] = _read_photo(Path(path), limits)
                except BadImageError as exc:
                    rows[i] = {"success": False, "error": exc.code, "message": f"{path}: {exc.message}"}
            if images:
                rows.update(zip(images, analyze_images(predictor, list(images.values())), strict=True))
            for i, path in enumerate(chunk):
                yield {"image": str(path), **rows[i]}
            bar.update(len(chunk))
