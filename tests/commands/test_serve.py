"""`keylike serve` as a user runs it: a subprocess on 127.0.0.1, loading the real tiny model once."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from PIL import Image

from keylike.model.tiny import save_tiny_model


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_binds_loopback_and_answers(tmp_path: Path) -> None:
    model = save_tiny_model(tmp_path / "model")
    port = _free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "keylike.cli", "serve", "--model", str(model), "--port", str(port), "--max-new-tokens", "8"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "server did not come up in 120 s"
            try:
                health = httpx.get(f"{url}/health", timeout=2).json()
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert health["model"] == str(model)
        buffer = io.BytesIO()
        Image.new("RGB", (40, 20), (9, 9, 9)).save(buffer, format="PNG")
        response = httpx.post(f"{url}/analyze", files={"image": ("k.png", buffer.getvalue(), "image/png")}, timeout=60)
        assert response.status_code == 200 and "success" in response.json()
        assert httpx.post(f"{url}/analyze", json={}, timeout=10).status_code == 415
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    assert f"Uvicorn running on http://127.0.0.1:{port}" in output
