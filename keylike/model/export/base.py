"""What the export stage and every format share: the `export` config, the sources, the Exporter protocol."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from PIL import Image

from keylike.config import base_seed, check, config_from_block
from keylike.keys import MAX_ANSWER_TOKENS
from keylike.model.inference import DEVICES, DTYPES

FORMATS = ("adapter", "merged", "litertlm", "gguf")
"""Formats the stage can build, in build order."""


@dataclass(frozen=True)
class ExportConfig:
    """The `export` block of params.yaml (plus `base.seed`)."""

    formats: tuple[str, ...]
    """Formats to build and check: `adapter`, `merged`, `litertlm`, `gguf`."""
    min_agreement: float
    """Least share of parity images whose parsed answer matches the reference's (the adapter on its base model)."""
    parity_samples: int
    """Test-split images each format answers in the parity check."""
    seed: int
    """base.seed: picks the parity images."""
    max_new_tokens: int = MAX_ANSWER_TOKENS
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
    """Threads of every runtime on a CPU (the same count gives the same bytes on any machine)."""

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
