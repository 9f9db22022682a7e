"""Export of the adapter and merged formats on the tiny model, the parity scoring, and the config."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from keylike.config import load_params
from keylike.errors import ConfigError, ExportParityError, ExportToolsMissingError, KeylikeError
from keylike.io import read_jsonl
from keylike.model.export import ExportConfig, answer_agreement, export_model, text_agreement
from keylike.model.export.core import TIMINGS, pick_parity_records
from keylike.model.export.tools import require

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


def make_config(**overrides) -> ExportConfig:
    params = load_params(REPO / "params.yaml")
    params["export"] = {**params["export"], "formats": ["adapter", "merged"], "parity_samples": 4, **overrides}
    return ExportConfig.from_params(params)


def test_adapter_and_merged_export_load_and_agree(tiny_lora, tiny_split, tmp_path) -> None:
    config = make_config(max_new_tokens=8)
    out = tmp_path / "export"
    report = export_model(config, adapter_dir=tiny_lora.adapter_dir, merged_dir=tiny_lora.merged_dir,
                          split_dir=tiny_split.split_dir, images_dir=tiny_split.images_dir, out_dir=out)
    assert sorted(report.formats) == ["adapter", "merged"]
    assert (out / "adapter" / "adapter_config.json").is_file()
    assert (out / "merged" / "config.json").is_file()
    merged = report.formats["merged"]
    # the reference is the adapter on its base model, read from the train stage's folder
    assert report.reference.runtime == "transformers+peft"
    assert report.reference.size_bytes == sum(p.stat().st_size for p in tiny_lora.adapter_dir.rglob("*") if p.is_file())
    assert merged.answer_agreement == answer_agreement(report.reference.texts, list(merged.texts))
    assert "answer_agreement" not in report.to_json()["reference"]
    assert merged.size_bytes == sum(p.stat().st_size for p in tiny_lora.merged_dir.rglob("*") if p.is_file())
    adapter = report.formats["adapter"]
    assert adapter.runtime == "transformers+peft"
    assert 0 < adapter.size_bytes < merged.size_bytes
    assert adapter.load_s > 0 and adapter.latency_s_per_image > 0
    card = (out / "merged" / "README.md").read_text()  # in the hashed export folder: no per-run timings
    assert "answer_agreement" in card and not any(timing in card for timing in TIMINGS)
    rows = read_jsonl(out / "parity.jsonl")
    assert [r["id"] for r in rows] == report.image_ids and len(rows) == 4
    assert [r["adapter"] for r in rows] == adapter.texts
    metrics = report.to_json()
    assert set(metrics["formats"]) == {"adapter", "merged"} and metrics["parity_samples"] == 4
    json.dumps(metrics)


def test_every_format_is_scored_against_the_adapter_on_its_base(tiny_lora, tiny_split, tmp_path, monkeypatch) -> None:
    from keylike.model.export.transformers_formats import AdapterExporter

    load = AdapterExporter.load

    def reference_answers_junk(self, out_dir, config):
        runner = load(self, out_dir, config)
        return (lambda image: "junk reference") if out_dir == tiny_lora.adapter_dir else runner

    monkeypatch.setattr(AdapterExporter, "load", reference_answers_junk)
    report = export_model(make_config(max_new_tokens=8), adapter_dir=tiny_lora.adapter_dir, merged_dir=tiny_lora.merged_dir,
                          split_dir=tiny_split.split_dir, images_dir=tiny_split.images_dir, out_dir=tmp_path / "export")
    assert report.reference.texts == ["junk reference"] * 4
    # no format, merged included, is compared with its own answers: none says "junk reference"
    assert {name: r.text_agreement for name, r in report.formats.items()} == {"adapter": 0.0, "merged": 0.0}


def test_a_format_compared_with_itself_is_refused() -> None:
    texts = ["KEYWAY: SC1\nBITTING: 1,2,3,4,5\nBRAND: Schlage"]
    with pytest.raises(ValueError, match="compares a format with itself"):
        answer_agreement(texts, texts)
    with pytest.raises(ValueError, match="compares a format with itself"):
        text_agreement(texts, texts)


def test_adapter_export_loads_with_peft_onto_the_base(tiny_lora, tmp_path) -> None:
    from peft import PeftModel

    from keylike.model.export.base import Sources
    from keylike.model.export.transformers_formats import AdapterExporter
    from keylike.model.loading import load_base_model

    AdapterExporter().build(Sources(tiny_lora.adapter_dir, tiny_lora.merged_dir), tmp_path, make_config())
    base, _ = load_base_model("tiny", image_size=64)
    model = PeftModel.from_pretrained(base, tmp_path)
    assert any("lora_B" in name for name, _ in model.named_parameters())


def test_agreement_compares_parsed_fields_and_text() -> None:
    reference = ["KEYWAY: SC1\nBITTING: 1,2,3,4,5\nBRAND: Schlage", "KEYWAY: KW1\nBITTING: 1,1\nBRAND: Kwikset", "junk"]
    candidate = ["KEYWAY: SC1\nBITTING: 1,2,3,4,5\nBRAND: Schlage  ", "KEYWAY: KW1\nBITTING: 1,2\nBRAND: Kwikset", "other junk"]
    # fields equal for the first and (all missing) the third; text equal for the first only
    assert answer_agreement(reference, candidate) == pytest.approx(2 / 3)
    assert text_agreement(reference, candidate) == pytest.approx(1 / 3)


def test_parity_records_are_a_seeded_subset_in_split_order() -> None:
    records = list(range(20))
    picked = pick_parity_records(records, 5, seed=1)
    assert picked == sorted(picked) and len(set(picked)) == 5
    assert picked == pick_parity_records(records, 5, seed=1)
    assert pick_parity_records(records, 50, seed=1) == records


def test_parity_below_threshold_fails_naming_the_format(tiny_lora, tiny_split, tmp_path) -> None:
    from keylike.model.export.core import ExportReport, FormatReport

    def fake(name: str, texts: list[str]) -> FormatReport:
        return FormatReport(name, "test", 1, 0.0, 0.0, 0.0, answer_agreement(["a", "b"], texts),
                            text_agreement(["a", "b"], texts), {}, texts)

    report = ExportReport(make_config(min_agreement=0.9), ["x", "y"], fake("reference", ["a", "b"]),
                          {"merged": fake("merged", ["a", "b"]), "gguf": fake("gguf", ["a", "KEYWAY: SC1"])})
    assert report.failing == ["gguf"]
    with pytest.raises(ExportParityError, match=r"gguf 0\.500"):
        report.raise_for_parity()


def test_missing_tools_name_the_extra() -> None:
    with pytest.raises(ExportToolsMissingError, match=r'gguf needs no-such-package \(module no_such_module\).*pip install -e "\.\[export\]"'):
        require("gguf", {"no_such_module": "no-such-package"})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"formats": ["tfjs"]}, "export.formats has unknown format"),
        ({"formats": []}, "export.formats must name at least one"),
        ({"min_agreement": 1.5}, r"export.min_agreement must be in \[0, 1\]"),
        ({"parity_samples": 0}, "export.parity_samples must be >= 1"),
        ({"gguf_outtype": "q4"}, "export.gguf_outtype must be"),
    ],
)
def test_config_rejects_bad_values(overrides, message) -> None:
    with pytest.raises(ConfigError, match=message):
        make_config(**overrides)


def test_missing_merged_model_says_which_stage(tiny_lora, tiny_split, tmp_path) -> None:
    with pytest.raises(KeylikeError, match="run the train and merge stages first"):
        export_model(make_config(), adapter_dir=tiny_lora.adapter_dir, merged_dir=tmp_path / "nope",
                     split_dir=tiny_split.split_dir, images_dir=tiny_split.images_dir, out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is not None, reason="llama-cpp-python is installed here")
def test_on_device_format_without_its_tools_fails_before_any_work(tiny_lora, tiny_split, tmp_path) -> None:
    with pytest.raises(ExportToolsMissingError, match=r'export format gguf needs .*llama-cpp-python.*pip install -e "\.\[export\]"'):
        export_model(make_config(formats=["adapter", "gguf"]), adapter_dir=tiny_lora.adapter_dir,
                     merged_dir=tiny_lora.merged_dir, split_dir=tiny_split.split_dir, images_dir=tiny_split.images_dir,
                     out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()
