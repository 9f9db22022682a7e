"""Pretraining photos: rendered from the base side of the keyspace, held as uint8 tensors.

Each photo goes through JPEG exactly as `ingest`'s synthetic photos do, so the base sees the same
compression the pipeline's data has.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from keylike.data.rendering import RenderSettings
from keylike.data.synthesis import parallel_map, plan_keyways, synthesize_key, with_no_key_share
from keylike.keys import KeyLabel
from keylike.keys.keyspace import BASE_SIDE


@dataclass(frozen=True)
class PhotoSet:
    """Photos (N, 3, H, W uint8) and their labels."""

    pixels: Any
    labels: list[KeyLabel]

    def image(self, index: int) -> Image.Image:
        """Photo `index` as a PIL image."""
        return Image.fromarray(self.pixels[index].permute(1, 2, 0).numpy())


@dataclass(frozen=True)
class _RenderJob:
    seed: int
    settings: RenderSettings
    size: int

    def __call__(self, item: tuple[int, str]) -> tuple[np.ndarray, KeyLabel]:
        sample = synthesize_key(self.seed, item[0], item[1], self.settings, self.size, side=BASE_SIDE)
        with Image.open(io.BytesIO(sample.rendered.jpeg_bytes())) as decoded:
            return np.asarray(decoded.convert("RGB"), dtype=np.uint8), sample.label


def render_photos(
    n: int, keyway_mix: dict[str, float], no_key_share: float, seed: int, settings: RenderSettings, size: int,
    workers: int | None = None,
) -> PhotoSet:
    """`n` photos of keys on the base side of the keyspace (and photos with no key), rendered in parallel."""
    import torch

    plan = list(enumerate(plan_keyways(n, with_no_key_share(keyway_mix, no_key_share), seed)))
    rendered = list(parallel_map(_RenderJob(seed, settings, size), plan, workers, f"render seed {seed}"))
    pixels = torch.from_numpy(np.stack([array for array, _ in rendered])).permute(0, 3, 1, 2).contiguous()
    return PhotoSet(pixels, [label for _, label in rendered])
