"""The keyspace split: every key on one side, stable, both sides drawn from; pretraining and ingest never share a key."""

from collections import Counter

import numpy as np
import pytest

from keylike.data.photo import RenderSettings
from keylike.data.synthesis import synthesize_key
from keylike.keys import get_spec, sample_bitting
from keylike.keys.keyspace import BASE_SIDE, PIPELINE_SIDE, keyspace_side, sample_bitting_on_side
from keylike.model.pretraining.photos import render_photos


def test_side_is_a_stable_hash_of_keyway_and_bitting() -> None:
    # fixed by sha256("SC1:1,2,5,3,7"): a change of the rule would move every committed key to another side
    assert keyspace_side("SC1", (1, 2, 5, 3, 7)) == keyspace_side("SC1", [1, 2, 5, 3, 7])
    sides = {keyspace_side("SC1", (1, 2, 5, 3, d)) for d in range(10)}
    assert sides == {BASE_SIDE, PIPELINE_SIDE}


def test_sides_split_the_keyspace_about_evenly() -> None:
    rng = np.random.default_rng(0)
    spec = get_spec("KW1")
    counts = Counter(keyspace_side("KW1", sample_bitting(spec, rng)) for _ in range(2000))
    assert 0.45 < counts[BASE_SIDE] / 2000 < 0.55


@pytest.mark.parametrize("side", [BASE_SIDE, PIPELINE_SIDE])
def test_sampling_on_a_side_stays_there_and_is_valid(side: str) -> None:
    rng = np.random.default_rng(1)
    for code in ("SC1", "KW10", "M1"):
        spec = get_spec(code)
        for _ in range(50):
            assert keyspace_side(code, sample_bitting_on_side(spec, rng, side)) == side


def test_ingest_synthesis_draws_only_pipeline_keys() -> None:
    for index in range(60):
        key = synthesize_key(3407, index, ("SC1", "KW1", "KW10", "Y1")[index % 4], RenderSettings.clean(), 48)
        assert keyspace_side(key.label.keyway, key.label.bitting) == PIPELINE_SIDE


def test_pretraining_photos_draw_only_base_keys() -> None:
    photos = render_photos(40, {"SC1": 1, "KW1": 1, "Y2": 1}, 0.1, seed=7, settings=RenderSettings.clean(), size=64,
                           workers=1)
    keys = [label for label in photos.labels if not label.is_no_key]
    assert len(keys) == 36 and len(photos.labels) - len(keys) == 4
    assert {keyspace_side(label.keyway, label.bitting) for label in keys} == {BASE_SIDE}
    assert tuple(photos.pixels.shape) == (40, 3, 64, 64)


def test_unknown_side_is_refused() -> None:
    with pytest.raises(ValueError, match="side"):
        sample_bitting_on_side(get_spec("SC1"), np.random.default_rng(0), "other")
