"""Loading `tiny`, a local folder or a hub id through the same AutoModel / AutoProcessor calls."""

import os

import pytest
import torch
from PIL import Image

from keylike.errors import ConfigError
from keylike.model.loading import load_base_model, load_processor, resolve_base_model, torch_dtype

torch.set_num_threads(1)


def test_tiny_is_built_once_into_the_cache(keylike_cache, tiny_model_dir):
    assert tiny_model_dir.parent == keylike_cache / "models"
    stamp = os.stat(tiny_model_dir / "model.safetensors").st_mtime_ns
    assert resolve_base_model("tiny") == str(tiny_model_dir)
    assert os.stat(tiny_model_dir / "model.safetensors").st_mtime_ns == stamp


def test_tiny_and_its_folder_load_the_same_weights(tiny_model_dir):
    by_name, processor = load_base_model("tiny", image_size=80)
    by_path, _ = load_base_model(str(tiny_model_dir), image_size=80)
    assert type(by_name).__name__ == "Gemma3nForConditionalGeneration"
    for (name, a), (_, b) in zip(by_name.state_dict().items(), by_path.state_dict().items()):
        assert torch.equal(a, b), name
    pixels = processor.image_processor([Image.new("RGB", (30, 50))], return_tensors="pt")["pixel_values"]
    assert pixels.shape == (1, 3, 80, 80)


def test_dtype_is_applied():
    model, _ = load_base_model("tiny", image_size=64, dtype="bf16")
    assert model.dtype == torch.bfloat16


def test_missing_folder_names_the_path(tmp_path):
    with pytest.raises(ConfigError, match=f"{tmp_path}/nope does not exist"):
        resolve_base_model(str(tmp_path / "nope"))


def test_folder_without_config_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="has no config.json"):
        resolve_base_model(str(tmp_path))


def test_hub_id_not_on_disk_says_no_downloads(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ConfigError, match="cannot load base model 'keylike-test/no-such-model'.*no hub downloads"):
        load_processor("keylike-test/no-such-model", 64)


def test_unknown_precision_is_refused():
    with pytest.raises(ConfigError, match="unknown precision 'fp8'"):
        torch_dtype("fp8")


def test_a_local_folder_loads_local_files_only_so_saved_files_do_not_depend_on_hf_hub_offline(tiny_model_dir, tmp_path):
    """The processor writes `local_files_only` into tokenizer_config.json: it must be the same with and
    without HF_HUB_OFFLINE, or the adapter's DVC hash changes with the shell `dvc repro` ran in."""
    import json

    load_processor(str(tiny_model_dir), image_size=64).save_pretrained(tmp_path)
    assert json.loads((tmp_path / "tokenizer_config.json").read_text())["local_files_only"] is True


def test_unused_cpu_4bit_kernel_warning_is_silenced() -> None:
    """bitsandbytes warns at import that its CPU 4-bit kernel needs `pip install kernels`; keylike never runs
    4-bit on a CPU, so importing PEFT through keylike prints nothing of it (the control shows it otherwise)."""
    import subprocess
    import sys

    def stderr(code: str) -> str:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stderr

    if "gemm_4bit_forward" not in stderr("import peft"):
        pytest.skip("this CPU or bitsandbytes build does not log the warning")
    assert "gemm_4bit_forward" not in stderr("import keylike.model, peft")
