"""keylike.benchmarks.disk_use on the tiny project: with keylike's cache.type each output is stored
once, straight after `dvc repro` (hard links to the cache); copies would store it twice, and so does
a repro with reflink first on a filesystem without reflinks (why keylike puts hardlink first)."""

import json

from keylike.benchmarks.disk_use import cached_outputs, main, measure

OUTS = ("data/ingested", "data/models/adapter", "data/models/merged", "data/models/export")


def test_outputs_are_the_cached_outs_of_dvc_yaml(tiny_project) -> None:
    names = [p.relative_to(tiny_project.path).as_posix() for p in cached_outputs(tiny_project.path)]
    assert names == sorted(OUTS)


def test_a_repro_stores_outputs_once_and_copies_would_store_them_twice(tiny_project, tmp_path) -> None:
    files = len(tiny_project.hashes(*OUTS))
    main(["--repo", str(tiny_project.path), "--compare-copy", "--out", str(tmp_path / "disk_use.json")])
    (result,) = json.loads((tmp_path / "disk_use.json").read_text())["runs"]

    assert result["cache_type"] == "hardlink,symlink"
    linked, copied = result["linked"], result["copied"]
    assert linked["files"] == {"hardlink": files}
    assert linked["workspace_extra"] == 0 < linked["outputs_on_disk"] <= linked["cache_on_disk"]
    assert copied["files"] == {"separate": files}
    assert copied["workspace_extra"] == copied["outputs_on_disk"] >= linked["outputs_on_disk"]
    assert measure(tiny_project.path).files == linked["files"]  # put back as it was
    assert "up to date" in tiny_project.dvc("status").stdout


def test_reflink_first_leaves_a_second_copy_after_repro(tiny_project) -> None:
    """DVC 3.67 hard-links a new output into the cache only when hardlink is the first cache type."""
    tiny_project.dvc("config", "--local", "cache.type", "reflink,hardlink,symlink")
    tiny_project.run("sed", "-i", "s/lora_r: 4/lora_r: 6/", "params.yaml")
    tiny_project.dvc("repro")
    retrained = len(tiny_project.hashes(*OUTS[1:]))  # the ingested data did not change
    use = measure(tiny_project.path)
    assert use.files == {"hardlink": len(tiny_project.hashes(*OUTS)) - retrained, "separate": retrained}
    assert use.workspace_extra > 0
