"""The export stage: build each selected format, run it in its own runtime, compare it with PyTorch.

Every format is an `Exporter` (build the artifacts into a folder, then load them into a `Runner`
that answers images with greedy text). The reference is the merged model in PyTorch
(transformers); each format answers the same test-split images and is scored on agreement: the
share of images whose parsed answer (keyway, bitting, brand) is identical to the reference's, and
the share whose text is identical.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from PIL import Image
from tqdm import tqdm

from keylike.config import base_seed, check, config_from_block
from keylike.errors import ExportParityError, KeylikeError
from keylike.evaluation.parsing import parse_fields
from keylike.io import atomic_directory, write_json, write_jsonl
from keylike.model.inference import DEVICES, DTYPES

FORMATS = ("adapter", "merged", "litertlm", "gguf")
"""Formats the stage can build, in build order."""

PARITY_NAME = "parity.jsonl"
"""File in the export folder with every parity answer (reference and each format), per image."""


@dataclass(frozen=True)
class ExportConfig:
    """The `export` block of params.yaml (plus `base.seed`)."""

    formats: tuple[str, ...]
    """Formats to build and check: `adapter`, `merged`, `litertlm`, `gguf`."""
    min_agreement: float
    """Least share of parity images whose parsed answer matches the PyTorch merged model's."""
    parity_samples: int
    """Test-split images each format answers in the parity check."""
    seed: int
    """base.seed: picks the parity images."""
    max_new_tokens: int = 32
    """Longest parity answer in tokens (a full answer is about 20)."""
    device: str = "auto"
    """Device of the PyTorch runs: `auto` (CUDA when available), `cpu` or `cuda`."""
    dtype: str = "auto"
    """Dtype of the PyTorch runs: `auto` (bfloat16 on CUDA, float32 on CPU), `float32`, `bfloat16`."""
    gguf_outtype: str = "f16"
    """llama.cpp weight type of the GGUF text model and vision projector: `f32`, `f16`, `bf16`, `q8_0`."""
    litertlm_quantization: str = "none"
    """litert-torch quantisation recipe of the LiteRT-LM decoder, e.g. `dynamic_wi8_afp32`; `none` keeps float32."""
    litertlm_cache_length: int = 256
    """KV-cache length of the LiteRT-LM decoder (prompt plus answer tokens)."""
    cpu_threads: int = 1
    """Threads of every runtime on a CPU (1 gives stable timings and bit-identical runs)."""

    def __post_init__(self) -> None:
        check(len(self.formats) > 0, "export.formats", f"must name at least one of {', '.join(FORMATS)}")
        unknown = sorted(set(self.formats) - set(FORMATS))
        check(not unknown, "export.formats", f"has unknown format(s) {', '.join(unknown)}; known: {', '.join(FORMATS)}")
        check(len(set(self.formats)) == len(self.formats), "export.formats", f"lists a format twice: {list(self.formats)}")
        check(0 <= self.min_agreement <= 1, "export.min_agreement", f"must be in [0, 1], got {self.min_agreement}")
        check(self.parity_samples >= 1, "export.parity_samples", f"must be >= 1, got {self.parity_samples}")
        check(self.max_new_tokens >= 1, "export.max_new_tokens", f"must be >= 1, got {self.max_new_tokens}")
        check(self.device in DEVICES, "export.device", f"must be one of {', '.join(DEVICES)}, got {self.device!r}")
        check(self.dtype in DTYPES, "export.dtype", f"must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        check(self.gguf_outtype in ("f32", "f16", "bf16", "q8_0"), "export.gguf_outtype",
              f"must be f32, f16, bf16 or q8_0, got {self.gguf_outtype!r}")
        check(self.litertlm_cache_length >= 64, "export.litertlm_cache_length", f"must be >= 64, got {self.litertlm_cache_length}")
        check(self.cpu_threads >= 1, "export.cpu_threads", f"must be >= 1, got {self.cpu_threads}")

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> ExportConfig:
        """Build from params.yaml (`export` block plus base.seed)."""
        return config_from_block(cls, params, "export", seed=base_seed(params))


@dataclass(frozen=True)
class Sources:
    """What the formats are built from: the trained adapter and the merged 16-bit model."""

    adapter_dir: Path
    merged_dir: Path


Runner = Callable[[Image.Image], str]
"""A loaded model: one image in, the greedy answer text out."""


class Exporter(Protocol):
    """One export format: which runtime runs it, how to build it, how to load it."""

    name: str
    runtime: str

    def check_tools(self) -> None:
        """Raise ExportToolsMissingError when this format's build or runtime tools are not installed."""

    def build(self, sources: Sources, out_dir: Path, config: ExportConfig) -> None:
        """Write the format's files into `out_dir` (an empty folder)."""

    def load(self, out_dir: Path, config: ExportConfig) -> Runner:
        """Load the files in `out_dir` in the format's own runtime."""

    def versions(self) -> dict[str, str]:
        """Versions of the tools that built and ran the format."""


@dataclass
class FormatReport:
    """Size, speed and agreement with the reference of one format (or of the reference itself)."""

    name: str
    runtime: str
    size_bytes: int
    build_s: float
    load_s: float
    latency_s_per_image: float
    answer_agreement: float
    text_agreement: float
    versions: dict[str, str]
    texts: list[str] = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        """The metrics entry (answers go to the parity file, not here)."""
        return {
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
        }

    def parity_rows(self) -> list[dict[str, Any]]:
        """One row per parity image: its id, the reference answer and each format's answer."""
        return [
            {"id": image_id, "reference": self.reference.texts[i], **{n: r.texts[i] for n, r in self.formats.items()}}
            for i, image_id in enumerate(self.image_ids)
        ]

    def write(self, metrics_path: Path | str) -> None:
        """Write metrics/export.json."""
        write_json(metrics_path, self.to_json())

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
    same = sum(_fields(a) == _fields(b) for a, b in zip(reference, candidate, strict=True))
    return same / len(reference)


def text_agreement(reference: Sequence[str], candidate: Sequence[str]) -> float:
    """Share of answers whose text (surrounding whitespace ignored) equals the reference's."""
    return sum(a.strip() == b.strip() for a, b in zip(reference, candidate, strict=True)) / len(reference)


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
    from keylike.model.export import gguf, litertlm, transformers_formats

    exporters: dict[str, Exporter] = {
        "adapter": transformers_formats.AdapterExporter(),
        "merged": transformers_formats.MergedExporter(),
        "litertlm": litertlm.LiteRtLmExporter(),
        "gguf": gguf.GgufExporter(),
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
    """Build every format in `config.formats` into `out_dir/<format>` and check each against PyTorch."""
    from keylike.model.dataset import load_image, read_split
    from keylike.model.export.transformers_formats import MergedExporter

    exporters = [exporter_for(name) for name in FORMATS if name in config.formats]
    for exporter in exporters:
        exporter.check_tools()
    sources = Sources(Path(adapter_dir), Path(merged_dir))
    for path, what in ((sources.adapter_dir, "adapter"), (sources.merged_dir, "merged model")):
        if not path.is_dir():
            raise KeylikeError(f"{what} folder {path} not found; run the train and merge stages first (dvc repro merge)")
    records = pick_parity_records(read_split(split_dir, "test"), config.parity_samples, config.seed)
    images = [load_image(images_dir, record) for record in records]
    reference = _run(MergedExporter(), sources.merged_dir, config, images, None, build_s=0.0, name="reference")
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
    return report


def _run(exporter: Exporter, folder: Path, config: ExportConfig, images: Sequence[Image.Image],
         reference: Sequence[str] | None, build_s: float, name: str) -> FormatReport:
    """Load `folder` in the exporter's runtime, answer the images, and compare with `reference`."""
    size_bytes = folder_size(folder)  # before loading: a runtime may write caches beside its files
    started = time.perf_counter()
    runner = exporter.load(folder, config)
    load_s = time.perf_counter() - started
    texts, latency = run_format(runner, images, desc=f"parity {name}")
    reference = texts if reference is None else reference
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
