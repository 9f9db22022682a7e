"""The access log of `keylike serve`: one line per request, with what the answer was.

  2026-12-01 10:00:00,123 127.0.0.1:50312 "POST /analyze" 200 153.2 ms no_key

Fields: time, client, method and path, status, milliseconds from the request to the end of the
response, and the outcome: `ok` for a reading, else the answer's or the refusal's `error` code
(`no_key`, `low_confidence`, `corrupt_image`, ...), `-` for requests that carry none (the page, /docs).
Lines go to the `keylike.access` logger, which `keylike serve` prints to stdout.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ACCESS_LOGGER = "keylike.access"
_OUTCOME = "keylike_outcome"


def record_outcome(request: Request, outcome: str) -> None:
    """Name the outcome of `request` for its access-log line (`ok` or an error code)."""
    setattr(request.state, _OUTCOME, outcome)


def access_log_config(base: dict[str, Any]) -> dict[str, Any]:
    """A `logging.config.dictConfig` dict: `base` (uvicorn's) plus the access logger, timestamped, on stdout."""
    return {
        **base,
        "formatters": {**base["formatters"], "keylike_access": {"format": "%(asctime)s %(message)s"}},
        "handlers": {
            **base["handlers"],
            "keylike_access": {"class": "logging.StreamHandler", "formatter": "keylike_access", "stream": "ext://sys.stdout"},
        },
        "loggers": {
            **base["loggers"],
            ACCESS_LOGGER: {"handlers": ["keylike_access"], "level": "INFO", "propagate": False},
        },
    }


class AccessLog:
    """ASGI middleware that logs each HTTP request once its response is sent (or has failed)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.logger = logging.getLogger(ACCESS_LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        state = scope.setdefault("state", {})
        status = 500  # what the client gets when the app fails before it answers

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            client = scope.get("client")
            self.logger.info(
                '%s "%s %s" %d %.1f ms %s',
                f"{client[0]}:{client[1]}" if client else "-",
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - start) * 1000,
                state.get(_OUTCOME, "-"),
            )
