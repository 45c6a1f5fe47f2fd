"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kb.errors import RegkbError
from kb.index_files import published_paths

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The index is loaded, complete on disk, and the published one or being replaced by it")
def readyz(request: Request) -> Any:
    live = request.app.state.live
    kb = live.current()
    try:
        published, _ = published_paths(kb.settings)
    except RegkbError as exc:
        return JSONResponse({"status": "not_ready", "reason": str(exc)}, status_code=503)
    if not kb.paths.folder.is_dir():
        reason = (
            f"the loaded index generation {kb.generation} is gone from disk and no reload succeeded: "
            f"{live.reload_error or 'none tried yet'}"
        )
        return JSONResponse({"status": "not_ready", "reason": reason}, status_code=503)
    body = {"status": "ready", "corpus_snapshot": kb.corpus_snapshot, "generation": kb.generation}
    if published.generation != kb.generation:
        # Still answering, from the complete previous index, while the published one loads.
        body |= {"published_generation": published.generation, "reloading": not live.reload_error}
        if live.reload_error:
            body["reload_error"] = live.reload_error
    # No document or chunk counts: this endpoint is unauthenticated, and counts would reveal internal material.
    return body


@router.get("/metrics", summary="Prometheus metrics of this worker")
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
