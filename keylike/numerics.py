"""CPU numerics pinned for exact reproduction: the same bytes from `dvc repro` on any x86-64 CPU with AVX2,
Intel or AMD.

Floating-point results on a CPU depend on the code path each library picks for the processor: ATen's
vectorised kernels (AVX2 or AVX-512), oneDNN's convolutions and matmuls (up to AVX-512 and AMX), MKL's
BLAS and vector math (which also branch on the CPU's vendor), and the number of threads that split a
reduction. The torch stages (train, merge, export, benchmark) run inside `pinned_cpu_numerics()`, entered
before torch loads:
- PINS put ATen and oneDNN on their AVX2 paths, MKL in its vendor-neutral reproducible mode
  (`MKL_CBWR=COMPATIBLE`), one thread;
- `vendor_neutral_math()` reroutes the CPU kernels that still give per-machine bytes under those pins:
  square roots (`sqrt`, `x ** 0.5`: AltUp's magnitudes, AdamW's denominator), MKL's vector sqrt, which
  rounds differently on Intel and AMD, come from ATen's rsqrt kernel; a trained convolution's weight
  gradient and a strided convolution's input gradient, which oneDNN reduces in blocks sized by the CPU's
  caches, come from matrix products (MKL's, reproducible under MKL_CBWR).
Measured by `python -m keylike.benchmarks.numerics_fingerprint` and `model_trace` on both vendors (README, "The exact
model on any machine"). Set KEYLIKE_NATIVE_NUMERICS=1 to skip all of it (faster; the bytes then depend on
the machine).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

PINS = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    "MKL_CBWR": "COMPATIBLE",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
"""Environment each pinned process runs with: ATen and oneDNN on AVX2 code paths, MKL in its conditional
numerical reproducibility mode that gives the same results on Intel and AMD CPUs, one thread."""
NATIVE = "KEYLIKE_NATIVE_NUMERICS"
"""Set to 1 to keep the machine's own (faster, machine-dependent) numerics."""


def pin_cpu_numerics(environ: MutableMapping[str, str] = os.environ) -> dict[str, str]:
    """Set PINS in `environ` (this process's environment by default) unless KEYLIKE_NATIVE_NUMERICS=1;
    returns what was set. Call it before torch is imported: torch reads them once (a process that
    already holds torch, such as a test runner, passes them on to the processes it starts)."""
    if environ.get(NATIVE) == "1":
        return {}
    environ.update(PINS)
    return dict(PINS)


def _square_root_functions() -> tuple[dict[Callable[..., Any], bool], dict[Callable[..., Any], bool]]:
    """torch's square roots of a tensor, each mapped to whether it works in place: the `sqrt` family (one
    argument) and the power family (a tensor and the exponent 0.5, which ATen hands to its sqrt kernel)."""
    import torch

    roots = {torch.sqrt: False, torch.Tensor.sqrt: False, torch.Tensor.sqrt_: True}
    powers = {torch.pow: False, torch.Tensor.pow: False, torch.Tensor.__pow__: False, torch.Tensor.pow_: True,
              torch.Tensor.__ipow__: True}
    return roots, powers


def vendor_neutral_sqrt(x: Any) -> Any:
    """sqrt(x) as 1 / rsqrt(x), from ATen's own rsqrt kernel and an IEEE division: the same bytes on every AVX2
    CPU, where MKL's vector sqrt (behind torch.sqrt and pow(x, 0.5)) rounds differently on Intel and AMD. 0 stays 0."""
    import torch

    return torch.reciprocal(torch.rsqrt(x))


def _conv2d_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...] | None:
    """(input, weight, bias, stride, padding, dilation) of a torch.conv2d call whose backward
    vendor_neutral_math computes: on the CPU, one group, numeric padding, and the weight's gradient wanted
    or a strided convolution's input gradient; None otherwise."""
    import torch
    from torch.nn.modules.utils import _pair

    names = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")
    bound = dict(zip(names, (None, None, None, 1, 0, 1, 1))) | dict(zip(names, args)) | kwargs
    x, weight = bound["input"], bound["weight"]
    if (not torch.is_grad_enabled() or set(bound) != set(names) or not isinstance(x, torch.Tensor)
            or not isinstance(weight, torch.Tensor)
            or not (weight.requires_grad or x.requires_grad and _pair(bound["stride"]) != (1, 1))
            or weight.device.type != "cpu" or bound["groups"] != 1 or isinstance(bound["padding"], str)):
        return None
    return x, weight, bound["bias"], bound["stride"], bound["padding"], bound["dilation"]


def _conv2d_with_matmul_backward() -> Any:
    """torch.conv2d (oneDNN's forward) whose weight gradient, and a strided convolution's input gradient, are
    matrix products (MKL's, the same bytes on every CPU under MKL_CBWR) with ATen's unfold and fold: oneDNN
    blocks those reductions by the CPU's cache sizes. An unstrided input gradient stays oneDNN's."""
    import torch
    import torch.nn.functional as F
    from torch.nn.modules.utils import _pair

    class Conv2dWithMatmulBackward(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, weight, bias, stride, padding, dilation):  # noqa: ANN001, ANN205
            ctx.save_for_backward(x, weight)
            ctx.geometry = {"dilation": _pair(dilation), "padding": _pair(padding), "stride": _pair(stride)}
            ctx.has_bias = bias is not None
            return torch.conv2d(x, weight, bias, stride, padding, dilation, 1)

        @staticmethod
        def backward(ctx, grad_output):  # noqa: ANN001, ANN205
            x, weight = ctx.saved_tensors
            kernel, grad_rows = weight.shape[2:], grad_output.flatten(2)
            grad_input = grad_weight = grad_bias = None
            if ctx.needs_input_grad[0] and ctx.geometry["stride"] != (1, 1):
                columns = torch.matmul(weight.flatten(1).t(), grad_rows)
                grad_input = F.fold(columns, x.shape[2:], kernel, **ctx.geometry)
            elif ctx.needs_input_grad[0]:
                geometry = ctx.geometry
                grad_input = torch.ops.aten.convolution_backward(
                    grad_output, x, weight, None, geometry["stride"], geometry["padding"], geometry["dilation"],
                    False, [0, 0], 1, [True, False, False])[0]
            if ctx.needs_input_grad[1]:
                pointwise = tuple(kernel) == (1, 1) and ctx.geometry == {"dilation": (1, 1), "padding": (0, 0), "stride": (1, 1)}
                columns = x.flatten(2) if pointwise else F.unfold(x, kernel, **ctx.geometry)
                grad_weight = torch.bmm(grad_rows, columns.transpose(1, 2)).sum(0).view_as(weight)
            if ctx.has_bias and ctx.needs_input_grad[2]:
                grad_bias = grad_output.sum((0, 2, 3))
            return grad_input, grad_weight, grad_bias, None, None, None

    return Conv2dWithMatmulBackward.apply


def vendor_neutral_math() -> Any:
    """A torch function mode (enter it with `with`) for the CPU kernels that round per machine under the PINS:
    every square root of a floating CPU tensor (`sqrt`, `sqrt_`, `pow(x, 0.5)`, `x ** 0.5`: MKL's vector sqrt)
    runs as vendor_neutral_sqrt; a trained 2-D convolution's weight gradient and a strided one's input gradient
    (oneDNN blocks those reductions by the CPU's cache sizes) run as matrix products. Every other call runs unchanged (pow(x, -0.5)
    already runs ATen's rsqrt kernel)."""
    import torch
    from torch.overrides import TorchFunctionMode

    roots, powers = _square_root_functions()
    conv2d = _conv2d_with_matmul_backward()

    def square_root_operand(func: Callable[..., Any], args: tuple[Any, ...]) -> torch.Tensor | None:
        if func in roots and len(args) == 1:
            x = args[0]
        elif func in powers and len(args) == 2 and isinstance(args[1], float) and args[1] == 0.5:
            x = args[0]
        else:
            return None
        return x if isinstance(x, torch.Tensor) and x.device.type == "cpu" and x.is_floating_point() else None

    class VendorNeutralMath(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
            kwargs = kwargs or {}
            if func is torch.conv2d:
                conv_arguments = _conv2d_arguments(args, kwargs)
                return func(*args, **kwargs) if conv_arguments is None else conv2d(*conv_arguments)
            x = None if kwargs else square_root_operand(func, args)
            if x is None:
                return func(*args, **kwargs)
            root = vendor_neutral_sqrt(x)
            return x.copy_(root) if roots.get(func) or powers.get(func) else root

    return VendorNeutralMath()


@contextmanager
def pinned_cpu_numerics(environ: MutableMapping[str, str] = os.environ) -> Iterator[dict[str, str]]:
    """Pin this process's CPU numerics (pin_cpu_numerics) and, unless KEYLIKE_NATIVE_NUMERICS=1, run the
    block under vendor_neutral_math(); yields the PINS set. Enter it before torch is imported."""
    pins = pin_cpu_numerics(environ)
    if not pins:
        yield pins
        return
    with vendor_neutral_math():
        yield pins
