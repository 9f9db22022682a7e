"""`keylike serve` as a user runs it: a subprocess on 127.0.0.1, loading the real tiny model once."""

from __future__ import annotations

import io
import re
from pathlib import Path

import httpx
import pytest
from PIL import Image

from keylike.cli import main
from keylike.model.tiny import save_tiny_model
from keylike.serving import serve_subprocess

ACCESS_LINE = r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} 127\.0\.0\.1:\d+ "POST /analyze" (\d{3}) \d+\.\d ms (\S+)'
"""An access-log line of a POST /analyze: time, client, request, status, milliseconds, outcome."""


def test_serve_binds_loopback_and_answers(tmp_path: Path) -> None:
    model = save_tiny_model(tmp_path / "model")
    args = ["--model", str(model), "--max-new-tokens", "8"]
    with serve_subprocess(args, env={"OMP_NUM_THREADS": "1"}) as server:
        assert httpx.get(f"{server.url}/health", timeout=10).json()["model"] == str(model)
        buffer = io.BytesIO()
        Image.new("RGB", (40, 20), (9, 9, 9)).save(buffer, format="PNG")
        files = {"image": ("k.png", buffer.getvalue(), "image/png")}
        response = httpx.post(f"{server.url}/analyze", files=files, timeout=60)
        assert response.status_code == 200 and "success" in response.json()
        assert httpx.post(f"{server.url}/analyze", json={}, timeout=10).status_code == 415
        assert httpx.get(server.url, timeout=10).headers["content-type"].startswith("text/html")
    assert f"Uvicorn running on {server.url}" in server.output
    assert server.process.returncode == 0
    assert re.findall(ACCESS_LINE, server.output) == [
        ("200", response.json().get("error", "ok")),
        ("415", "unsupported_media_type"),
    ]
    assert '"GET / HTTP/1.1"' not in server.output  # uvicorn's own access log gives way to keylike's


def test_help_names_the_access_log_flag(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    assert "--access-log, --no-access-log" in out and "The page at / takes or chooses a key photo" in out
