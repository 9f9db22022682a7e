"""DVC remote storage against a real S3 server (moto's server mode on 127.0.0.1): the round trip, and a
pull interrupted half-way (the server dies, or the `dvc` process is killed) that a second pull
completes with nothing corrupt. S3 is configured exactly as the README says, credentials `--local`."""

from __future__ import annotations

import hashlib
import os
import re
import select
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

SERVER = Path(__file__).parent / "fixtures" / "s3_server.py"
OUTS = ("data/ingested", "data/models/adapter", "data/models/merged", "data/models/export")
BUCKET = "keylike-dvc"
SECRET = "not-a-real-secret-9f3b"
OBJECT_NAME = re.compile(r"[0-9a-f]{30}(\.dir)?")


class S3Servers:
    """Starts faulty or healthy moto S3 servers and kills every one it started."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def start(self, *fault: str) -> tuple[subprocess.Popen, str]:
        """A new empty server (with `--fault KIND --after N` if given) and a bucket; its endpoint URL."""
        proc = subprocess.Popen([sys.executable, str(SERVER), *fault], stdout=subprocess.PIPE, text=True)
        self.procs.append(proc)
        endpoint = f"http://127.0.0.1:{int(proc.stdout.readline())}"
        _client(endpoint).create_bucket(Bucket=BUCKET)
        return proc, endpoint

    def stop_all(self) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def s3_servers():
    servers = S3Servers()
    yield servers
    servers.stop_all()


def _client(endpoint: str):
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key=SECRET
    )


def _bucket_md5s(endpoint: str, check_bodies: bool = False) -> set[str]:
    """The md5 of every object in the bucket (from its key); `check_bodies` downloads each one and
    checks its bytes against that md5."""
    client, found = _client(endpoint), set()
    for item in client.list_objects_v2(Bucket=BUCKET)["Contents"]:
        *_, prefix, name = item["Key"].split("/")
        md5 = prefix + name.removesuffix(".dir")
        if check_bodies:
            body = client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
            assert hashlib.md5(body).hexdigest() == md5, f"corrupt object {item['Key']}"
        found.add(md5)
    return found


def _use_s3(project) -> None:
    """The README's S3 setup: the default remote in git, credentials in the untracked config.local."""
    project.dvc("remote", "add", "-f", "-d", "s3", f"s3://{BUCKET}/keylike")
    _add_credentials(project)


def _add_credentials(project) -> None:
    project.dvc("remote", "modify", "--local", "s3", "access_key_id", "testing")
    project.dvc("remote", "modify", "--local", "s3", "secret_access_key", SECRET)


def _point_at(project, endpoint: str) -> None:
    project.dvc("remote", "modify", "--local", "s3", "endpointurl", endpoint)


def _cache_files(project) -> list[Path]:
    """The objects in the cache (named by the rest of their md5, `.dir` for listings). DVC's partial
    downloads, `[<object>].<random>.tmp` (a killed `dvc` leaves them behind), are not objects: DVC
    never reads them as such."""
    root = project.path / ".dvc" / "cache" / "files" / "md5"
    return sorted(p for p in root.rglob("*") if p.is_file() and OBJECT_NAME.fullmatch(p.name))


def _assert_cache_intact(project) -> None:
    """Every object in the cache holds exactly the bytes its name (their md5) says."""
    for path in _cache_files(project):
        name = path.parent.name + path.name.removesuffix(".dir")
        assert hashlib.md5(path.read_bytes()).hexdigest() == name, f"corrupt cache object {path}"


def test_s3_round_trip_with_credentials_out_of_git(tiny_project, s3_servers) -> None:
    project = tiny_project
    _, endpoint = s3_servers.start()
    _use_s3(project)
    _point_at(project, endpoint)
    assert SECRET not in (project.path / ".dvc" / "config").read_text()
    assert SECRET in (project.path / ".dvc" / "config.local").read_text()
    project.git("check-ignore", "-q", ".dvc/config.local")

    expected = project.hashes(*OUTS)
    assert "files pushed" in project.dvc("push").stdout
    assert "in sync" in project.dvc("status", "--cloud").stdout
    assert set(expected.values()) < _bucket_md5s(endpoint, check_bodies=True)  # every file, and the directory listings

    project.run("rm", "-rf", ".dvc/cache", *OUTS)
    project.dvc("pull")
    assert project.hashes(*OUTS) == expected
    _assert_cache_intact(project)
    assert "up to date" in project.dvc("status").stdout


def _interrupted_pull(clone, server: subprocess.Popen, fault: str) -> None:
    """Run `dvc pull` in the clone and let the server's fault stop it half-way: the server dies, or
    it hangs and the `dvc` process is killed."""
    if fault == "die":
        # botocore and s3fs would retry a dead server for minutes (5 x 5 x 5 attempts): once here
        result = clone.dvc("pull", check=False, timeout=120, env={"AWS_MAX_ATTEMPTS": "1"})
        assert result.returncode != 0, result.stdout
        return
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "dvc"), "pull"], cwd=clone.path, env=clone.env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        assert select.select([server.stdout], [], [], 60)[0], "the server never reached its fault"
        assert server.stdout.readline().strip() == "hanging"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def many_files(tiny_project_factory, tmp_path_factory):
    """A tiny project with 100 images (about 110 objects) and the S3 remote committed and pushed to git."""
    project = tiny_project_factory(tmp_path_factory.mktemp("many-files"))
    project.run("sed", "-i", "s/synthetic_count: 24/synthetic_count: 100/", "params.yaml")
    project.dvc("repro")
    _use_s3(project)
    project.git("commit", "-q", "-am", "100 images; S3 remote")
    project.git("push", "-q")
    return project


@pytest.mark.parametrize("fault", ["die", "hang"], ids=["server-dies", "dvc-killed"])
def test_interrupted_pull_is_completed_by_a_second_pull(many_files, s3_servers, tmp_path, fault) -> None:
    """The server dies (or hangs and `dvc pull` is SIGKILLed) after 40 object downloads. The partial
    state holds no corrupt object or file, and a second pull from a server with the same data (a new
    server, pushed to again) restores everything bit-identically."""
    project = many_files
    server, endpoint = s3_servers.start("--fault", fault, "--after", "40")
    _point_at(project, endpoint)
    project.dvc("push")
    expected = project.hashes(*OUTS)
    total = len(_bucket_md5s(endpoint))

    clone = project.clone(tmp_path / "clone")
    _add_credentials(clone)
    _point_at(clone, endpoint)
    _interrupted_pull(clone, server, fault)
    partial = len(_cache_files(clone))
    assert 0 < partial < total, f"{partial} of {total} objects after the interrupted pull"
    _assert_cache_intact(clone)
    present = clone.hashes(*(out for out in OUTS if (clone.path / out).exists()))
    assert {path: expected[path] for path in present} == present, "a checked-out file differs from the pushed one"

    server.kill()
    _, endpoint = s3_servers.start()
    _point_at(project, endpoint)
    project.dvc("push")
    _point_at(clone, endpoint)
    clone.dvc("pull", timeout=120)
    assert clone.hashes(*OUTS) == expected
    assert len(_cache_files(clone)) == total
    _assert_cache_intact(clone)
    assert "up to date" in clone.dvc("status").stdout
