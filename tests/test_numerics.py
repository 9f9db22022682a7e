"""Pinned CPU numerics: the train stage gives the same adapter bytes under another instruction set, and
square roots run on ATen's rsqrt kernel instead of MKL's vendor-dependent vector sqrt."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from keylike.benchmarks.machine import unpinned_environment
from keylike.config import load_params
from keylike.numerics import (
    NATIVE,
    PINS,
    native_numerics_requested,
    pin_cpu_numerics,
    pinned_cpu_numerics,
    set_cpu_threads,
    vendor_neutral_math,
)

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
    assert native_numerics_requested({NATIVE: "1"}) and not native_numerics_requested({NATIVE: "0"})


def test_set_cpu_threads_sets_the_count_torch_runs_on() -> None:
    import torch

    before = torch.get_num_threads()
    try:
        set_cpu_threads(before + 1)
        assert torch.get_num_threads() == before + 1
    finally:
        set_cpu_threads(before)


def _bytes(tensor) -> bytes:
    return tensor.detach().contiguous().numpy().tobytes()


def test_vendor_neutral_math_computes_every_square_root_from_rsqrt() -> None:
    import torch

    x = torch.randn(4096, generator=torch.Generator().manual_seed(0)).abs() + 0.1
    reference = torch.reciprocal(torch.rsqrt(x))
    with vendor_neutral_math():
        routed = [torch.sqrt(x), x.sqrt(), x.clone().sqrt_(), torch.pow(x, 0.5), x.pow(0.5), x ** 0.5, x.clone().pow_(0.5)]
        assert all(_bytes(root) == _bytes(reference) for root in routed)
        assert _bytes(torch.sqrt(torch.zeros(3))) == _bytes(torch.zeros(3))
        assert _bytes(x ** -0.5) == _bytes(torch.rsqrt(x))  # already ATen's rsqrt kernel: unchanged
        out = torch.empty_like(x)
        torch.sqrt(x, out=out)  # a call with more arguments runs unchanged
    assert _bytes(out) == _bytes(torch.sqrt(x))
    assert _bytes(torch.sqrt(x)) != _bytes(reference)  # two roundings: so the routing above is observable
    torch.testing.assert_close(reference, torch.sqrt(x), atol=0, rtol=2.4e-7)


def test_vendor_neutral_sqrt_backpropagates_like_torch() -> None:
    import torch

    x = (torch.randn(256, generator=torch.Generator().manual_seed(1)).abs() + 0.1).requires_grad_()
    with vendor_neutral_math():
        (x.sqrt() + x ** 0.5).sum().backward()
    torch.testing.assert_close(x.grad, 1 / x.detach().sqrt(), atol=1e-6, rtol=1e-6)


def test_a_strided_trained_convolution_backpropagates_through_matrix_products_and_keeps_onednn_forward() -> None:
    import torch
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 8, 30, 30, generator=g).requires_grad_()
    weight, bias = torch.randn(16, 8, 3, 3, generator=g).requires_grad_(), torch.randn(16, generator=g).requires_grad_()

    def run() -> list:
        for t in (x, weight, bias):
            t.grad = None
        out = F.conv2d(x, weight, bias, 2, 1)
        out.square().sum().backward()
        return [out, x.grad, weight.grad, bias.grad]

    native = run()
    with vendor_neutral_math():
        routed = run()
    assert _bytes(routed[0]) == _bytes(native[0])  # oneDNN's forward
    grad_output = 2 * native[0].detach().flatten(2)
    expected_input = F.fold(torch.einsum("ok,nol->nkl", weight.detach().flatten(1), grad_output), (30, 30), (3, 3), padding=1, stride=2)
    columns = F.unfold(x.detach(), (3, 3), padding=1, stride=2)
    expected_weight = torch.einsum("nol,nkl->ok", grad_output, columns).view_as(weight)
    for got, expected, torch_native in zip(routed[1:], [expected_input, expected_weight, grad_output.sum((0, 2))], native[1:]):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-3)
        torch.testing.assert_close(got, torch_native, rtol=1e-5, atol=1e-3)
    with vendor_neutral_math():
        assert "Matmul" in F.conv2d(x, weight.detach(), stride=2).grad_fn.name()  # strided: the input gradient too
        assert F.conv2d(x, weight.detach()).grad_fn.name() == "ConvolutionBackward0"  # frozen, unstrided: oneDNN's
        assert F.conv2d(x, torch.randn(16, 4, 3, 3), groups=2).grad_fn.name() == "ConvolutionBackward0"  # grouped: unchanged


def test_pinned_cpu_numerics_routes_only_when_pinned() -> None:
    import torch

    x = torch.randn(4096, generator=torch.Generator().manual_seed(0)).abs() + 0.1
    with pinned_cpu_numerics({NATIVE: "1"}) as pins:
        native = torch.sqrt(x)
    assert pins == {} and _bytes(native) == _bytes(torch.sqrt(x))
    environ: dict[str, str] = {}
    with pinned_cpu_numerics(environ) as pins:
        routed = torch.sqrt(x)
    assert pins == PINS == environ and _bytes(routed) == _bytes(torch.reciprocal(torch.rsqrt(x)))


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
