"""Synthetic data sets: keyway plan, seeded samples independent of worker count, the Keylike format, keylike synth."""

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keylike.cli import main as cli_main
from keylike.data.rendering import RenderSettings
from keylike.data.synthesis import (
    contact_sheet,
    keyway_mix_from_codes,
    plan_keyways,
    synthesize_jpegs,
    synthesize_key,
    write_synthetic_dataset,
)
from keylike.errors import ConfigError
from keylike.keys import KeyLabel, get_spec, is_valid_bitting

MIX = {"SC1": 1, "KW1": 1, "Y1": 1}
REPO = Path(__file__).resolve().parents[2]


def test_plan_follows_the_mix_exactly_and_is_shuffled() -> None:
    plan = plan_keyways(84, {"SC1": 1, "SC4": 1, "KW1": 1, "KW10": 1, "Y1": 1, "WR3": 1, "M1": 1}, seed=3)
    assert Counter(plan) == {code: 12 for code in ("SC1", "SC4", "KW1", "KW10", "Y1", "WR3", "M1")}
    assert plan[:12] != ["SC1"] * 12
    assert plan == plan_keyways(84, {"SC1": 1, "SC4": 1, "KW1": 1, "KW10": 1, "Y1": 1, "WR3": 1, "M1": 1}, seed=3)


def test_plan_weights_and_remainders() -> None:
    counts = Counter(plan_keyways(10, {"SC1": 2, "KW1": 1, "M1": 0}, seed=0))
    assert counts == {"SC1": 7, "KW1": 3}


@pytest.mark.parametrize(
    ("mix", "message"),
    [
        ({"SC1": 1, "ZZ9": 1}, "ingest.keyway_mix has unknown keyways ['ZZ9']"),
        ({"SC1": -1}, "ingest.keyway_mix weights must be >= 0"),
        ({"SC1": 0}, "ingest.keyway_mix needs at least one positive weight"),
    ],
)
def test_bad_mix_is_refused(mix: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        plan_keyways(5, mix, seed=0)
    assert message in str(info.value)


def test_sample_depends_only_on_seed_and_index() -> None:
    settings = RenderSettings()
    a = synthesize_key(9, 4, "SC4", settings, 96)
    synthesize_key(9, 3, "SC4", settings, 96)
    b = synthesize_key(9, 4, "SC4", settings, 96)
    assert a.label == b.label and a.rendered.jpeg_bytes() == b.rendered.jpeg_bytes()
    assert a.label.keyway == "SC4" and a.label.brand == "Schlage"
    assert is_valid_bitting(get_spec("SC4"), a.label.bitting)
    assert synthesize_key(9, 5, "SC4", settings, 96).rendered.jpeg_bytes() != a.rendered.jpeg_bytes()


def test_worker_count_does_not_change_the_images() -> None:
    one = list(synthesize_jpegs(8, MIX, 1, RenderSettings(), 64, workers=1))
    two = list(synthesize_jpegs(8, MIX, 1, RenderSettings(), 64, workers=2))
    assert one == two


def test_synthetic_dataset_is_in_the_keylike_format(tmp_path: Path) -> None:
    out = write_synthetic_dataset(tmp_path / "set", 9, MIX, 2, RenderSettings(), 80, workers=1)
    lines = (out / "labels.jsonl").read_text().splitlines()
    assert len(lines) == 9
    rows = [json.loads(line) for line in lines]
    assert rows[0]["image_path"] == "images/key_0001.jpg"
    for row in rows:
        assert set(row) == {"image_path", "bittings", "keyway", "brand"}
        spec = get_spec(row["keyway"])
        assert row["brand"] == spec.brand and is_valid_bitting(spec, row["bittings"])
        with Image.open(out / row["image_path"]) as image:
            assert image.format == "JPEG" and image.size == (80, 80)
    assert Counter(r["keyway"] for r in rows) == {"SC1": 3, "KW1": 3, "Y1": 3}
    with Image.open(out / "contact_sheet.png") as sheet:
        assert sheet.format == "PNG" and sheet.width > 0


def test_same_seed_writes_byte_identical_data_sets(tmp_path: Path) -> None:
    first = write_synthetic_dataset(tmp_path / "a", 5, MIX, 7, RenderSettings(), 64, workers=1)
    second = write_synthetic_dataset(tmp_path / "b", 5, MIX, 7, RenderSettings(), 64, workers=2)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_contact_sheet_grid() -> None:
    image = Image.new("RGB", (50, 50), (10, 20, 30))
    label = KeyLabel("SC1", (1, 2, 3, 4, 5), "Schlage")
    sheet = contact_sheet([(image, label, "synthetic")] * 6 + [(image, label, "my_keys")], columns=3, cell=100)
    assert sheet.size == (300, 3 * (100 + 49))
    assert sheet.getpixel((50, 50)) == (10, 20, 30)
    caption = np.asarray(sheet.crop((0, 100, 100, 128)))
    assert caption.min() < 100  # keyway, brand and bitting were drawn under the image
    source = np.asarray(sheet.crop((0, 2 * 149 + 130, 100, 2 * 149 + 149))).astype(int)
    assert (source[..., 2] - source[..., 0] > 80).any()  # the last photo's source, in a user data set's blue


def test_keyway_flag_mix() -> None:
    assert keyway_mix_from_codes(["SC1", "KW1"]) == {"SC1": 1.0, "KW1": 1.0}
    with pytest.raises(ConfigError, match="--keyways has unknown keyways"):
        keyway_mix_from_codes(["SC1", "nope"])


def test_synth_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "synth"
    rc = cli_main(["synth", "--n", "4", "--out", str(out), "--size", "64", "--seed", "1", "--keyways", "M1", "A2",
                   "--workers", "1"])
    assert rc == 0
    assert "wrote 4 images" in capsys.readouterr().out
    rows = [json.loads(line) for line in (out / "labels.jsonl").read_text().splitlines()]
    assert {r["keyway"] for r in rows} == {"M1", "A2"}
    assert len(list((out / "images").iterdir())) == 4


def test_synth_command_takes_render_settings_from_params(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    text = (REPO / "params.yaml").read_text()
    params.write_text(text.replace("backgrounds: [wood, paper, fabric]", "backgrounds: [plain]"))
    out = tmp_path / "synth"
    args = ["--n", "2", "--out", str(out), "--size", "64", "--params", str(params), "--workers", "1"]
    assert cli_main(["synth", *args]) == 0
    with Image.open(out / "images" / "key_0001.jpg") as image:
        corner = np.asarray(image.convert("RGB"), dtype=int)[1, 1]
    assert corner[1] > corner[0] + 30  # the green cutting mat


def test_synth_command_bad_keyway_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["synth", "--n", "2", "--out", str(tmp_path / "x"), "--keyways", "ZZ9"]) == 2
    assert "--keyways has unknown keyways ['ZZ9']" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_no_key_samples_are_photos_answered_no_key() -> None:
    from keylike.data.synthesis import with_no_key_share
    from keylike.keys import NO_KEY

    mix = with_no_key_share({"SC1": 1, "KW1": 1}, 0.2)
    assert mix[NO_KEY] == 0.5  # 0.5 of 2.5 = 20 %
    plan = plan_keyways(50, mix, seed=1)
    assert plan.count(NO_KEY) == 10
    sample = synthesize_key(1, 0, NO_KEY, RenderSettings(), 64)
    assert sample.label.is_no_key and sample.rendered.image.size == (64, 64)
    assert sample.rendered.jpeg_bytes()[:2] == b"\xff\xd8"
    with pytest.raises(ConfigError, match="no_key_share"):
        with_no_key_share({"SC1": 1}, 1.0)
