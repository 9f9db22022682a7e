"""Which CPU operations give machine-dependent bytes: an md5 per torch operation, under numerics settings.

Runs a fixed set of float32 operations (matrix products, convolutions, normalisations, activations, a
backward pass, an AdamW step) on seeded inputs in a fresh process per setting (`pinned`: keylike.numerics'
PINS and its vendor_neutral_math, as the torch stages run; each other setting adds environment variables)
and records the md5 of every result. Run it on two machines and compare the files: an operation whose md5
differs under a setting is not reproducible across them under that setting.

    python -m keylike.benchmarks.numerics_fingerprint --out fingerprint.json
    python -m keylike.benchmarks.numerics_fingerprint --compare a.json b.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from keylike.benchmarks.machine import machine, unpinned_environment
from keylike.io import write_json
from keylike.numerics import NATIVE, PINS, native_numerics_requested, vendor_neutral_math

SETTINGS: dict[str, dict[str, str]] = {
    "pinned": {},
    "mkl_strict_avx2": {"MKL_CBWR": "AVX2,STRICT"},
    "native": {NATIVE: "1"},
}
"""Environment added to PINS per setting (`native` drops the pins and vendor_neutral_math: the machine's own
numerics)."""


def operations() -> dict[str, Callable[[], Any]]:
    """The operations fingerprinted, each a function of no arguments returning a tensor (seeded inputs)."""
    import torch
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(0)

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g)

    a, b, c = rand(200, 2048), rand(2048, 2048), rand(8, 256)
    d, bias, vec = rand(256, 1024), rand(1024), rand(1, 640)
    w640, q, k = rand(640, 640), rand(8, 64, 128), rand(8, 128, 64)
    image, kernel3, kernel1, depthwise = rand(2, 32, 48, 48), rand(64, 32, 3, 3), rand(64, 32, 1, 1), rand(32, 1, 3, 3)
    rows, big = rand(64, 2048), rand(1_000_000)

    def backward() -> torch.Tensor:
        w1 = rand(256, 512).requires_grad_()
        w2 = rand(512, 64).requires_grad_()
        loss = F.gelu(c @ w1, approximate="tanh").matmul(w2).square().mean()
        loss.backward()
        return torch.cat([w1.grad.flatten(), w2.grad.flatten(), loss.detach().flatten()])

    def conv_weight_gradient() -> torch.Tensor:
        weight = rand(32, 16, 3, 3).requires_grad_()
        F.conv2d(rand(4, 16, 96, 96), weight, padding=1).square().mean().backward()
        return weight.grad

    def onednn_conv_weight_gradient() -> torch.Tensor:  # aten's own call: no torch function mode reroutes it
        x, weight = rand(4, 16, 96, 96), rand(32, 16, 3, 3)
        return torch.ops.aten.convolution_backward(rand(4, 32, 96, 96), x, weight, None, [1, 1], [1, 1], [1, 1],
                                                   False, [0, 0], 1, [False, True, False])[1]

    def input_gradient(function: Callable[[torch.Tensor], torch.Tensor], *shape: int) -> torch.Tensor:
        x = rand(*shape).requires_grad_()
        function(x).square().mean().backward()
        return x.grad

    def adamw(**implementation: bool) -> torch.Tensor:
        params = [rand(512, 512), rand(4096)]
        for p in params:
            p.grad = rand(*p.shape)
        optimizer = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01, **implementation)
        for _ in range(3):
            optimizer.step()
        return torch.cat([p.flatten() for p in params])

    x, y, z = rand(4096) * 0.01, rand(4096), rand(4096).abs() + 0.1

    return {
        "mm_200x2048x2048": lambda: a @ b,
        "mm_8x256x1024": lambda: c @ d,
        "mm_1x640x640": lambda: vec @ w640,
        "addmm_linear": lambda: F.linear(c, d.T, bias),
        "bmm_attention": lambda: torch.bmm(q, k),
        "conv3x3": lambda: F.conv2d(image, kernel3, padding=1),
        "conv1x1": lambda: F.conv2d(image, kernel1),
        "conv_depthwise": lambda: F.conv2d(image, depthwise, padding=1, groups=32),
        "conv3x3_weight_grad": conv_weight_gradient,
        "conv3x3_weight_grad_onednn": onednn_conv_weight_gradient,
        "conv3x3_input_grad": lambda: input_gradient(lambda x: F.conv2d(x, rand(64, 64, 3, 3), padding=1), 4, 64, 48, 48),
        "conv3x3_s2_input_grad": lambda: input_gradient(lambda x: F.conv2d(x, rand(128, 64, 3, 3), stride=2, padding=1), 4, 64, 48, 48),
        "conv1x1_s2_input_grad": lambda: input_gradient(lambda x: F.conv2d(x, rand(128, 64, 1, 1), stride=2), 4, 64, 48, 48),
        "batch_norm_input_grad": lambda: input_gradient(lambda x: F.batch_norm(x, None, None, torch.ones(64), torch.zeros(64), training=True), 8, 64, 48, 48),
        "max_pool_input_grad": lambda: input_gradient(lambda x: F.max_pool2d(x, 3, 2, 1), 4, 64, 96, 96),
        "layer_norm": lambda: F.layer_norm(rows, (2048,)),
        "rms_norm": lambda: rows * torch.rsqrt(rows.pow(2).mean(-1, keepdim=True) + 1e-6),
        "softmax": lambda: torch.softmax(rows, -1),
        "gelu_tanh": lambda: F.gelu(rows, approximate="tanh"),
        "silu": lambda: F.silu(rows),
        "exp_log": lambda: torch.log1p(torch.exp(rows.clamp(max=20))),
        "sum_1e6": lambda: big.sum(),
        "cumsum": lambda: big.cumsum(0),
        "backward_mlp": backward,
        "adamw_3_steps": lambda: adamw(foreach=True),
        "adamw_single_tensor": lambda: adamw(foreach=False),
        "adamw_fused": lambda: adamw(fused=True),
        "lerp": lambda: x.clone().lerp_(y, 0.1),
        "mul_scalar": lambda: z * 0.999,
        "addcmul": lambda: z.clone().addcmul_(y, y, value=0.001),
        "sqrt": lambda: z.sqrt(),
        "pow_half": lambda: z.pow(0.5),
        "rsqrt": lambda: z.rsqrt(),
        "tanh": lambda: torch.tanh(rows),
        "erf": lambda: torch.erf(rows),
        "div_scalar": lambda: z / 0.0447213595499958,
        "addcdiv": lambda: y.clone().addcdiv_(x, z, value=-0.001),
        "python_pow": lambda: torch.tensor([0.999 ** s for s in (1.0, 2.0, 3.0)] + [(1 - 0.999 ** s) ** 0.5 for s in (1.0, 2.0, 3.0)], dtype=torch.float64),
    }


def fingerprint() -> dict[str, str]:
    """md5 of each operation's result in this process, computed as the torch stages compute: under
    vendor_neutral_math() unless KEYLIKE_NATIVE_NUMERICS=1."""
    import torch

    torch.manual_seed(0)
    with nullcontext() if native_numerics_requested() else vendor_neutral_math():
        return {name: hashlib.md5(op().detach().contiguous().numpy().tobytes()).hexdigest() for name, op in operations().items()}


def fingerprint_settings(settings: dict[str, dict[str, str]] = SETTINGS) -> dict[str, dict[str, str]]:
    """fingerprint() in a fresh process per setting (torch reads the numerics environment once, at import)."""
    results = {}
    for name, extra in settings.items():
        env = unpinned_environment() | ({} if NATIVE in extra else PINS) | extra
        code = "import json; from keylike.benchmarks.numerics_fingerprint import fingerprint; print(json.dumps(fingerprint()))"
        output = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
        results[name] = json.loads(output.strip().splitlines()[-1])
    return results


def compare(first: dict[str, Any], second: dict[str, Any]) -> dict[str, list[str]]:
    """Per setting, the operations whose md5 differs between two fingerprint files."""
    return {setting: [op for op, md5 in hashes.items() if second["settings"].get(setting, {}).get(op) != md5]
            for setting, hashes in first["settings"].items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m keylike.benchmarks.numerics_fingerprint", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the fingerprint of this machine here")
    parser.add_argument("--settings", type=json.loads, default=SETTINGS,
                        help='JSON {"name": {"VAR": "value"}}: environment added to the pins per setting (default: %(default)s)')
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"), help="print the operations that differ between two files")
    args = parser.parse_args(argv)
    if args.compare:
        first, second = (json.loads(p.read_text()) for p in args.compare)
        print(json.dumps(compare(first, second), indent=1))
        return
    results = {"machine": machine(), "settings": fingerprint_settings(args.settings)}
    if args.out:
        write_json(args.out, results)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
