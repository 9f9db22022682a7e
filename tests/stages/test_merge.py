"""Stage `merge` on a tiny-model adapter: merged folder, metrics, and byte-identical reruns."""

import hashlib
from pathlib import Path

import yaml

from keylike.config import load_params
from keylike.io import read_metrics

REPO = Path(__file__).resolve().parents[2]


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_stage_merges_and_reruns_byte_identically(stage, tmp_path, make_adapter, tiny_split):
    params = load_params(REPO / "params.yaml")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    adapter, _ = make_adapter(tmp_path / "adapter")
    for run in ("first", "second"):
        stage.main([
            "--params", str(tmp_path / "params.yaml"), "--adapter", str(adapter), "--split", str(tiny_split.split_dir),
            "--images", str(tiny_split.images_dir), "--out", str(tmp_path / run / "merged"),
            "--metrics", str(tmp_path / run / "merge.json"),
        ])  # fmt: skip
    assert digests(tmp_path / "first" / "merged") == digests(tmp_path / "second" / "merged")
    files = set(digests(tmp_path / "first" / "merged"))
    assert {"config.json", "model.safetensors", "processor_config.json", "keylike_calibration.json"} <= files
    metrics = read_metrics(tmp_path / "first" / "merge.json")
    assert metrics["base_model"] == "tiny" and metrics["dtype"] == params["merge"]["dtype"]
    assert {"smoke_answer", "smoke_parsed", "smoke_parse_error", "trained_in_4bit", "params"} <= set(metrics)
    calibration = metrics["finalize"]
    assert calibration["chosen_on"] == "val" and calibration["val_images"] == len(tiny_split.records["val"])
    assert calibration["temperature"] > 0 and 0 <= calibration["min_confidence"] <= 1
