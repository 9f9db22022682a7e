"""What the GPU measurements feed the model, and how they time it: synthetic key photos, a synchronised timer."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def synthetic_images(n: int, size: int = 768, seed: int = 3407) -> list[Any]:
    """`n` synthetic key photos at `size` px from keylike's renderer, with their labels."""
    import io

    from PIL import Image

    from keylike.data.rendering import RenderSettings
    from keylike.data.synthesis import keyway_mix_from_codes, synthesize_jpegs
    from keylike.keys import keyway_codes

    pairs = synthesize_jpegs(n, keyway_mix_from_codes(keyway_codes()), seed, RenderSettings(), size)
    return [(Image.open(io.BytesIO(jpeg)).convert("RGB"), label) for label, jpeg in pairs]


def timed(fn: Callable[[], Any], device: str = "cuda") -> float:
    """Wall time of `fn()`, with the device's queued work finished before and after."""
    import torch

    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start
