"""Pinned CPU numerics: the train stage gives the same adapter bytes under another instruction set."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from keylike.benchmarks.machine import unpinned_environment
from keylike.config import load_params
from keylike.numerics import NATIVE, PINS, pin_cpu_numerics

REPO = Path(__file__).resolve().parents[1]
LOWERED = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    "GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD",
}
"""What an AVX2-only x86-64 CPU looks like to the libraries, emulated on this one."""


def test_pins_set_every_variable_unless_native_is_asked() -> None:
    environ: dict[str, str] = {}
    assert pin_cpu_numerics(environ) == PINS and environ == PINS
    assert pin_cpu_numerics({NATIVE: "1"}) == {}


def _has_avx512() -> bool:
    return "avx512f" in Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else False


def _train(tmp: Path, split, extra_env: dict[str, str]) -> str:
    """Run the real train stage (tiny model, encoder LoRA, 4 steps) in a new process; sha256 of the adapter weights."""
    params = load_params(REPO / "params.yaml")
    params["train"].update(base_model="tiny", image_size=64, lora_scope="encoder", max_steps=4, eval_steps=4,
                           save_steps=4, logging_steps=2, batch_size=4)
    tmp.mkdir(parents=True)
    (tmp / "params.yaml").write_text(yaml.safe_dump(params))
    env = unpinned_environment() | extra_env | {"KEYLIKE_CACHE": str(tmp / "cache"), "HF_HUB_OFFLINE": "1"}
    subprocess.run(
        [sys.executable, str(REPO / "stages" / "train.py"), "--params", str(tmp / "params.yaml"), "--split",
         str(split.split_dir), "--images", str(split.images_dir), "--out", str(tmp / "adapter"), "--checkpoints",
         str(tmp / "ckpt"), "--metrics", str(tmp / "train.json"), "--plots", str(tmp / "plots")],
        env=env, check=True, capture_output=True, text=True,
    )
    return hashlib.sha256((tmp / "adapter" / "adapter_model.safetensors").read_bytes()).hexdigest()


def test_train_stage_gives_the_same_adapter_under_a_lowered_instruction_set(tmp_path, tiny_split) -> None:
    native = _train(tmp_path / "native", tiny_split, {})
    lowered = _train(tmp_path / "lowered", tiny_split, LOWERED)
    assert native == lowered


@pytest.mark.skipif(not _has_avx512(), reason="the CPU has no AVX-512: both runs would take the same code paths")
def test_without_the_pins_the_instruction_set_changes_the_adapter(tmp_path, tiny_split) -> None:
    """The control: this test can fail, because on this CPU the unpinned numerics differ by instruction set."""
    native = _train(tmp_path / "native", tiny_split, {NATIVE: "1"})
    lowered = _train(tmp_path / "lowered", tiny_split, {NATIVE: "1", **LOWERED})
    assert native != lowered
