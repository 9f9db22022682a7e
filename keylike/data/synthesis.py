"""Synthetic key photos: which keyways to draw, one labelled sample per (seed, index), data sets, contact sheets.

Every sample is drawn from its own generator, seeded from (seed, index), so a data set does not
depend on the number of worker processes and the same seed gives byte-identical images. Only
MACS-valid bittings are drawn uniformly from the pipeline's side of the keyspace (`keys.keyspace`): the
pretrained base model is trained on the other side only.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image, ImageDraw
from tqdm import tqdm

from keylike.config import check
from keylike.data.photo import RenderedScene, render_no_key
from keylike.data.rendering import RenderedKey, RenderSettings, render_key
from keylike.errors import ConfigError
from keylike.io import atomic_directory, atomic_write_bytes, atomic_write_text
from keylike.keys import NO_KEY, KeyLabel, get_spec, keyway_codes
from keylike.keys.keyspace import PIPELINE_SIDE, sample_bitting_on_side

LABELS_NAME = "labels.jsonl"
"""The JSONL of a data set in the Keylike format."""

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class SyntheticKey:
    """One synthetic sample: its labels and the rendered photo (a key, or a scene with no key)."""

    index: int
    label: KeyLabel
    rendered: RenderedKey | RenderedScene


def check_keyway_mix(keyway_mix: Mapping[str, float], key: str = "ingest.keyway_mix") -> None:
    """Raise ConfigError unless the mix names known keyways (or NONE, no key) with weights >= 0 and a positive total."""
    known = [*keyway_codes(), NO_KEY]
    unknown = sorted(set(keyway_mix) - set(known))
    check(not unknown, key, f"has unknown keyways {unknown}; known: {known}")
    check(all(float(w) >= 0 for w in keyway_mix.values()), key, f"weights must be >= 0, got {dict(keyway_mix)}")
    check(sum(float(w) for w in keyway_mix.values()) > 0, key, "needs at least one positive weight")


def plan_keyways(n: int, keyway_mix: Mapping[str, float], seed: int) -> list[str]:
    """The keyway of each of `n` samples: counts proportional to the mix (largest remainder), shuffled."""
    check_keyway_mix(keyway_mix)
    codes = list(keyway_mix)
    weights = np.array([float(keyway_mix[c]) for c in codes])
    exact = n * weights / weights.sum()
    counts = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - counts), kind="stable")[: n - counts.sum()]:
        counts[i] += 1
    plan = [code for code, count in zip(codes, counts, strict=True) for _ in range(count)]
    np.random.default_rng([seed, n]).shuffle(plan)
    return plan


def with_no_key_share(keyway_mix: Mapping[str, float], no_key_share: float) -> dict[str, float]:
    """`keyway_mix` plus photos with no key (NONE) making up `no_key_share` of the samples."""
    check(0 <= no_key_share < 1, "ingest.no_key_share", f"must be in [0, 1), got {no_key_share}")
    mix = {code: float(weight) for code, weight in keyway_mix.items()}
    if no_key_share > 0:
        mix[NO_KEY] = no_key_share / (1 - no_key_share) * sum(mix.values())
    return mix


def synthesize_key(
    seed: int, index: int, keyway: str, settings: RenderSettings, size: int, side: str = PIPELINE_SIDE
) -> SyntheticKey:
    """Sample `index` of a data set, from the generator (seed, index): a MACS-valid bitting on keyspace
    `side` and its photo, or (keyway NONE) a photo with no key."""
    rng = np.random.default_rng([seed, index])
    if keyway == NO_KEY:
        return SyntheticKey(index, KeyLabel.no_key(), render_no_key(rng, settings, size))
    spec = get_spec(keyway)
    bitting = sample_bitting_on_side(spec, rng, side)
    rendered = render_key(spec, bitting, rng, settings, size)
    return SyntheticKey(index, KeyLabel(spec.code, bitting, spec.brand), rendered)


def parallel_map(func: Callable[[T], R], items: Sequence[T], workers: int | None, desc: str) -> Iterator[R]:
    """`map` over a process pool in input order (one process when workers is 1), with a progress bar."""
    workers = min(workers or os.cpu_count() or 1, max(1, len(items)))
    chunksize = max(1, min(32, len(items) // (workers * 8) or 1))
    progress = dict(total=len(items), desc=desc, unit="image", disable=None)
    if workers == 1:
        yield from tqdm(map(func, items), **progress)
        return
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield from tqdm(pool.imap(func, items, chunksize=chunksize), **progress)


@dataclass(frozen=True)
class _SynthJob:
    seed: int
    settings: RenderSettings
    size: int

    def __call__(self, item: tuple[int, str]) -> tuple[KeyLabel, bytes]:
        key = synthesize_key(self.seed, item[0], item[1], self.settings, self.size)
        return key.label, key.rendered.jpeg_bytes()


def synthesize_jpegs(
    n: int, keyway_mix: Mapping[str, float], seed: int, settings: RenderSettings, size: int, workers: int | None = None
) -> Iterator[tuple[KeyLabel, bytes]]:
    """The labels and JPEG bytes of `n` synthetic samples, in index order (rendered in parallel)."""
    plan = list(enumerate(plan_keyways(n, keyway_mix, seed)))
    yield from parallel_map(_SynthJob(seed, settings, size), plan, workers, "synth")


def write_synthetic_dataset(
    out_dir: Path | str,
    n: int,
    keyway_mix: Mapping[str, float],
    seed: int,
    settings: RenderSettings,
    size: int,
    workers: int | None = None,
) -> Path:
    """Write a data set in the Keylike format (labels.jsonl + images/) plus contact_sheet.png, atomically."""
    check(n >= 1, "--n", f"must be >= 1, got {n}")
    check(32 <= size <= 4096, "--size", f"must be in [32, 4096], got {size}")
    width = max(4, len(str(n)))
    lines, sheet = [], []
    with atomic_directory(out_dir) as tmp:
        (tmp / "images").mkdir()
        for index, (label, jpeg) in enumerate(synthesize_jpegs(n, keyway_mix, seed, settings, size, workers)):
            image_path = f"images/key_{index + 1:0{width}d}.jpg"
            (tmp / image_path).write_bytes(jpeg)
            lines.append(json.dumps({"image_path": image_path, "bittings": list(label.bitting),
                                     "keyway": label.keyway, "brand": label.brand}))
            if len(sheet) < 48:
                sheet.append((tmp / image_path, label))
        atomic_write_text(tmp / LABELS_NAME, "".join(line + "\n" for line in lines))
        write_contact_sheet(tmp / "contact_sheet.png", ((Image.open(p), label, "synthetic") for p, label in sheet))
    return Path(out_dir)


def keyway_mix_from_codes(codes: Iterable[str]) -> dict[str, float]:
    """An even mix over `codes` (for the `--keyways` flag); unknown codes raise ConfigError."""
    mix = {code: 1.0 for code in codes}
    if not mix:
        raise ConfigError("--keyways needs at least one keyway code")
    check_keyway_mix(mix, "--keyways")
    return mix


SOURCE_COLOURS = {"synthetic": (110, 110, 110)}
"""Caption colour of a photo's source: grey for the synthetic renderer, USER_COLOUR for a user data set."""
USER_COLOUR = (20, 70, 200)


def contact_sheet(samples: Iterable[tuple[Image.Image, KeyLabel, str]], columns: int = 6, cell: int = 160) -> Image.Image:
    """A grid of thumbnails, each with its keyway, brand, bitting and source (`synthetic` or the data
    set's name) written under it."""
    items = list(samples)
    caption_h = 49
    rows = max(1, -(-len(items) // columns))
    sheet = Image.new("RGB", (columns * cell, rows * (cell + caption_h)), (250, 250, 250))
    draw = ImageDraw.Draw(sheet)
    if not items:
        draw.text((8, 8), "no records", fill=(0, 0, 0))
    for i, (image, label, source) in enumerate(items):
        x, y = (i % columns) * cell, (i // columns) * (cell + caption_h)
        thumb = image.convert("RGB")
        thumb.thumbnail((cell - 6, cell - 6))
        sheet.paste(thumb, (x + (cell - thumb.width) // 2, y + (cell - thumb.height) // 2))
        draw.text((x + 4, y + cell), f"{label.keyway} {label.brand}", fill=(0, 0, 0))
        draw.text((x + 4, y + cell + 15), ",".join(map(str, label.bitting)), fill=(60, 60, 60))
        draw.text((x + 4, y + cell + 30), source, fill=SOURCE_COLOURS.get(source, USER_COLOUR))
    return sheet


def write_contact_sheet(path: Path | str, samples: Iterable[tuple[Image.Image, KeyLabel, str]], columns: int = 6) -> None:
    """Atomically write the contact sheet of `samples` as PNG."""
    buffer = io.BytesIO()
    contact_sheet(samples, columns).save(buffer, format="PNG", optimize=True)
    atomic_write_bytes(path, buffer.getvalue())
