"""Merging on the tiny model: same outputs as base + adapter, 16-bit files, plain transformers reload."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open

from keylike.config import load_params
from keylike.errors import ConfigError
from keylike.model.merging import MergeConfig, merge_adapter

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parents[2]


def merge_config(**overrides) -> MergeConfig:
    return replace(MergeConfig.from_params(load_params(REPO / "params.yaml")), **overrides)


def model_inputs(processor):
    image = Image.fromarray(np.random.default_rng(1).integers(0, 256, (70, 90, 3), dtype=np.uint8))
    prompt = processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "key?"}]}], tokenize=False, add_generation_prompt=True
    )
    return processor(images=[image], text=[prompt], return_tensors="pt")


@pytest.mark.parametrize(
    "overrides",
    [{"lora_scope": "language"}, {"lora_scope": "encoder", "modules_to_save": ("embed_vision", "embed_tokens")}],
    ids=["language", "encoder+modules_to_save"],
)
def test_merged_model_answers_like_base_plus_adapter(tmp_path, overrides, make_adapter):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    adapter, backend = make_adapter(tmp_path / "adapter", **overrides)
    merge_adapter(merge_config(dtype="float32"), adapter_dir=adapter, out_dir=tmp_path / "merged")
    merged = AutoModelForImageTextToText.from_pretrained(tmp_path / "merged").eval()
    processor = AutoProcessor.from_pretrained(tmp_path / "merged")
    inputs = model_inputs(processor)
    backend.model.eval()
    with torch.inference_mode():
        expected = backend.model(**inputs).logits
        got = merged(**inputs).logits
    assert not any("lora" in name for name in merged.state_dict())
    torch.testing.assert_close(got, expected, atol=2e-4, rtol=1e-4)


def test_saved_weights_are_16_bit_with_the_processor(tmp_path, make_adapter):
    adapter, _ = make_adapter(tmp_path / "adapter")
    metrics = merge_adapter(merge_config(dtype="bfloat16"), adapter_dir=adapter, out_dir=tmp_path / "merged")
    with safe_open(tmp_path / "merged" / "model.safetensors", "pt") as weights:
        dtypes = {weights.get_slice(name).get_dtype() for name in weights.keys()}
    assert dtypes == {"BF16"}
    assert {"processor_config.json", "tokenizer.json", "chat_template.jinja"} <= {p.name for p in (tmp_path / "merged").iterdir()}
    config = json.loads((tmp_path / "merged" / "config.json").read_text())
    assert "quantization_config" not in config
    assert metrics["dtype"] == "bfloat16" and metrics["trained_in_4bit"] is False


def test_smoke_check_records_the_answer_and_whether_it_parses(tmp_path, make_adapter):
    adapter, _ = make_adapter(tmp_path / "adapter")
    metrics = merge_adapter(merge_config(), adapter_dir=adapter, out_dir=tmp_path / "merged")
    assert isinstance(metrics["smoke_answer"], str)
    assert metrics["smoke_parsed"] is (metrics["smoke_parse_error"] is None)
    assert metrics["smoke_parsed"] is True  # random LoRA weights, but the answer grammar keeps the answer possible


def test_adapter_trained_in_4bit_is_merged_onto_the_16_bit_base(tmp_path, make_adapter):
    """An adapter made on a bitsandbytes 4-bit base (QLoRA) merges onto the full-precision base, as merged_16bit."""
    adapter, backend = make_adapter(tmp_path / "adapter", load_in_4bit=True, precision="bf16")
    assert any(type(m).__name__ == "Linear4bit" for m in backend.model.modules())
    metrics = merge_adapter(merge_config(dtype="bfloat16"), adapter_dir=adapter, out_dir=tmp_path / "merged")
    assert metrics["trained_in_4bit"] is True
    assert "quantization_config" not in json.loads((tmp_path / "merged" / "config.json").read_text())
    with safe_open(tmp_path / "merged" / "model.safetensors", "pt") as weights:
        assert {weights.get_slice(name).get_dtype() for name in weights.keys()} == {"BF16"}


def test_base_model_and_image_side_come_from_the_adapter_not_params(tmp_path, make_adapter):
    adapter, _ = make_adapter(tmp_path / "adapter")
    params = load_params(REPO / "params.yaml")
    params["train"].update(base_model="other/model", image_size=999)  # another stage's params: never read
    metrics = merge_adapter(MergeConfig.from_params(params), adapter_dir=adapter, out_dir=tmp_path / "merged")
    assert metrics["base_model"] == "tiny"
    processor = json.loads((tmp_path / "merged" / "processor_config.json").read_text())
    assert processor["image_processor"]["size"] == {"height": 64, "width": 64}


def test_adapter_without_train_info_says_how_to_make_one(tmp_path):
    with pytest.raises(ConfigError, match="has no keylike_train.json; train it with `dvc repro train`"):
        merge_adapter(merge_config(), adapter_dir=tmp_path, out_dir=tmp_path / "merged")


def test_thread_count_below_one_names_the_key():
    with pytest.raises(ConfigError, match="merge.cpu_threads must be >= 1, got 0"):
        merge_config(cpu_threads=0)


def test_bad_dtype_names_the_key():
    with pytest.raises(ConfigError, match="merge.dtype must be one of bfloat16, float16, float32, got 'int8'"):
        merge_config(dtype="int8")

