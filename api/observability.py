"""Request ids, one structured (JSON) log line per request, Prometheus metrics, and errors as clear 4xx/5xx.

Every response carries `X-Request-ID` (the client's, when it sent one); every error body names the
problem, the fix where there is one, and the request id, so a log line and a user report meet.
Metrics are per worker process: with `--workers N`, scrape each worker or run one worker per container.
"""

from __future__ import annotations

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

from kb.errors import AuthError, BackendError, ConfigError, FilterError, IndexStateError, NotFoundError, RegkbError

__all__ = ["Metrics", "install_observability", "error_body", "log"]

log = logging.getLogger("regkb.api")

_STATUS_OF = {
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


def error_body(request: Request, kind: str, message: str, *, openai: bool = False) -> dict[str, Any]:
    if openai:  # the OpenAI SDK reads error.message / error.type
        return {"error": {"message": message, "type": kind, "param": None, "code": None}}
    return {"error": {"type": kind, "message": message, "request_id": getattr(request.state, "request_id", "")}}


def _is_openai(request: Request) -> bool:
    return request.url.path.startswith(("/v1/chat/completions", "/v1/models"))


def install_observability(app: FastAPI, metrics: Metrics) -> None:
    @app.middleware("http")
    async def request_context(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request.state.request_id = request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
        began = time.perf_counter()
        response = await call_next(request)
        elapsed = time.perf_counter() - began
        route = getattr(request.scope.get("route"), "path", "unmatched")
        metrics.requests.labels(request.method, route, str(response.status_code)).inc()
        metrics.latency.labels(route).observe(elapsed)
        response.headers["X-Request-ID"] = request.state.request_id
        response.headers["X-Regkb-Worker"] = str(os.getpid())  # which of `--workers N` answered
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
        kinds = {401: "authentication_error", 404: "not_found", 400: "invalid_request"}
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
