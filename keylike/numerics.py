"""CPU numerics pinned for exact reproduction: the same bytes from `dvc repro` on any x86-64 machine with AVX2.

Floating-point results on a CPU depend on the code path each library picks for the processor: ATen's
vectorised kernels (AVX2 or AVX-512), oneDNN's convolutions and matmuls (up to AVX-512 and AMX), MKL's
BLAS, and the number of threads that split a reduction. The torch stages (train, merge, export,
benchmark) call `pin_cpu_numerics()` before torch loads, which puts every machine on the AVX2 paths
with one thread. Measured cost on a 2-core AVX-512 machine: ResNet-18 training steps about 1.3x
slower (README, "The exact model on any machine"). Set KEYLIKE_NATIVE_NUMERICS=1 to skip the pins
(faster, but the bytes then depend on the machine).
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

PINS = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    "MKL_CBWR": "AVX2,STRICT",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
"""Environment each pinned process runs with: ATen, oneDNN and MKL on AVX2 code paths (MKL in its
conditional numerical reproducibility mode), one thread."""
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
