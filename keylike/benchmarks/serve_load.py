"""Load test of `keylike serve`: concurrent clients on 127.0.0.1, good requests alone and mixed with bad ones.

  python -m keylike.benchmarks.serve_load                       # tiny model, records metrics/benchmarks/serve_load.json
  python -m keylike.benchmarks.serve_load --model data/models/merged --requests 400 --clients 16

Starts `keylike serve` in a subprocess (the tiny Gemma 3n unless --model), then runs two phases
with --clients threads sharing --requests requests each (and at most --max-seconds): `good` sends
only photos; `mixed` makes every --bad-every-th request a bad one (not an image, truncated,
empty, wrong type, missing field, over the byte limit). It records status codes, transport errors,
p50/p95 latency and requests/s per phase, and the server's batching counters. It passes (exit 0)
when there is no transport error, no 5xx, every photo gets 200 and every bad request its 4xx.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import io
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

from keylike.benchmarks import command_line
from keylike.benchmarks.machine import machine
from keylike.evaluation.latency import percentile
from keylike.io import write_json
from keylike.keys import MAX_ANSWER_TOKENS

PHOTO_SIZE = (192, 96)
"""Width x height of the test photos (the ingest stage's image size is 192)."""


def _photos(count: int) -> list[bytes]:
    rng = np.random.default_rng(0)
    photos = []
    for _ in range(count):
        buffer = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (PHOTO_SIZE[1], PHOTO_SIZE[0], 3), dtype=np.uint8)).save(buffer, "PNG")
        photos.append(buffer.getvalue())
    return photos


def _bad_requests(photo: bytes, max_bytes: int) -> dict[str, tuple[dict[str, Any], int]]:
    """Bad request kind -> (httpx.post keyword arguments, expected status)."""
    return {
        "not_an_image": ({"files": {"image": ("k.png", b"plain text, not a photo", "image/png")}}, 400),
        "truncated": ({"files": {"image": ("k.png", photo[: len(photo) // 2], "image/png")}}, 400),
        "empty": ({"files": {"image": ("k.png", b"", "image/png")}}, 400),
        "wrong_type": ({"files": {"image": ("k.txt", photo, "text/plain")}}, 415),
        "json_body": ({"json": {"image": "..."}}, 415),
        "missing_field": ({"files": {"photo": ("k.png", photo, "image/png")}}, 400),
        "too_many_bytes": ({"files": {"image": ("k.png", b"\0" * (max_bytes + 1), "image/png")}}, 413),
    }


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50_s": None, "p95_s": None, "mean_s": None}
    return {
        "p50_s": round(percentile(values, 50), 4),
        "p95_s": round(percentile(values, 95), 4),
        "mean_s": round(statistics.fmean(values), 4),
    }


Plan = list[tuple[str, dict[str, Any], int]]
"""Requests to send: (kind, httpx.post keyword arguments, expected status); kind `photo` is a good one."""


def run_phase(url: str, plan: Plan, clients: int, max_seconds: float) -> dict[str, Any]:
    """Send `plan` from `clients` threads; no request starts after `max_seconds`."""
    lock = threading.Lock()
    results: list[tuple[str, int | None, float, int]] = []
    started = time.perf_counter()
    local = threading.local()

    def send(item: tuple[str, dict[str, Any], int]) -> None:
        kind, kwargs, expected = item
        if time.perf_counter() - started > max_seconds:
            return
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=120)
        t0 = time.perf_counter()
        try:
            status: int | None = local.client.post(f"{url}/analyze", **kwargs).status_code
        except httpx.TransportError:
            status = None
        with lock:
            results.append((kind, status, time.perf_counter() - t0, expected))

    with concurrent.futures.ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(send, plan))
    wall = time.perf_counter() - started
    good = [r for r in results if r[0] == "photo"]
    bad = [r for r in results if r[0] != "photo"]
    return {
        "planned": len(plan),
        "sent": len(results),
        "wall_s": round(wall, 3),
        "requests_per_s": round(len(results) / wall, 3),
        "photos_per_s": round(len(good) / wall, 3),
        "transport_errors": sum(r[1] is None for r in results),
        "status_5xx": sum(r[1] is not None and r[1] >= 500 for r in results),
        "unexpected_status": sum(r[1] != r[3] for r in results),
        "status_counts": {str(k): v for k, v in sorted(Counter(str(r[1]) for r in results).items())},
        "bad_kinds": dict(sorted(Counter(r[0] for r in bad).items())),
        "photo_latency": _percentiles([r[2] for r in good]),
        "bad_latency": _percentiles([r[2] for r in bad]),
    }


def _plan(requests: int, bad_every: int, photos: list[bytes], max_bytes: int) -> Plan:
    bad = list(_bad_requests(photos[0], max_bytes).items())
    plan = []
    for i in range(requests):
        if bad_every and i % bad_every == bad_every - 1:
            kind, (kwargs, status) = bad[(i // bad_every) % len(bad)]
            plan.append((kind, kwargs, status))
        else:
            plan.append(("photo", {"files": {"image": ("k.png", photos[i % len(photos)], "image/png")}}, 200))
    return plan


def _environment(command: str) -> dict[str, Any]:
    packages = ("torch", "transformers", "fastapi", "uvicorn", "starlette", "httpx", "pillow")
    revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    return {
        "command": command,
        "machine": machine(load_average_1_5_15_min=[round(x, 2) for x in os.getloadavg()],
                           note="a 2-core machine shared with other jobs: compare runs by their load average"),
        "versions": {name: metadata.version(name) for name in packages},
        "git_revision": revision.stdout.strip() or None,
    }


def run_load(args: argparse.Namespace, model_dir: Path) -> dict[str, Any]:
    """Start the server on `model_dir`, run both phases, return the record."""
    from keylike.serving import serve_subprocess

    serve_args = [
        "--model", str(model_dir), "--device", "cpu", "--max-new-tokens", str(args.max_new_tokens),
        "--max-batch-size", str(args.max_batch_size), "--max-wait-ms", str(args.max_wait_ms),
        "--max-bytes", str(args.max_bytes),
    ]  # fmt: skip
    photos = _photos(8)
    with serve_subprocess(serve_args, env={"OMP_NUM_THREADS": str(args.server_threads)}) as server:
        warm = httpx.post(f"{server.url}/analyze", files={"image": ("k.png", photos[0], "image/png")}, timeout=120)
        warm.raise_for_status()
        phases = {
            name: run_phase(server.url, _plan(args.requests, bad_every, photos, args.max_bytes), args.clients,
                            args.max_seconds)
            for name, bad_every in (("good", 0), ("mixed", args.bad_every))
        }
        health = httpx.get(f"{server.url}/health", timeout=10).json()
    health = {k: v for k, v in health.items() if k not in ("model", "queued", "status")}
    health["mean_batch"] = round(health["requests"] / max(1, health["batches"]), 3)
    passed = all(
        p["transport_errors"] == 0 and p["status_5xx"] == 0 and p["unexpected_status"] == 0 and p["sent"] > 0
        for p in phases.values()
    )
    return {
        "passed": passed,
        "config": {
            "model": "tiny (random weights, keylike.model.tiny)" if args.model is None else str(args.model),
            **{k: v for k, v in vars(args).items() if k not in ("model", "out")},
        },
        "phases": phases,
        "server_batching": health,
    }


def _summary(phase: dict[str, Any]) -> str:
    latency = phase["photo_latency"]
    return (
        f"{phase['sent']} sent, {phase['requests_per_s']} req/s, "
        f"photo p50 {latency['p50_s']} s p95 {latency['p95_s']} s, "
        f"5xx {phase['status_5xx']}, errors {phase['transport_errors']}, unexpected {phase['unexpected_status']}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the load test and write the record to --out."""
    parser = argparse.ArgumentParser(prog="python -m keylike.benchmarks.serve_load", description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, help="merged model folder (default: the tiny model, built here)")
    parser.add_argument("--requests", type=int, default=200, help="requests per phase")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads")
    parser.add_argument("--bad-every", type=int, default=4, help="every Nth request of the mixed phase is bad")
    parser.add_argument("--max-seconds", type=float, default=240.0, help="per phase: no request starts after this")
    parser.add_argument("--max-batch-size", type=int, default=8)
    parser.add_argument("--max-wait-ms", type=float, default=10.0)
    parser.add_argument("--max-new-tokens", type=int, default=MAX_ANSWER_TOKENS)
    parser.add_argument("--max-bytes", type=int, default=1024 * 1024)
    parser.add_argument("--server-threads", type=int, default=1, help="torch threads of the server")
    parser.add_argument("--out", type=Path, default=Path("metrics/benchmarks/serve_load.json"))
    args = parser.parse_args(argv)
    command = command_line("keylike.benchmarks.serve_load", argv)
    with tempfile.TemporaryDirectory(prefix="keylike-serve-load-") as tmp:
        model_dir = args.model
        if model_dir is None:
            from keylike.model.tiny import save_tiny_model

            model_dir = save_tiny_model(Path(tmp) / "tiny")
        record = run_load(args, model_dir)
    record.update(_environment(command))
    write_json(args.out, record)
    for name, phase in record["phases"].items():
        print(f"{name}: {_summary(phase)}", file=sys.stderr)
    print(f"passed: {record['passed']} -> {args.out}", file=sys.stderr)
    return 0 if record["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
