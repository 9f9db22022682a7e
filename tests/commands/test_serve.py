"""`keylike serve` as a user runs it: a subprocess on 127.0.0.1, loading the real tiny model once."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
from PIL import Image

from keylike.model.tiny import save_tiny_model
from keylike.serving import serve_subprocess


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
    assert f"Uvicorn running on {server.url}" in server.output
    assert server.process.returncode == 0
