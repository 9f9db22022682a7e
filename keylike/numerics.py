"""CPU numerics pinned for exact reproduction: the same bytes from `dvc repro` on any x86-64 CPU with AVX2,
Intel or AMD.

Floating-point results on a CPU depend on the code path each library picks for the processor: ATen's
vectorised kernels (AVX2 or AVX-512), oneDNN's convolutions and matmuls (up to AVX-512 and AMX), MKL's
BLAS and vector math (which also branch on the CPU's vendor), and the number of threads that split a
reduction. The torch stages (train, merge, export, benchmark) run inside `pinned_cpu_numerics()`, entered
before torch loads:
- PINS put ATen and oneDNN on their AVX2 paths, MKL in its vendor-neutral reproducible mode
  (`MKL_CBWR=COMPATIBLE`), one thread until the stage sets its own;
- each stage runs on the fixed thread count of its `cpu_threads` param (set_cpu_threads): the count splits
  reductions, so it is part of the bytes;
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
from collections.abc import Callable, Iterator, Mapping, MutableMapping
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


def native_numerics_requested(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether `environ` (this process's environment by default) asks for the machine's own numerics
    (KEYLIKE_NATIVE_NUMERICS=1)."""
    return environ.get(NATIVE) == "1"


def pin_cpu_numerics(environ: MutableMapping[str, str] = os.environ) -> dict[str, str]:
    """Set PINS in `environ` (this process's environment by default) unless KEYLIKE_NATIVE_NUMERICS=1;
    returns what was set. Call it before torch is imported: torch reads them once (a process that
    already holds torch, such as a test runner, passes them on to the processes it starts)."""
    if native_numerics_requested(environ):
        return {}
    environ.update(PINS)
    return dict(PINS)


def _square_root_functions() -> dict[Callable[..., Any], tuple[int, bool]]:
    """torch's square roots of a tensor, each mapped to (its argument count, whether it works in place): the
    `sqrt` family (the tensor) and the power family (the tensor and the exponent 0.5, which ATen hands to its
    sqrt kernel)."""
    import torch

    return {torch.sqrt: (1, False), torch.Tensor.sqrt: (1, False), torch.Tensor.sqrt_: (1, True),
            torch.pow: (2, False), torch.Tensor.pow: (2, False), torch.Tensor.__pow__: (2, False),
            torch.Tensor.pow_: (2, True), torch.Tensor.__ipow__: (2, True)}


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
                unit = (1, 1)
                pointwise = tuple(kernel) == unit and ctx.geometry == {"dilation": unit, "padding": (0, 0), "stride": unit}
                columns = x.flatten(2) if pointwise else F.unfold(x, kernel, **ctx.geometry)
                grad_weight = torch.bmm(grad_rows, columns.transpose(1, 2)).sum(0).view_as(weight)
            if ctx.has_bias and ctx.needs_input_grad[2]:
                grad_bias = grad_output.sum((0, 2, 3))
            return grad_input, grad_weight, grad_bias, None, None, None

    return Conv2dWithMatmulBackward.apply


def vendor_neutral_math() -> Any:
    """A torch function mode (enter it with `with`) for the CPU kernels that round per machine under the PINS:
    every square root of a floating CPU tensor (`sqrt`, `sqrt_`, `pow(x, 0.5)`, `x ** 0.5`: MKL's vector sqrt)
    runs as vendor_neutral_sqrt; a trained 2-D convolution's weight gradient and a strided one's input
    gradient (oneDNN blocks those reductions by the CPU's cache sizes) run as matrix products. Every other
    call runs unchanged (pow(x, -0.5) already runs ATen's rsqrt kernel)."""
    import torch
    from torch.overrides import TorchFunctionMode

    square_roots = _square_root_functions()
    conv2d = _conv2d_with_matmul_backward()

    def square_root_operand(func: Callable[..., Any], args: tuple[Any, ...]) -> torch.Tensor | None:
        arity, _ = square_roots.get(func, (None, False))
        if len(args) != arity or arity == 2 and not (isinstance(args[1], float) and args[1] == 0.5):
            return None
        x = args[0]
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
            return x.copy_(root) if square_roots[func][1] else root

    return VendorNeutralMath()


def set_cpu_threads(count: int) -> None:
    """Run torch's CPU kernels (ATen, oneDNN, MKL) on `count` threads. The count splits reductions: the same
    count gives the same bytes on any machine, another count other bytes, so each torch stage takes it from
    its params (`cpu_threads`)."""
    import torch

    torch.set_num_threads(count)


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
