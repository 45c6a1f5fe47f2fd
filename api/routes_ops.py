"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The index is loaded, complete on disk, and the published one or being replaced by it")
def readyz(request: Request) -> Any:
    readiness = request.app.state.live.status()
    return JSONResponse(readiness.as_dict(), status_code=200 if readiness.ready else 503)


@router.get("/metrics", summary="Prometheus metrics of this worker")
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
