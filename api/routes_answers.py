"""Answers over HTTP: ask, search, chat (with follow-ups and Server-Sent Events), OpenAI chat completions."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from sse_starlette import EventSourceResponse

from api.observability import Metrics
from api.render import answer_json, answer_markdown, search_json
from api.schemas import AskRequest, ChatRequest, CompletionRequest
from kb.access import Principal, principal
from kb.chat import ChatResult, chat_turn
from kb.conversations import ConversationStore
from kb.errors import AuthError, FilterError
from kb.filters import Filters
from kb.knowledge_base import KnowledgeBase
from kb.settings import Settings

__all__ = ["router"]

router = APIRouter()


def _kb(request: Request) -> KnowledgeBase:
    return request.app.state.live.current()  # type: ignore[no-any-return]


def _store(request: Request) -> ConversationStore:
    return request.app.state.conversations  # type: ignore[no-any-return]


def _metrics(request: Request) -> Metrics:
    return request.app.state.metrics  # type: ignore[no-any-return]


def _caller(request: Request) -> Principal:
    """Who is asking: the API key's principal, or the anonymous scopes when auth is switched off."""
    settings: Settings = request.app.state.settings
    if settings.access.auth_disabled:
        return principal("anonymous", settings.access.anonymous_scopes)
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else request.headers.get("x-api-key", "")
    if not token:
        raise AuthError("an API key is required: send `Authorization: Bearer <key>` (`regkb keys create` makes one)")
    found = request.app.state.keys.authenticate(token)
    if found is None:
        raise AuthError("the API key is unknown or revoked; ask for a new one (`regkb keys create`)")
    return found  # type: ignore[no-any-return]


KB = Annotated[KnowledgeBase, Depends(_kb)]
Caller = Annotated[Principal, Depends(_caller)]
Store = Annotated[ConversationStore, Depends(_store)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]


@router.post("/v1/ask", tags=["answers"], summary="Answer a question with verified citations (as `regkb ask --json`)")
def ask(body: AskRequest, kb: KB, caller: Caller, metrics: MetricsDep) -> dict[str, Any]:
    answer = kb.ask(body.question, filters=body.filters.to_filters(), k=body.k, principal=caller)
    metrics.answers.labels(answer.status).inc()
    return answer_json(answer)


@router.get("/v1/search", tags=["answers"], summary="Ranked passages for a query")
def search(
    kb: KB,
    caller: Caller,
    q: Annotated[str, Query(min_length=1, max_length=2000, description="What to look for.")],
    k: Annotated[int | None, Query(ge=1, le=50)] = None,
    agency: Annotated[list[str] | None, Query()] = None,
    jurisdiction: Annotated[list[str] | None, Query()] = None,
    doc_type: Annotated[list[str] | None, Query()] = None,
    status: Annotated[list[str] | None, Query()] = None,
    doc_id: Annotated[list[str] | None, Query()] = None,
) -> dict[str, Any]:
    filters = Filters.from_user(
        agency=agency, jurisdiction=jurisdiction, doc_type=doc_type, status=status, doc_id=doc_id
    )
    return search_json(q, kb.search(q, filters=filters, k=k, principal=caller))


def _chat(body: ChatRequest, kb: KnowledgeBase, store: ConversationStore, caller: Principal) -> ChatResult:
    if body.messages:
        users = [m.content for m in body.messages if m.role == "user"]
        if not users or body.messages[-1].role != "user":
            raise FilterError("messages must end with the user's message")
        message, earlier = users[-1], users[:-1]
        return chat_turn(
            kb,
            message,
            earlier_messages=earlier,
            filters=body.filters.to_filters(),
            k=body.k,
            principal=caller,
        )
    if not body.message or not body.message.strip():
        raise FilterError("give `message` (with `conversation_id` for a follow-up) or `messages`")
    return chat_turn(
        kb,
        body.message,
        store=store,
        conversation_id=body.conversation_id,
        filters=body.filters.to_filters(),
        k=body.k,
        principal=caller,
    )


@router.post(
    "/v1/chat",
    tags=["answers"],
    summary="A conversation turn; follow-ups use the conversation; `stream: true` answers as Server-Sent Events",
    description="SSE events: `meta` (conversation id, standalone question), `delta` (answer text, repeated), "
    "`citations` (citations and checkpoint checklist), `done` (status, timings).",
)
async def chat(body: ChatRequest, kb: KB, store: Store, caller: Caller, metrics: MetricsDep) -> Any:
    result = await run_in_threadpool(_chat, body, kb, store, caller)
    metrics.answers.labels(result.answer.status).inc()
    if not body.stream:
        return {"conversation_id": result.conversation_id, "question": result.question, **answer_json(result.answer)}
    return EventSourceResponse(_chat_events(result, kb.settings.api.stream_chunk_chars))


async def _chat_events(result: ChatResult, size: int) -> AsyncIterator[dict[str, str]]:
    payload = answer_json(result.answer)
    yield {
        "event": "meta",
        "data": json.dumps({"conversation_id": result.conversation_id, "question": result.question}),
    }
    for piece in pieces(result.answer.answer, size):
        yield {"event": "delta", "data": json.dumps({"text": piece})}
    keys = (
        "citations",
        "checklist",
        "closest_documents",
        "not_addressed",
        "offline_documents",
        "unstated_values",
        "corpus_snapshot",
    )
    rest = {key: payload[key] for key in keys}
    yield {"event": "citations", "data": json.dumps(rest, ensure_ascii=False)}
    yield {
        "event": "done",
        "data": json.dumps(
            {
                "status": result.answer.status,
                "confidence": result.answer.confidence,
                "timings_ms": result.answer.timings_ms,
            }
        ),
    }


def pieces(text: str, size: int) -> Iterator[str]:
    """The text in word-aligned pieces of about `size` characters; joined they give the text back exactly."""
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            space = text.rfind(" ", start + 1, end)
            end = space + 1 if space > start else end
        yield text[start:end]
        start = end


@router.get("/v1/models", tags=["openai"], summary="Models (OpenAI-compatible)")
def models(kb: KB, caller: Caller) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": kb.settings.api.model_id, "object": "model", "created": 0, "owned_by": "regkb"}],
    }


@router.post("/v1/chat/completions", tags=["openai"], summary="OpenAI-compatible chat completions")
async def completions(body: CompletionRequest, kb: KB, caller: Caller, metrics: MetricsDep) -> Any:
    users = [m.text() for m in body.messages if m.role == "user"]
    if not users or not users[-1].strip():
        raise FilterError("messages must contain a non-empty user message")
    result = await run_in_threadpool(lambda: chat_turn(kb, users[-1], earlier_messages=users[:-1], principal=caller))
    metrics.answers.labels(result.answer.status).inc()
    completion_id, created, model = f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), kb.settings.api.model_id
    content = answer_markdown(result.answer)
    extra = {"citations": answer_json(result.answer)["citations"], "regkb": _extra(result)}
    if not body.stream:
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            **extra,
        }
    return EventSourceResponse(
        _completion_chunks(completion_id, created, model, content, extra, kb.settings.api.stream_chunk_chars)
    )


def _extra(result: ChatResult) -> dict[str, Any]:
    payload = answer_json(result.answer)
    return {
        "status": result.answer.status,
        "confidence": result.answer.confidence,
        "question": result.question,
        "checklist": payload["checklist"],
        "not_addressed": payload["not_addressed"],
        "offline_documents": payload["offline_documents"],
        "unstated_values": payload["unstated_values"],
    }


async def _completion_chunks(
    completion_id: str, created: int, model: str, content: str, extra: dict[str, Any], size: int
) -> AsyncIterator[str]:
    def chunk(delta: dict[str, str], finish: str | None = None, **more: Any) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        body = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model}
        return json.dumps({**body, "choices": [choice], **more}, ensure_ascii=False)

    yield chunk({"role": "assistant", "content": ""})
    for piece in pieces(content, size):
        yield chunk({"content": piece})
    yield chunk({}, "stop", **extra)
    yield "[DONE]"
