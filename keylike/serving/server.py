"""Run the app on uvicorn: in the foreground (`keylike serve`) or in a thread (tests, benchmarks)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI
from uvicorn.config import LOGGING_CONFIG

from keylike.serving.access_log import access_log_config

DEFAULT_HOST = "127.0.0.1"
"""Loopback unless told otherwise: nothing is exposed by accident."""


def serve(app: FastAPI, host: str = DEFAULT_HOST, port: int = 8000) -> None:
    """Serve `app` until interrupted; keylike's access log (when the app has it) replaces uvicorn's."""
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False, log_config=access_log_config(LOGGING_CONFIG))


@contextmanager
def running_server(app: FastAPI, host: str = DEFAULT_HOST, startup_timeout_s: float = 30.0) -> Iterator[str]:
    """Serve `app` on a free port of `host` in a thread; yields the base URL, stops the server on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="keylike-server")
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"server on {host}:{port} did not start within {startup_timeout_s} s")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=startup_timeout_s)
        sock.close()


@dataclass
class ServerProcess:
    """A `keylike serve` subprocess: its base URL, and its output once it has stopped."""

    url: str
    process: subprocess.Popen
    output: str = ""


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _wait_for_health(server: ServerProcess, timeout_s: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while True:
        if server.process.poll() is not None:
            output = server.process.stdout.read()
            raise RuntimeError(f"keylike serve exited with {server.process.returncode}:\n{output}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"keylike serve did not answer {server.url}/health within {timeout_s} s")
        try:
            httpx.get(f"{server.url}/health", timeout=2).raise_for_status()
            return
        except httpx.TransportError:
            time.sleep(0.2)


@contextmanager
def serve_subprocess(
    serve_args: Sequence[str],
    host: str | None = None,
    env: dict[str, str] | None = None,
    startup_timeout_s: float = 180.0,
) -> Iterator[ServerProcess]:
    """Run `keylike serve SERVE_ARGS [--host HOST] --port <free>` until /health answers; stop it (SIGINT) on exit.

    Without `host` the command's own default applies (loopback).
    """
    port = _free_port(host or DEFAULT_HOST)
    cmd = [sys.executable, "-m", "keylike.cli", "serve", *serve_args, "--port", str(port)]
    cmd += ["--host", host] if host else []
    process = subprocess.Popen(
        cmd, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    server = ServerProcess(f"http://{host or DEFAULT_HOST}:{port}", process)
    try:
        _wait_for_health(server, startup_timeout_s)
        yield server
    finally:
        process.send_signal(signal.SIGINT)
        try:
            server.output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            server.output, _ = process.communicate()
