"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.routes_answers import KB
from kb.errors import RegkbError
from kb.index_files import IndexPaths, check_fingerprint, read_state

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The index is loaded and still the one on disk (same settings, same corpus)")
def readyz(kb: KB) -> Any:
    try:
        on_disk = check_fingerprint(read_state(IndexPaths(kb.settings.data_dir)), kb.settings, kb.paths)
    except RegkbError as exc:
        return JSONResponse({"status": "not_ready", "reason": str(exc)}, status_code=503)
    if on_disk.snapshot != kb.corpus_snapshot:
        reason = f"the index was rebuilt (snapshot {on_disk.snapshot}, loaded {kb.corpus_snapshot}); restart the server"
        return JSONResponse({"status": "not_ready", "reason": reason}, status_code=503)
    # No document or chunk counts: this endpoint is unauthenticated, and counts would reveal internal material.
    return {"status": "ready", "corpus_snapshot": kb.corpus_snapshot}


@router.get("/metrics", summary="Prometheus metrics of this worker")
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
