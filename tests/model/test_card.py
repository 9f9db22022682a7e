"""Model cards: data per split and source, params, metrics, limits and the sha256 of every weight file."""

from __future__ import annotations

import hashlib
from pathlib import Path

from keylike.data.manifest import ManifestRecord, write_manifest
from keylike.model.card import ModelCard, file_hashes, split_counts, write_model_card


def _record(i: int, source: str) -> ManifestRecord:
    return ManifestRecord(f"r{i}", f"images/{i}.png", "0" * 64, 8, 8, source, "SC1", (1, 2, 3, 4, 5), "Schlage")


def test_card_counts_sources_and_hashes_weights(tmp_path: Path) -> None:
    split = tmp_path / "split"
    write_manifest(split / "train.jsonl", [_record(0, "synthetic"), _record(1, "my_keys"), _record(2, "my_keys")])
    write_manifest(split / "test.jsonl", [_record(3, "synthetic")])
    model = tmp_path / "model"
    (model / "sub").mkdir(parents=True)
    (model / "model.safetensors").write_bytes(b"weights")
    (model / "sub" / "mmproj.gguf").write_bytes(b"projector")
    (model / "config.json").write_text("{}")
    assert split_counts(split) == {"train": {"my_keys": 2, "synthetic": 1}, "test": {"synthetic": 1}}

    card = ModelCard("keylike: test", "A test model.", "data/base/model", split_counts(split),
                     {"merge": {"dtype": "float32"}}, {"finalize": {"temperature": 1.3}})
    write_model_card(model, card)
    text = (model / "README.md").read_text()
    assert "| source | train | test |" in text and "| my_keys | 2 | 0 |" in text and "| synthetic | 1 | 1 |" in text
    assert '"temperature": 1.3' in text and '"dtype": "float32"' in text and "## Limits" in text
    assert f"| `model.safetensors` | 7 | `{hashlib.sha256(b'weights').hexdigest()}` |" in text
    assert [name for name, _, _ in file_hashes(model)] == ["model.safetensors", "sub/mmproj.gguf"]  # not config.json
