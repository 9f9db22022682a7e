"""Serve keylike's page and HTTP API (FastAPI on uvicorn); the model loads once.

  keylike serve                                         # open http://127.0.0.1:8000/
  keylike serve --host 0.0.0.0 --port 8080             # reachable from a phone on the network
  keylike serve --model /srv/keylike/merged --no-access-log

The page at / takes or chooses a key photo and shows what keylike reads. POST /analyze with the
photo in multipart field `image` returns the JSON of `keylike predict`; GET /health; the OpenAPI
schema at /openapi.json (docs at /docs, served offline). Concurrent requests are batched into one
generate call (--max-batch-size photos, waiting at most --max-wait-ms). Bad uploads get a 4xx JSON
error. Binds to 127.0.0.1 unless --host says otherwise. One access-log line per request on stdout
(time, client, method and path, status, milliseconds, outcome) unless --no-access-log.
"""

from __future__ import annotations

import argparse

from keylike.commands.predict import add_model_arguments, limits_from_args, load_predictor


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `keylike serve`."""
    add_model_arguments(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port to listen on")
    parser.add_argument("--max-batch-size", type=int, default=8, help="most photos in one generate call")
    parser.add_argument("--max-wait-ms", type=float, default=10.0, help="how long a batch waits to fill")
    parser.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=True,
                        help="one line per request on stdout")


def run(args: argparse.Namespace) -> int:
    """Load the model, then serve until interrupted."""
    from keylike.serving import BatchConfig, ServeConfig, create_app, serve

    config = ServeConfig(
        limits=limits_from_args(args),
        batching=BatchConfig(max_batch_size=args.max_batch_size, max_wait_ms=args.max_wait_ms),
        access_log=args.access_log,
    )
    app = create_app(load_predictor(args), config)
    serve(app, host=args.host, port=args.port)
    return 0
