"""The FastAPI app: one knowledge base per worker, loaded at start-up, behind thin routers.

`regkb serve` runs `create_app` under uvicorn (a factory, so each of `--workers N` builds its own).
Tests pass a ready knowledge base instead of loading one from the data dir.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from api import routes_answers, routes_corpus, routes_ops
from api.observability import Metrics, install_observability
from kb.conversations import ConversationStore
from kb.knowledge_base import KnowledgeBase
from kb.settings import Settings

__all__ = ["create_app"]

WEB = Path(__file__).resolve().parent / "web"


def _open(settings: Settings) -> KnowledgeBase:
    from ingest.catalog import load_checkpoints
    from kb.knowledge_base import open_knowledge_base

    return open_knowledge_base(settings, checkpoint_map=load_checkpoints(settings))


def create_app(settings: Settings | None = None, *, kb: KnowledgeBase | None = None) -> FastAPI:
    settings = settings or (kb.settings if kb else Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.kb = kb or _open(settings)  # the model and indexes load once per worker, here
        app.state.conversations = ConversationStore(
            settings.data_dir / "conversations.sqlite", max_turns=settings.api.conversation_turns
        )
        yield

    app = FastAPI(
        title="regkb",
        summary="Regulatory knowledge base for ATMP development: answers with verified citations.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.metrics = Metrics()
    install_observability(app, app.state.metrics)
    for module in (routes_answers, routes_corpus, routes_ops):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=WEB), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(WEB / "index.html")

    return app
