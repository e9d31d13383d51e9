"""The one place where failures become HTTP statuses, JSON error bodies and WebSocket close codes.

Routes raise domain exceptions (``streaming`` errors, ``models.CheckpointError``) or the server's own
``ServiceError`` subclasses below; ``install_error_handlers`` answers them all as
``{"error": {"code", "message"}}``; ``describe`` gives the same mapping to the WebSocket code.
Unknown exceptions are logged with their traceback and become 500 ``internal`` / close 1011. A client
gone before its request body arrived (it closed, or the body timeout cut it: Starlette's
``ClientDisconnect``) is neither: one log line, nothing counted, nothing sent.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from models import CheckpointError
from streaming import TooManyStreamsError, UnknownStreamError
from vqseg_client.sources import SourceError

log = logging.getLogger(__name__)

PROTOCOL = 1


class ServiceError(Exception):
    """A failure the client caused or can react to; subclasses fix status, code and close code."""

    status = 500
    code = "internal"
    close_code = 1011
    retry_after: int | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ImageError(ServiceError):
    status, code, close_code = 400, "bad_image", 1003


class FrameTooLarge(ServiceError):
    status, code, close_code = 413, "frame_too_large", 1009


class UnsupportedMediaType(ServiceError):
    status, code, close_code = 415, "unsupported_media_type", 1003


class InvalidParameters(ServiceError):
    status, code, close_code = 422, "invalid_parameters", 4422


class Unauthorized(ServiceError):
    status, code, close_code = 401, "unauthorized", 1008


class Forbidden(ServiceError):
    """The stream belongs to another API key (only when several keys are configured)."""

    status, code, close_code = 403, "forbidden", 1008


class StreamExists(ServiceError):
    status, code, close_code = 409, "stream_exists", 1008


class KeyStreamLimit(ServiceError):
    status, code, close_code = 429, "too_many_streams", 1013
    retry_after = 5


class Overloaded(ServiceError):
    status, code, close_code = 503, "overloaded", 1013
    retry_after = 1


class NotReady(ServiceError):
    status, code, close_code = 503, "not_ready", 1013
    retry_after = 1


class ModelError(ServiceError):
    status, code, close_code = 500, "model_error", 1011


class MalformedMessage(ServiceError):
    status, code, close_code = 400, "malformed_message", 4400


@dataclass(frozen=True)
class ErrorInfo:
    status: int
    code: str
    message: str
    close_code: int
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}

    def ws_message(self) -> str:
        return json.dumps({"type": "error", "protocol": PROTOCOL, "code": self.code, "message": self.message})

    def close_reason(self) -> str:
        """A WebSocket close reason: at most 123 bytes of UTF-8."""
        return self.message.encode()[:123].decode(errors="ignore")


def describe(exc: BaseException) -> ErrorInfo:
    """Status, code, message and close code for any exception (unknown ones are logged)."""
    if isinstance(exc, ServiceError):
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
        return ErrorInfo(exc.status, exc.code, exc.message, exc.close_code, headers)
    if isinstance(exc, UnknownStreamError):
        return ErrorInfo(404, "unknown_stream", str(exc), 4404)
    if isinstance(exc, TooManyStreamsError):
        return ErrorInfo(503, "too_many_streams", str(exc), 1013, {"Retry-After": "5"})
    if isinstance(exc, SourceError):
        return ErrorInfo(422, "bad_source", str(exc), 4422)
    if isinstance(exc, CheckpointError):
        return ErrorInfo(500, "model_error", str(exc), 1011)
    log.error("internal error", exc_info=exc)
    return ErrorInfo(500, "internal", "internal server error", 1011)


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "frame_too_large", 415: "unsupported_media_type"}


def error_response(info: ErrorInfo) -> JSONResponse:
    return JSONResponse(info.body(), status_code=info.status, headers=info.headers)


def install_error_handlers(app: FastAPI, on_error: object = None) -> None:
    """Answer every failure as ``{"error": {...}}``; ``on_error(code)`` (if given) counts them."""

    def respond(info: ErrorInfo) -> JSONResponse:
        if callable(on_error):
            on_error(info.code)
        return error_response(info)

    async def service_error(request: Request, exc: Exception) -> JSONResponse:
        return respond(describe(exc))

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "body", "path"))
            parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid")))
        return respond(ErrorInfo(422, "invalid_parameters", "; ".join(parts) or "invalid parameters", 4422))

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        info = ErrorInfo(exc.status_code, code, str(exc.detail), 1011, dict(exc.headers or {}))
        return respond(info)

    async def client_gone(request: Request, exc: Exception) -> Response:
        log.info("client gone before its request body arrived: %s %s", request.method, request.url.path)
        return Response(status_code=400)  # never sent: the connection is closed (408 was sent on a timeout)

    for exc_type in (ServiceError, UnknownStreamError, TooManyStreamsError, SourceError, CheckpointError):
        app.add_exception_handler(exc_type, service_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(ClientDisconnect, client_gone)
    app.add_exception_handler(Exception, service_error)
