"""The machine a measurement ran on, recorded beside its numbers."""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import Any

from keylike.numerics import NATIVE, PINS


def environment() -> dict[str, Any]:
    """GPU, driver, CUDA and package versions of this machine."""
    import torch

    versions = package_versions(("torch", "transformers", "peft", "trl", "accelerate", "timm", "unsloth", "unsloth_zoo",
                                 "bitsandbytes"))
    gpu = {}
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        gpu = {"name": props.name, "memory_gib": round(props.total_memory / 2**30, 1), "sms": props.multi_processor_count,
               "cuda": torch.version.cuda}
        try:
            gpu["driver"] = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                           capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            gpu["driver"] = None
    return {"gpu": gpu, "python": platform.python_version(), "cpus": os.cpu_count(), "versions": versions}


def package_versions(names: Sequence[str]) -> dict[str, str | None]:
    """Installed version of each package in `names` (None when it is not installed)."""
    found: dict[str, str | None] = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def machine(packages: Sequence[str] = (), **extra: Any) -> dict[str, Any]:
    """The CPU machine a measurement ran on (platform, processor, CPU count, Python, package versions), plus `extra`."""
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        **({"versions": package_versions(packages)} if packages else {}),
        **extra,
    }


def unpinned_environment(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """`environ` without keylike's numerics pins and their off switch: for a child process that chooses its own."""
    return {k: v for k, v in environ.items() if k not in PINS and k != NATIVE}
