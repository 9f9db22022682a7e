"""LiteRT-LM: a `.litertlm` bundle (decoder, per-layer embedder, MobileNetV5 encoder and adapter,
tokenizer) built by litert-torch's `export_hf`, run by the `litert-lm` runtime (what Android, iOS and
the web run through MediaPipe's LLM Inference).

One fix is applied while exporting: transformers' `Gemma3nTextModel.get_per_layer_inputs` looks up
ids without the mask `Gemma3nModel.forward` applies first (ids of the vision and audio vocabularies
use the padding row), so the exported per-layer embedder failed at run time on any such id
("Embedding Lookup: index out of bounds. Got 446, and bounds are [0, 271]").
"""

from __future__ import annotations

import base64
import contextlib
import io
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from keylike.errors import KeylikeError
from keylike.keys import INSTRUCTION
from keylike.model.export.base import ExportConfig, Runner, Sources
from keylike.model.export.tools import package_versions, require

BUNDLE_NAME = "model.litertlm"
"""The bundle's file name inside the format folder."""

PREFILL_LENGTH = 64
"""Prefill signature length of the exported decoder (the prompt is about 40 tokens with the image)."""


class LiteRtLmExporter:
    """`.litertlm` bundle from the merged model; parity through `litert_lm.Engine` on the CPU."""

    name = "litertlm"
    runtime = "litert-lm"

    def check_tools(self) -> None:
        require(self.name, {"litert_torch": "litert-torch", "litert_lm": "litert-lm"})

    def build(self, sources: Sources, out_dir: Path, config: ExportConfig) -> None:
        from litert_torch.generative.export_hf import export as litert_export

        recipe = config.litertlm_quantization
        with tempfile.TemporaryDirectory(dir=out_dir.parent) as work, _masked_per_layer_inputs():
            litert_export.export(
                model=str(sources.merged_dir),
                output_dir=work,
                task="image_text_to_text",
                prefill_lengths=[PREFILL_LENGTH],
                cache_length=config.litertlm_cache_length,
                quantization_recipe=recipe,
                vision_encoder_quantization_recipe=recipe,
                export_vision_encoder=True,
                bundle_litert_lm=True,
            )
            bundle = Path(work) / BUNDLE_NAME
            if not bundle.is_file():
                raise KeylikeError(f"litert-torch export_hf wrote no {BUNDLE_NAME} into {work}")
            bundle.rename(out_dir / BUNDLE_NAME)

    def load(self, out_dir: Path, config: ExportConfig) -> Runner:
        return _EngineRunner(out_dir / BUNDLE_NAME, config)

    def versions(self) -> dict[str, str]:
        return package_versions("litert-torch", "litert-lm", "ai-edge-litert", "transformers")


class _EngineRunner:
    """A `litert_lm.Engine` on the CPU answering one image per conversation, greedily."""

    def __init__(self, bundle: Path, config: ExportConfig) -> None:
        import litert_lm

        self._cache = tempfile.TemporaryDirectory(prefix="litertlm-cache-")  # XNNPACK caches stay out of the export
        self._engine = litert_lm.Engine(
            str(bundle),
            backend=litert_lm.Backend.CPU(),
            vision_backend=litert_lm.Backend.CPU(),
            max_num_tokens=config.litertlm_cache_length,
            max_num_images=1,
            cache_dir=self._cache.name,
        )
        self._sampler = litert_lm.SamplerConfig(top_k=1, temperature=0.0)
        self._max_new_tokens = config.max_new_tokens

    def __call__(self, image: Any) -> str:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="PNG")
        blob = base64.b64encode(buffer.getvalue()).decode("ascii")
        message = {"role": "user", "content": [{"type": "image", "blob": blob}, {"type": "text", "text": INSTRUCTION}]}
        conversation = self._engine.create_conversation(sampler_config=self._sampler, max_output_tokens=self._max_new_tokens)
        try:
            reply = conversation.send_message(message).to_json()
        finally:
            conversation.close()
        return "".join(part.get("text", "") for part in reply["content"])


@contextlib.contextmanager
def _masked_per_layer_inputs() -> Iterator[None]:
    """Make `get_per_layer_inputs` map ids outside the per-layer vocabulary to 0, as `forward` does."""
    import torch
    from transformers.models.gemma3n import modeling_gemma3n

    original = modeling_gemma3n.Gemma3nTextModel.get_per_layer_inputs

    def masked(self: Any, input_ids: torch.Tensor) -> torch.Tensor:
        inside = torch.logical_and(input_ids >= 0, input_ids < self.config.vocab_size_per_layer_input)
        return original(self, torch.where(inside, input_ids, torch.zeros_like(input_ids)))

    modeling_gemma3n.Gemma3nTextModel.get_per_layer_inputs = masked
    try:
        yield
    finally:
        modeling_gemma3n.Gemma3nTextModel.get_per_layer_inputs = original
