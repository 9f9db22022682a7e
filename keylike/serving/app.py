"""The HTTP API for the web app: POST /analyze (multipart field `image`), GET /health, /openapi.json;
the page at / and the API docs at /docs, every asset served from installed packages (no CDN; no /redoc,
whose page loads a logo from the internet).

Every bad upload gets a 4xx JSON body `{success: false, error: <code>, message: <what to do>}`
before the model is involved: a body that is not multipart/form-data (415), a missing `image`
field or a text field in its place (400), an upload whose declared type is not an image (415),
an empty upload (400), more bytes or pixels than the limits (413), data that is not an image or
is truncated (400). Good uploads wait in a BatchQueue and share one generate call.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from PIL import Image
from pydantic import BaseModel
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from keylike.serving.access_log import AccessLog, record_outcome
from keylike.serving.batching import BatchConfig, BatchQueue
from keylike.serving.images import BadImageError, ImageLimits, check_content_type, decode_image
from keylike.serving.predictor import Answer, Predictor
from keylike.serving.response import Analysis, analyze_answer

MULTIPART_OVERHEAD_BYTES = 64 * 1024
"""Room for multipart headers and boundaries on top of the image limit, for the Content-Length check."""
STATIC_DIR = Path(__file__).with_name("static")
"""The page's HTML, CSS and JavaScript (package data)."""


@dataclass(frozen=True)
class ServeConfig:
    """Limits of the HTTP layer."""

    limits: ImageLimits = field(default_factory=ImageLimits)
    batching: BatchConfig = field(default_factory=BatchConfig)
    access_log: bool = True
    """One line per request to the `keylike.access` logger (keylike.serving.access_log)."""


class ErrorBody(BaseModel):
    """A refused request."""

    success: bool = False
    error: str
    message: str


class Health(BaseModel):
    """Liveness and batching counters."""

    status: str
    model: str
    requests: int
    batches: int
    largestBatch: int
    maxBatchSize: int
    queued: int


def _error(request: Request, status: int, code: str, message: str) -> JSONResponse:
    record_outcome(request, code)
    return JSONResponse(status_code=status, content={"success": False, "error": code, "message": message})


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "missing field, empty upload, not an image, truncated image"),
        (413, "over the byte or pixel limit"),
        (415, "not multipart/form-data, or the upload is not an image type"),
    )
}


_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["image"],
                    "properties": {"image": {"type": "string", "format": "binary", "description": "the key photo"}},
                }
            }
        },
    }
}
"""The request body, for the OpenAPI schema (the handler reads the form itself, to answer bad uploads its way)."""

_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}


async def _capped_body(request: Request, cap: int) -> bytes:
    """The request body, read chunk by chunk and refused (413) as soon as it passes `cap` bytes, whatever
    the transfer encoding says (a chunked upload has no Content-Length to check first)."""
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > cap:
            raise BadImageError(413, "too_many_bytes", f"request passed {cap} bytes, over the upload limit")
    return bytes(body)


async def _read_upload(request: Request, limits: ImageLimits) -> bytes:
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise BadImageError(
            415,
            "unsupported_media_type",
            f"request body is {content_type or 'untyped'!r}; send multipart/form-data with the photo in field 'image'",
        )
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limits.max_bytes + MULTIPART_OVERHEAD_BYTES:
        raise BadImageError(413, "too_many_bytes", f"request has {length} bytes, over the limit of {limits.max_bytes}")
    body = await _capped_body(request, limits.max_bytes + MULTIPART_OVERHEAD_BYTES)

    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async with Request(request.scope, replay).form(max_files=1, max_fields=8) as form:
        upload = form.get("image")
        if upload is None:
            raise BadImageError(400, "missing_field", "multipart field 'image' is missing; attach the photo as 'image'")
        if not isinstance(upload, UploadFile):
            raise BadImageError(400, "missing_field", "field 'image' is text; attach the photo as a file")
        check_content_type(upload.content_type)
        return await upload.read(limits.max_bytes + 1)


def create_app(predictor: Predictor, config: ServeConfig | None = None) -> FastAPI:
    """The FastAPI app serving `predictor` (already loaded: the app never loads a model)."""
    config = config or ServeConfig()

    def run_batch(images: list[Image.Image]) -> list[Answer]:
        return list(predictor.generate(images))

    queue: BatchQueue[Image.Image, Answer] = BatchQueue(run_batch, config.batching)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        await queue.start()
        yield
        await queue.stop()

    app = FastAPIOffline(
        title="keylike",
        summary="Read a house key from a photo: keyway, bitting, brand, confidence and keyed-alike risk.",
        version="0.1.0",
        lifespan=lifespan,
        redoc_url=None,
    )
    app.state.queue = queue
    if config.access_log:
        app.add_middleware(AccessLog)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.exception_handler(BadImageError)
    async def bad_image(request: Request, exc: BadImageError) -> JSONResponse:
        return _error(request, exc.status, exc.code, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(request, exc.status_code, _HTTP_CODES.get(exc.status_code, "http_error"), str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(request, 422, "invalid_request", str(exc.errors()))

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        """The web page: take or choose a key photo, see what keylike reads."""
        return FileResponse(STATIC_DIR / "index.html")

    @app.post("/analyze", response_model=Analysis, response_model_exclude_unset=True, responses=_ERRORS,
              openapi_extra=_UPLOAD_BODY)
    async def analyze(request: Request) -> dict[str, Any]:
        """Read the key in the photo (multipart field `image`) and compute its keyed-alike risk."""
        data = await _read_upload(request, config.limits)
        image = await run_in_threadpool(decode_image, data, config.limits)
        answer = await queue.submit(image)
        body = await run_in_threadpool(analyze_answer, answer.text, float(answer.confidence), predictor.min_confidence)
        record_outcome(request, body.get("error", "ok"))
        return body

    @app.get("/health", response_model=Health)
    async def health() -> dict[str, Any]:
        """Liveness, the model served and how requests were batched so far."""
        stats = queue.stats
        return {
            "status": "ok",
            "model": predictor.name,
            "requests": stats.requests,
            "batches": stats.batches,
            "largestBatch": stats.largest_batch,
            "maxBatchSize": config.batching.max_batch_size,
            "queued": queue.pending,
        }

    return app
