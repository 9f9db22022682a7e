"""The export stage: build each selected format, run it in its own runtime, compare it with PyTorch.

Every format is an `Exporter` (build the artifacts into a folder, then load them into a `Runner`
that answers images with greedy text). The reference is what every format replaces: the trained
adapter on its base model in PyTorch (transformers + PEFT, loaded from the train stage's folder);
each format, `merged` included, answers the same test-split images and is scored on agreement with
it: the share of images whose parsed answer (keyway, bitting, brand) is identical to the
reference's, and the share whose text is identical.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image
from tqdm import tqdm

from keylike.errors import ExportParityError, KeylikeError
from keylike.io import atomic_directory, write_jsonl, write_metrics
from keylike.keys import parse_fields
from keylike.model.export.base import FORMATS, ExportConfig, Exporter, Runner, Sources
from keylike.model.export.gguf import GgufExporter
from keylike.model.export.litertlm import LiteRtLmExporter
from keylike.model.export.transformers_formats import AdapterExporter, MergedExporter

PARITY_NAME = "parity.jsonl"
"""File in the export folder with every parity answer (reference and each format), per image."""


@dataclass
class FormatReport:
    """Size, speed and agreement with the reference of one format (agreements None: the reference itself)."""

    name: str
    runtime: str
    size_bytes: int
    build_s: float
    load_s: float
    latency_s_per_image: float
    answer_agreement: float | None
    text_agreement: float | None
    versions: dict[str, str]
    texts: list[str] = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        """The metrics entry (answers go to the parity file, not here; the reference has no agreement)."""
        entry = {
            "runtime": self.runtime,
            "size_bytes": self.size_bytes,
            "size_mb": round(self.size_bytes / 1024**2, 3),
            "build_s": round(self.build_s, 3),
            "load_s": round(self.load_s, 3),
            "latency_s_per_image": round(self.latency_s_per_image, 4),
            "answer_agreement": self.answer_agreement,
            "text_agreement": self.text_agreement,
            "versions": self.versions,
        }
        return {k: v for k, v in entry.items() if v is not None}

    def card_metrics(self) -> dict[str, Any]:
        """to_json() without the timings, which vary per run: what a model card in the (hashed) export folder shows."""
        return {k: v for k, v in self.to_json().items() if k not in TIMINGS}


TIMINGS = ("build_s", "load_s", "latency_s_per_image")
"""FormatReport's fields measured in seconds: in metrics/details/export.json, kept out of the export folder."""


@dataclass
class ExportReport:
    """The outcome of one export: the reference run, every format's report, and the threshold."""

    config: ExportConfig
    image_ids: list[str]
    reference: FormatReport
    formats: dict[str, FormatReport]

    @property
    def failing(self) -> list[str]:
        """Formats whose answer agreement is below `export.min_agreement`."""
        return [name for name, r in self.formats.items() if r.answer_agreement < self.config.min_agreement]

    def to_json(self) -> dict[str, Any]:
        """metrics/export.json."""
        return {
            "parity_samples": len(self.image_ids),
            "min_agreement": self.config.min_agreement,
            "reference": self.reference.to_json(),
            "formats": {name: r.to_json() for name, r in self.formats.items()},
            "failing": self.failing,
            "lowest_agreement": min(r.answer_agreement for r in self.formats.values()),
        }

    def parity_rows(self) -> list[dict[str, Any]]:
        """One row per parity image: its id, the reference answer and each format's answer."""
        return [
            {"id": image_id, "reference": self.reference.texts[i], **{n: r.texts[i] for n, r in self.formats.items()}}
            for i, image_id in enumerate(self.image_ids)
        ]

    def write(self, metrics_path: Path | str) -> None:
        """Write metrics/export.json (the lowest answer agreement of any format) and the rest to metrics/details/."""
        write_metrics(metrics_path, self.to_json(), ("lowest_agreement",))

    def raise_for_parity(self) -> None:
        """Raise ExportParityError naming each format below the threshold and its agreement."""
        if self.failing:
            details = ", ".join(f"{n} {self.formats[n].answer_agreement:.3f}" for n in self.failing)
            raise ExportParityError(
                f"export parity below export.min_agreement={self.config.min_agreement}: {details} "
                f"(answers per image in {PARITY_NAME} of the export folder)"
            )


def answer_agreement(reference: Sequence[str], candidate: Sequence[str]) -> float:
    """Share of answers whose fields (keyway, bitting, brand, read line by line) equal the reference's."""
    _check_not_itself(reference, candidate)
    same = sum(_fields(a) == _fields(b) for a, b in zip(reference, candidate, strict=True))
    return same / len(reference)


def text_agreement(reference: Sequence[str], candidate: Sequence[str]) -> float:
    """Share of answers whose text (surrounding whitespace ignored) equals the reference's."""
    _check_not_itself(reference, candidate)
    return sum(a.strip() == b.strip() for a, b in zip(reference, candidate, strict=True)) / len(reference)


def _check_not_itself(reference: Sequence[str], candidate: Sequence[str]) -> None:
    """Refuse to score a run's answers against the very same answers (agreement 1.0 by construction)."""
    if reference is candidate:
        raise ValueError("parity compares a format with itself; score it against the adapter-on-base reference's answers")


def _fields(text: str) -> tuple[Any, ...]:
    parsed = parse_fields(text)
    return parsed.keyway, parsed.bitting, parsed.brand


def pick_parity_records(records: Sequence[Any], count: int, seed: int) -> list[Any]:
    """`count` records (all when there are fewer), chosen with `seed`, in their split order."""
    if count >= len(records):
        return list(records)
    chosen = set(random.Random(seed).sample(range(len(records)), count))
    return [r for i, r in enumerate(records) if i in chosen]


def folder_size(path: Path) -> int:
    """Bytes of every file under `path`."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def exporter_for(name: str) -> Exporter:
    """The exporter of format `name`."""
    exporters: dict[str, Exporter] = {
        "adapter": AdapterExporter(),
        "merged": MergedExporter(),
        "litertlm": LiteRtLmExporter(),
        "gguf": GgufExporter(),
    }
    return exporters[name]


def run_format(runner: Runner, images: Sequence[Image.Image], desc: str) -> tuple[list[str], float]:
    """Answer every image one at a time (batch 1, as on a device); the texts and seconds per image."""
    texts = []
    started = time.perf_counter()
    for image in tqdm(images, desc=desc, unit="image"):
        texts.append(runner(image))
    return texts, (time.perf_counter() - started) / len(images)


def export_model(config: ExportConfig, *, adapter_dir: Path, merged_dir: Path, split_dir: Path,
                 images_dir: Path, out_dir: Path) -> ExportReport:
    """Build every format in `config.formats` into `out_dir/<format>` and check each against the adapter on its base."""
    from keylike.data.split import read_split
    from keylike.model.dataset import load_image

    exporters = [exporter_for(name) for name in FORMATS if name in config.formats]
    for exporter in exporters:
        exporter.check_tools()
    sources = Sources(Path(adapter_dir), Path(merged_dir))
    for path, what in ((sources.adapter_dir, "adapter"), (sources.merged_dir, "merged model")):
        if not path.is_dir():
            raise KeylikeError(f"{what} folder {path} not found; run the train and merge stages first (dvc repro merge)")
    records = pick_parity_records(read_split(split_dir, "test"), config.parity_samples, config.seed)
    images = [load_image(images_dir, record) for record in records]
    reference = _reference_run(sources.adapter_dir, config, images)
    reports: dict[str, FormatReport] = {}
    with atomic_directory(out_dir) as tmp:
        for exporter in exporters:
            folder = tmp / exporter.name
            folder.mkdir()
            started = time.perf_counter()
            exporter.build(sources, folder, config)
            build_s = time.perf_counter() - started
            reports[exporter.name] = _run(exporter, folder, config, images, reference.texts, build_s, exporter.name)
        report = ExportReport(config, [r.id for r in records], reference, reports)
        write_jsonl(tmp / PARITY_NAME, report.parity_rows())
        write_export_cards(report, tmp, sources.adapter_dir, split_dir)
    return report


def write_export_cards(report: ExportReport, out_dir: Path, adapter_dir: Path, split_dir: Path) -> None:
    """A model card (README.md) in each format's folder: what it is, its base, data, parity and hashes."""
    from keylike.model.adapter import read_adapter_info
    from keylike.model.card import ModelCard, split_counts, write_model_card

    info, data = read_adapter_info(adapter_dir), split_counts(split_dir)
    for name, format_report in report.formats.items():
        write_model_card(out_dir / name, ModelCard(
            title=f"keylike: export `{name}` ({format_report.runtime})",
            summary=f"The fine-tuned keylike model as `{name}`, checked against the adapter on its base model on "
                    f"{len(report.image_ids)} test-split photos in its own runtime (answers in `../{PARITY_NAME}`).",
            base_model=info.base_model,
            data=data,
            params={"train": asdict(info), "export": asdict(report.config)},
            metrics=format_report.card_metrics(),
        ))


def _reference_run(adapter_dir: Path, config: ExportConfig, images: Sequence[Image.Image]) -> FormatReport:
    """The reference answers: the trained adapter on its base model, loaded from the train stage's folder."""
    exporter = AdapterExporter()
    size_bytes = folder_size(adapter_dir)
    started = time.perf_counter()
    runner = exporter.load(adapter_dir, config)
    load_s = time.perf_counter() - started
    texts, latency = run_format(runner, images, desc="parity reference")
    return FormatReport("reference", exporter.runtime, size_bytes, 0.0, load_s, latency, None, None, exporter.versions(), texts)


def _run(exporter: Exporter, folder: Path, config: ExportConfig, images: Sequence[Image.Image],
         reference: Sequence[str], build_s: float, name: str) -> FormatReport:
    """Load `folder` in the exporter's runtime, answer the images, and compare with the `reference` answers."""
    size_bytes = folder_size(folder)  # before loading: a runtime may write caches beside its files
    started = time.perf_counter()
    runner = exporter.load(folder, config)
    load_s = time.perf_counter() - started
    texts, latency = run_format(runner, images, desc=f"parity {name}")
    return FormatReport(
        name=name,
        runtime=exporter.runtime,
        size_bytes=size_bytes,
        build_s=build_s,
        load_s=load_s,
        latency_s_per_image=latency,
        answer_agreement=answer_agreement(reference, texts),
        text_agreement=text_agreement(reference, texts),
        versions=exporter.versions(),
        texts=texts,
    )
