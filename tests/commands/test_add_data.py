"""`keylike add-data` with the real git and dvc CLIs in a temporary project: a data set holding a link
to a file outside it is refused before DVC sees it, so that file reaches neither `.dvc/cache` nor the
ingested training data; plain `dvc add` on the same data set would have cached it."""

from __future__ import annotations

import io
import json
import shutil
import stat
import sys
import zipfile
from pathlib import Path

import yaml
from PIL import Image

REPO = Path(__file__).resolve().parents[2]


def _jpeg(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def _project(root: Path, checkout):
    """A git + DVC project with keylike's .dvc/config (hardlink cache) and params.yaml."""
    (root / ".dvc").mkdir(parents=True)
    for name in (".dvc/config", ".dvc/.gitignore", ".dvcignore", "params.yaml"):
        shutil.copy(REPO / name, root / name)
    project = checkout(root)
    project.git("init", "-q", "-b", "main")
    return project


def _keylike(project, *args: str, check: bool = True):
    return project.run(sys.executable, "-m", "keylike.cli", *args, check=check, env={"PYTHONPATH": str(REPO)})


def _cached_bytes(project) -> set[bytes]:
    cache = project.path / ".dvc" / "cache"
    return {p.read_bytes() for p in cache.rglob("*") if p.is_file()} if cache.exists() else set()


def _phone_dataset(root: Path, secret: Path) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "images" / "good.jpg").write_bytes(_jpeg((200, 120, 40)))
    (root / "images" / "secret.jpg").symlink_to(secret)
    lines = [{"image_path": f"images/{name}.jpg", "bittings": [1, 2, 5, 3, 7], "keyway": "SC1", "brand": "Schlage"}
             for name in ("good", "secret")]
    (root / "labels.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return root


def test_a_link_to_an_outside_file_never_enters_the_cache_or_the_training_data(tmp_path: Path, checkout) -> None:
    secret = tmp_path / "outside" / "secret.jpg"
    secret.parent.mkdir()
    secret.write_bytes(_jpeg((10, 250, 10)))
    project = _project(tmp_path / "proj", checkout)
    dataset = _phone_dataset(project.path / "data" / "raw" / "phone", secret)

    refused = _keylike(project, "add-data", "data/raw/phone", check=False)
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and "images/secret.jpg: link (points to" in refused.stderr
    assert not (project.path / "data" / "raw" / "phone.dvc").exists() and secret.read_bytes() not in _cached_bytes(project)

    (dataset / "images" / "secret.jpg").unlink()  # what the refusal says to do: no link left
    added = _keylike(project, "add-data", "data/raw/phone")
    assert "checked and tracked" in added.stdout and (project.path / "data" / "raw" / "phone.dvc").is_file()
    assert _jpeg((200, 120, 40)) in _cached_bytes(project) and secret.read_bytes() not in _cached_bytes(project)
    assert _keylike(project, "add-data", "data/raw/phone").returncode == 0  # its files are now the cache's own copies

    params = yaml.safe_load((project.path / "params.yaml").read_text())
    params["ingest"].update(synthetic_count=0, user_datasets=["data/raw/phone"])
    (project.path / "params.yaml").write_text(yaml.safe_dump(params))
    _keylike(project, "ingest", "--workers", "1")
    manifest = [json.loads(line) for line in (project.path / "data" / "ingested" / "manifest.jsonl").open()]
    assert [r["id"] for r in manifest] == ["phone-L1"]
    ingested = [Image.open(project.path / "data" / "ingested" / r["image"]).getpixel((20, 15)) for r in manifest]
    assert all(abs(g - 120) < 12 for _, g, _ in ingested)

    control = _phone_dataset(project.path / "data" / "raw" / "control", secret)
    project.dvc("add", str(control.relative_to(project.path)))
    assert secret.read_bytes() in _cached_bytes(project)  # what add-data prevented


def test_a_zip_with_a_link_entry_is_refused_before_dvc(tmp_path: Path, checkout) -> None:
    project = _project(tmp_path / "proj", checkout)
    path = project.path / "data" / "raw" / "phone.zip"
    path.parent.mkdir(parents=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("labels.jsonl", "{}\n")
        link = zipfile.ZipInfo("images/secret.jpg")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
        archive.writestr("../../evil.jpg", "x")
    refused = _keylike(project, "add-data", "data/raw/phone.zip", check=False)
    assert refused.returncode == 1 and "2 unsafe entries" in refused.stderr
    assert "images/secret.jpg: link" in refused.stderr and "../../evil.jpg: zip_slip" in refused.stderr
    assert not (project.path / "data" / "raw" / "phone.zip.dvc").exists()
