"""Run the app on uvicorn: in the foreground (`keylike serve`) or in a thread (tests, benchmarks)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

DEFAULT_HOST = "127.0.0.1"
"""Loopback unless told otherwise: nothing is exposed by accident."""


def serve(app: FastAPI, host: str = DEFAULT_HOST, port: int = 8000) -> None:
    """Serve `app` until interrupted."""
    uvicorn.run(app, host=host, port=port, log_level="info")


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
