"""The FastAPI app: one knowledge base per worker, loaded at start-up and reloaded when an ingest
publishes a new index, behind thin routers.

`regkb serve` runs `create_app` under uvicorn (a factory, so each of `--workers N` builds its own).
Tests pass a ready knowledge base instead of loading one from the data dir.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import swagger_ui_bundle
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from api import routes_answers, routes_corpus, routes_ops
from api.observability import BodyLimit, Metrics, install_observability, log
from kb.errors import NotFoundError
from kb.knowledge_base import KnowledgeBase, open_knowledge_base
from kb.live import LiveKnowledgeBase
from kb.settings import Settings, load_settings
from kb.stores import open_stores

__all__ = ["create_app"]

WEB = Path(__file__).resolve().parent / "web"


def _slack_handler(app: FastAPI, settings: Settings) -> Any:
    """Slack's HTTP mode when its tokens are set (half a configuration stops the start-up), else None."""
    from api.slack import SlackRequestHandler, build_slack_app, slack_configured

    if not slack_configured(settings.slack):
        log.info(json.dumps({"event": "slack_disabled", "reason": "REGKB_SLACK__BOT_TOKEN/SIGNING_SECRET not set"}))
        return None
    bolt = build_slack_app(
        app.state.live.current, settings, conversations=app.state.conversations, feedback=app.state.feedback
    )
    return SlackRequestHandler(bolt)


def create_app(settings: Settings | None = None, *, kb: KnowledgeBase | None = None) -> FastAPI:
    settings = settings or (kb.settings if kb else load_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The model and indexes load once per worker, here; a new generation published by an ingest is
        # picked up in the background while requests go on (kb.live.LiveKnowledgeBase).
        app.state.live = LiveKnowledgeBase(kb or open_knowledge_base(settings))
        stores = open_stores(settings)
        app.state.conversations, app.state.feedback, app.state.keys = stores.conversations, stores.feedback, stores.keys
        app.state.slack = _slack_handler(app, settings)
        yield

    app = FastAPI(
        title="regkb",
        summary="Regulatory knowledge base for ATMP development: answers with verified citations.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served below from local assets: FastAPI's default page loads them from a CDN
        redoc_url=None,
    )
    app.state.metrics = Metrics()
    app.state.settings = settings
    install_observability(app, app.state.metrics)
    app.add_middleware(BodyLimit, max_bytes=settings.api.max_body_bytes, metrics=app.state.metrics)  # outermost
    for module in (routes_answers, routes_corpus, routes_ops):
        app.include_router(module.router)
    app.mount("/static/swagger", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger")
    app.mount("/static", StaticFiles(directory=WEB), name="static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> Response:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="regkb API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon-32x32.png",
        )

    @app.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        if request.app.state.slack is None:
            raise NotFoundError(
                "Slack is not configured: set REGKB_SLACK__BOT_TOKEN and REGKB_SLACK__SIGNING_SECRET (README, Slack)"
            )
        return await request.app.state.slack.handle(request)  # type: ignore[no-any-return]

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(WEB / "index.html")

    return app
