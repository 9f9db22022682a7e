"""Two disjoint halves of the keyspace: one for pretraining the base model, one for the pipeline's data.

A physical key is its (keyway, bitting). A stable hash of that pair puts every key on exactly one
side, on every machine and in every Python (sha256, not `hash()`), so the pretrained base never
sees a key that `ingest`'s synthetic data can contain: the default pipeline's test split measures
keys the base has never seen.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from keylike.keys.bittings import sample_bitting
from keylike.keys.specs import KeywaySpec

BASE_SIDE = "base"
"""Keys the pretrained base model is trained on."""
PIPELINE_SIDE = "pipeline"
"""Keys `ingest` synthesises for the default pipeline (train, val and test splits)."""
SIDES = (BASE_SIDE, PIPELINE_SIDE)

_MAX_DRAWS = 1000


def keyspace_side(keyway: str, bitting: Sequence[int]) -> str:
    """The side of the keyspace that key (keyway, bitting) belongs to: `base` or `pipeline`."""
    digest = hashlib.sha256(f"{keyway}:{','.join(map(str, bitting))}".encode()).digest()
    return SIDES[digest[0] & 1]


def sample_bitting_on_side(spec: KeywaySpec, rng: np.random.Generator, side: str) -> tuple[int, ...]:
    """Draw a MACS-valid bitting uniformly from the keys of `spec` on `side` (rejection sampling)."""
    if side not in SIDES:
        raise ValueError(f"keyspace side must be one of {SIDES}, got {side!r}")
    for _ in range(_MAX_DRAWS):
        bitting = sample_bitting(spec, rng)
        if keyspace_side(spec.code, bitting) == side:
            return bitting
    raise RuntimeError(f"no {spec.code} bitting on the {side} side in {_MAX_DRAWS} draws")
