"""Request ids, one structured (JSON) log line per request, Prometheus metrics, and errors as clear 4xx/5xx.

Every response carries `X-Request-ID` (the client's, when it sent one); every error body names the
problem, the fix where there is one, and the request id, so a log line and a user report meet.
Metrics are per worker process: with `--workers N`, scrape each worker or run one worker per container.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from kb.errors import (
    AuthError,
    BackendError,
    ConfigError,
    FilterError,
    IndexStateError,
    InvalidTextError,
    NotFoundError,
    RegkbError,
)

__all__ = ["Metrics", "BodyLimit", "SECURITY_HEADERS", "install_observability", "error_body", "log"]

log = logging.getLogger("regkb.api")

_STATUS_OF = {
    InvalidTextError: 422,
    AuthError: 401,
    NotFoundError: 404,
    FilterError: 400,
    IndexStateError: 503,
    BackendError: 502,
    ConfigError: 500,
}


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "regkb_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "regkb_request_seconds",
            "HTTP request latency",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.answers = Counter("regkb_answers_total", "Answers by status", ["status"], registry=self.registry)
        self.errors = Counter(
            "regkb_unhandled_errors_total",
            "Requests that failed with an unexpected error",
            ["route"],
            registry=self.registry,
        )


# Everything the web page loads comes from /static; nothing may frame it. /docs (Swagger UI, served from the
# swagger-ui-bundle package) starts itself with an inline script, which only that page may run.
_CSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
SECURITY_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
_DOCS_CSP = _CSP + "; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'"

_SECRET = uuid.uuid4().hex


def _worker() -> str:
    """A name per worker process, stable for its life: tells `--workers N` apart without revealing a pid."""
    return hashlib.sha256(f"{_SECRET}-{os.getpid()}".encode()).hexdigest()[:8]


def _request_id(given: str) -> str:
    """The client's id when it is short and printable (it goes into logs and headers), else a new one."""
    given = given[:64]
    return given if given and given.isascii() and given.isprintable() else uuid.uuid4().hex


class BodyLimit:
    """Refuse a request body over `max_bytes` with 413 before it is read, before auth and routing: by its
    Content-Length at once, or, for a chunked body, as soon as the bytes received pass the limit."""

    def __init__(self, app: Any, *, max_bytes: int, metrics: Metrics) -> None:
        self.app, self.max_bytes, self.metrics = app, max_bytes, metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            await self._refuse(scope, send, headers)
            return
        received, started, refused = 0, False, False

        async def counted() -> Any:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes and not started:
                    # Answer now, and tell the app the client has gone so it stops reading.
                    refused = True
                    await self._refuse(scope, send, headers)
                    return {"type": "http.disconnect"}
            return message

        async def tracked(message: Any) -> None:
            nonlocal started
            if refused:
                return  # the 413 has been sent; whatever the app makes of the disconnect is dropped
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except Exception:
            if not refused:
                raise

    async def _refuse(self, scope: Any, send: Any, headers: dict[bytes, bytes]) -> None:
        request_id = _request_id(headers.get(b"x-request-id", b"").decode("latin-1"))
        self.metrics.requests.labels(scope.get("method", ""), "unmatched", "413").inc()
        message = (
            f"the request body is larger than {self.max_bytes} bytes; send a smaller one "
            "(the limit is REGKB_API__MAX_BODY_BYTES)"
        )
        log.info(json.dumps({"event": "request", "request_id": request_id, "path": scope.get("path"), "status": 413}))
        body = json.dumps({"error": {"type": "invalid_request", "message": message, "request_id": request_id}}).encode()
        response_headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            (b"x-request-id", request_id.encode()),
        ] + [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
        await send({"type": "http.response.start", "status": 413, "headers": response_headers})
        await send({"type": "http.response.body", "body": body})


def error_body(request: Request, kind: str, message: str, *, openai: bool = False) -> dict[str, Any]:
    if openai:  # the OpenAI SDK reads error.message / error.type
        return {"error": {"message": message, "type": kind, "param": None, "code": None}}
    return {"error": {"type": kind, "message": message, "request_id": getattr(request.state, "request_id", "")}}


def _is_openai(request: Request) -> bool:
    return request.url.path.startswith(("/v1/chat/completions", "/v1/models"))


def install_observability(app: FastAPI, metrics: Metrics) -> None:
    @app.middleware("http")
    async def request_context(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request.state.request_id = _request_id(request.headers.get("x-request-id", ""))
        began = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception as exc:  # a bug: answered as JSON with the request id, logged with its traceback, counted
            route = getattr(request.scope.get("route"), "path", "unmatched")
            metrics.errors.labels(route).inc()
            log.exception(
                json.dumps(
                    {
                        "event": "unhandled_error",
                        "request_id": request.state.request_id,
                        "route": route,
                        "error": repr(exc),
                    }
                )
            )
            message = (
                f"internal error ({type(exc).__name__}); it was logged, quote request id {request.state.request_id}"
            )
            response = JSONResponse(error_body(request, "server_error", message, openai=_is_openai(request)), 500)
        elapsed = time.perf_counter() - began
        route = getattr(request.scope.get("route"), "path", "unmatched")
        metrics.requests.labels(request.method, route, str(response.status_code)).inc()
        metrics.latency.labels(route).observe(elapsed)
        response.headers["X-Request-ID"] = request.state.request_id
        response.headers["X-Regkb-Worker"] = _worker()  # which of `--workers N` answered, without its pid
        response.headers.update(SECURITY_HEADERS)
        if request.url.path == "/docs":
            response.headers["Content-Security-Policy"] = _DOCS_CSP
        log.info(
            json.dumps(
                {
                    "event": "request",
                    "request_id": request.state.request_id,
                    "method": request.method,
                    "route": route,
                    "path": request.url.path,
                    "status": response.status_code,
                    "ms": round(elapsed * 1000, 1),
                }
            )
        )
        return response

    @app.exception_handler(RegkbError)
    async def regkb_error(request: Request, exc: RegkbError) -> JSONResponse:
        status = next((code for cls, code in _STATUS_OF.items() if isinstance(exc, cls)), 500)
        kinds = {401: "authentication_error", 404: "not_found", 400: "invalid_request", 422: "invalid_request"}
        kind = kinds.get(status, "server_error")
        return JSONResponse(error_body(request, kind, str(exc), openai=_is_openai(request)), status_code=status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        return JSONResponse(
            error_body(request, "invalid_request", problems, openai=_is_openai(request)), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = "not_found" if exc.status_code == 404 else "invalid_request"
        return JSONResponse(
            error_body(request, kind, str(exc.detail), openai=_is_openai(request)), status_code=exc.status_code
        )
