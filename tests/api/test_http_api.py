"""The HTTP API over a small real index (fake embedder): shapes, follow-ups, SSE, OpenAI shapes, errors, ops."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from kb.knowledge_base import CHECKLIST_ONLY_TEXT
from kb.quotes import verify_quote

pytestmark = pytest.mark.unit

QUESTION = "When must process validation be completed before commercial distribution?"


def _sse(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.strip().split("\r\n\r\n" if "\r\n\r\n" in text else "\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        events.append((fields.get("event", "message"), fields["data"]))
    return [(name, json.loads(data) if data != "[DONE]" else data) for name, data in events]


def test_ask_returns_the_cli_json_with_verified_quotes(client, small_kb):
    response = client.post("/v1/ask", json={"question": QUESTION}, headers={"X-Request-ID": "req-42"})
    assert response.status_code == 200 and response.headers["X-Request-ID"] == "req-42"
    body = response.json()
    assert body["status"] == "answered" and body["citations"]
    for c in body["citations"]:
        assert c["doc_id"] == "cpg"
        assert verify_quote(c["quote"], [small_kb.page_text(c["doc_id"], p) for p in c["pages"]])
    assert set(body) >= {"question", "status", "answer", "citations", "corpus_snapshot", "timings_ms", "checklist"}


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        ({"question": "   "}, 422, "question: must not be empty"),
        (
            {"question": "x" * 2001},
            400,
            "the question has 2001 characters; the limit is 2000 (REGKB_API__MAX_QUESTION_CHARS)",
        ),
        ({"question": "x" * 20_001}, 422, "question: String should have at most 20000 characters"),
        ({"question": "stability", "k": 0}, 422, "k: Input should be greater than or equal to 1"),
        (
            {"question": "stability", "filters": {"agency": ["WHO"]}},
            400,
            "no indexed document has agency 'WHO'; use one of: FDA, ICH",
        ),
        (
            {"question": "stability", "filters": {"colour": ["red"]}},
            422,
            "filters.colour: Extra inputs are not permitted",
        ),
    ],
)
def test_bad_requests_are_clear_4xx_with_the_request_id(client, payload, status, message):
    response = client.post("/v1/ask", json=payload)
    assert response.status_code == status
    error = response.json()["error"]
    assert message in error["message"] and error["request_id"] == response.headers["X-Request-ID"]


def test_search_with_a_filter(client):
    body = client.get("/v1/search", params={"q": "stability testing", "agency": "ICH", "k": 3}).json()
    assert len(body["passages"]) == 3 and {p["doc_id"] for p in body["passages"]} == {"q5c"}


def test_chat_follow_up_uses_the_stored_conversation(client):
    first = client.post(
        "/v1/chat", json={"message": "What must be in place before the first GMP batch for autologous CAR-T?"}
    ).json()
    assert first["conversation_id"] and first["checklist"]["kind"] == "checkpoint"
    # the two small PDFs say nothing about it: the map answers alone, and the text says so
    assert first["status"] == "no_evidence" and first["answer"].endswith(CHECKLIST_ONLY_TEXT)
    follow = client.post(
        "/v1/chat", json={"conversation_id": first["conversation_id"], "message": "and for allogeneic products?"}
    ).json()
    assert follow["question"] == "What must be in place before the first GMP batch for allogeneic products?"
    assert follow["conversation_id"] == first["conversation_id"]
    unknown = client.post("/v1/chat", json={"conversation_id": "nope", "message": "and?"})
    assert unknown.status_code == 404 and "conversation 'nope' is unknown" in unknown.json()["error"]["message"]


def test_chat_with_the_message_list_and_a_stream(client):
    messages = [
        {"role": "user", "content": "When must the potency assay be validated in the EU?"},
        {"role": "assistant", "content": "..."},
        {"role": "user", "content": "and in the US?"},
    ]
    response = client.post("/v1/chat", json={"messages": messages, "stream": True})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = _sse(response.text)
    names = [name for name, _ in events]
    assert names[0] == "meta" and names[-2:] == ["citations", "done"] and set(names[1:-2]) == {"delta"}
    assert events[0][1]["question"] == "When must the potency assay be validated in the US?"
    citations = events[-2][1]
    assert citations["checklist"]["kind"] == "progression" and {
        r["jurisdiction"] for r in citations["checklist"]["rows"]
    } == {"US"}
    plain = client.post("/v1/chat", json={"messages": messages}).json()
    assert "".join(data["text"] for name, data in events if name == "delta") == plain["answer"]


def test_openai_completion_shapes(client):
    body = {"model": "regkb-extractive", "messages": [{"role": "user", "content": QUESTION}], "temperature": 0.2}
    done = client.post("/v1/chat/completions", json=body).json()
    assert done["object"] == "chat.completion" and done["choices"][0]["finish_reason"] == "stop"
    content = done["choices"][0]["message"]["content"]
    assert "[^1]" in content and f"[^1]: {done['citations'][0]['title']}" in content
    stream = _sse(client.post("/v1/chat/completions", json={**body, "stream": True}).text)
    assert stream[-1][1] == "[DONE]"
    chunks = [data for _, data in stream[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == content
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop" and chunks[-1]["citations"] == done["citations"]
    assert client.get("/v1/models").json()["data"][0]["id"] == "regkb-extractive"


def test_openai_errors_use_the_openai_shape(client):
    response = client.post("/v1/chat/completions", json={"messages": [{"role": "system", "content": "be nice"}]})
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "message": "messages must contain a non-empty user message",
            "type": "invalid_request",
            "param": None,
            "code": None,
        }
    }


def test_documents_and_the_page_viewer(client, small_kb):
    docs = {d["id"]: d for d in client.get("/v1/documents").json()}
    assert set(docs) == {"cpg", "q5c"} and docs["cpg"]["indexed"] and docs["cpg"]["present"]
    page = client.get("/v1/documents/cpg/pages/2").json()
    assert page["text"] == small_kb.page_text("cpg", 2) and page["url"].endswith("#page=2") and page["pages"] == 5
    assert client.get("/v1/documents/cpg/pages/99").status_code == 404
    missing = client.get("/v1/documents/nope/pages/1")
    assert missing.status_code == 404 and "document 'nope' is not indexed" in missing.json()["error"]["message"]


def test_checkpoints_in_three_formats(client):
    body = client.get("/v1/checkpoints", params={"jurisdiction": "US", "stage": "first-in-human"}).json()
    assert {c["id"] for c in body["checkpoints"]} >= {"us-ind"} and body["jurisdictions"] == ["US"]
    markdown = client.get("/v1/checkpoints", params={"item": "potency", "format": "md"}).text
    assert markdown.startswith("# Maturity across checkpoints: Potency assay")
    rows = list(
        csv.DictReader(io.StringIO(client.get("/v1/checkpoints", params={"id": "us-bla", "format": "csv"}).text))
    )
    assert rows and {r["checkpoint_id"] for r in rows} == {"us-bla"}
    bad = client.get("/v1/checkpoints", params={"stage": "phase-9"})
    assert (
        bad.status_code == 400 and "unknown stage phase-9; choose from classification" in bad.json()["error"]["message"]
    )


def test_health_readiness_and_metrics(client, small_kb):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["corpus_snapshot"] == small_kb.corpus_snapshot
    client.post("/v1/ask", json={"question": QUESTION})
    metrics = client.get("/metrics").text
    assert 'regkb_requests_total{method="POST",route="/v1/ask",status="200"}' in metrics
    assert 'regkb_answers_total{status="answered"}' in metrics


def test_readiness_names_the_generation_it_serves(client, small_kb):
    ready = client.get("/readyz").json()
    assert ready["generation"] == small_kb.generation and "published_generation" not in ready


def test_readiness_fails_when_the_loaded_generation_is_gone_from_disk(small_kb):
    gone = dataclasses.replace(
        small_kb,
        state=dataclasses.replace(small_kb.state, generation="g20000101T000000-000000"),
        paths=small_kb.paths.at("g20000101T000000-000000"),
    )
    with TestClient(create_app(kb=gone)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503 and "is gone from disk" in response.json()["reason"]


def test_one_json_log_line_per_request(client, caplog):
    with caplog.at_level(logging.INFO, logger="regkb.api"):
        client.get("/healthz", headers={"X-Request-ID": "trace-me"})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "regkb.api"]
    assert lines[-1] == {**lines[-1], "request_id": "trace-me", "route": "/healthz", "status": 200}


def test_the_page_and_the_api_docs_are_served(client):
    assert client.get("/").headers["content-type"].startswith("text/html")
    schema = client.get("/openapi.json").json()
    assert "examples" in json.dumps(schema["components"]["schemas"]["AskRequest"])


def test_every_answer_carries_its_confidence(client):
    answered = client.post("/v1/ask", json={"question": QUESTION}).json()
    assert answered["status"] == "answered" and answered["confidence"] in ("high", "low")
    refused = client.post("/v1/ask", json={"question": "zebrafish husbandry water temperature"}).json()
    assert refused["status"] == "no_evidence" and refused["confidence"] is None
    stream = client.post("/v1/chat", json={"message": QUESTION, "stream": True}).text
    done = json.loads(stream.split("event: done")[1].split("data: ", 1)[1].splitlines()[0])
    assert done["confidence"] == answered["confidence"]
    completion = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]}).json()
    assert completion["regkb"]["confidence"] == answered["confidence"]
    # What the corpus does not cover travels with the answer in every shape (empty here: nothing is named).
    cited = json.loads(stream.split("event: citations")[1].split("data: ", 1)[1].splitlines()[0])
    for shape in (answered, cited, completion["regkb"]):
        assert shape["not_addressed"] == [] and shape["offline_documents"] == [] and shape["unstated_values"] == []
