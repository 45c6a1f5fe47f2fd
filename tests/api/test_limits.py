"""Bounded requests, JSON errors with a request id for everything (bugs included), invalid text refused
with 422 on every endpoint, security headers, and /docs without a CDN."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from api.app import create_app
from kb.settings import ApiSettings

pytestmark = pytest.mark.unit

LONE_SURROGATE = '{"question": "stability of \\ud800 products"}'


def _error(response: httpx.Response) -> dict:
    body = response.json()
    assert response.headers["X-Request-ID"]
    return body["error"]


def test_a_body_over_the_limit_is_refused_by_its_length_before_auth(small_kb):
    settings = small_kb.settings.model_copy(
        update={"access": small_kb.settings.access.model_copy(update={"auth_disabled": False})}
    )
    with TestClient(create_app(settings, kb=small_kb)) as client:
        response = client.post("/v1/ask", content=b"x" * 1_000_001, headers={"content-type": "application/json"})
    assert response.status_code == 413  # not 401: decided before the key is looked at
    error = _error(response)
    assert "larger than 1000000 bytes" in error["message"] and "REGKB_API__MAX_BODY_BYTES" in error["message"]
    assert error["request_id"] == response.headers["X-Request-ID"]


def test_a_chunked_body_is_cut_off_once_it_passes_the_limit(client):
    def chunks():  # no Content-Length: the limit must be found while the body arrives
        for _ in range(40):
            yield b"x" * 65_536

    response = client.post("/v1/ask", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413 and "REGKB_API__MAX_BODY_BYTES" in _error(response)["message"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/ask", LONE_SURROGATE),
        ("POST", "/v1/chat", '{"message": "stability of \\ud800 products"}'),
        ("POST", "/v1/chat", '{"messages": [{"role": "user", "content": "why \\ud800"}]}'),
        ("POST", "/v1/chat/completions", '{"messages": [{"role": "user", "content": "stability \\ud800"}]}'),
        (
            "POST",
            "/v1/chat/completions",
            '{"messages": [{"role": "user", "content": [{"type": "text", "text": "x \\ud800"}]}]}',
        ),
        ("POST", "/v1/ask", '{"question": "stability\\u0007 of products"}'),
        ("GET", "/v1/search?q=stability%07", None),
    ],
)
def test_invalid_text_is_a_422_on_every_endpoint(client, method, path, body):
    response = client.request(method, path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    message = response.json()["error"]["message"]
    ours = ("lone surrogate" in message or "control character" in message) and "plain UTF-8" in message
    pydantics = "unable to parse raw data as a unicode string" in message  # a str field of the body itself
    assert ours or pydantics, message


def test_too_many_messages_and_an_overlong_standalone_question_are_bounded(client, small_kb):
    many = [{"role": "user", "content": f"question {i} about stability"} for i in range(201)]
    response = client.post("/v1/chat", json={"messages": many})
    assert response.status_code == 400 and "REGKB_API__MAX_MESSAGES" in _error(response)["message"]
    # 150 elliptical follow-ups: only the last conversation turns count, the resolved question stays in bounds.
    chain = [{"role": "user", "content": "What is the shelf life of biotechnological products?"}]
    chain += [{"role": "user", "content": "and for the drug product?"} for _ in range(150)]
    began = time.perf_counter()
    answered = client.post("/v1/chat", json={"messages": chain})
    assert answered.status_code == 200
    assert len(answered.json()["question"]) <= small_kb.settings.api.max_question_chars
    assert time.perf_counter() - began < 10


def test_a_bug_is_a_json_500_with_the_request_id_logged_and_counted(small_kb, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("simulated bug")

    monkeypatch.setattr(type(small_kb), "ask", broken)
    with TestClient(create_app(kb=small_kb), raise_server_exceptions=False) as client:
        with caplog.at_level(logging.ERROR, logger="regkb.api"):
            response = client.post("/v1/ask", json={"question": "stability"}, headers={"X-Request-ID": "bug-1"})
        metrics = client.get("/metrics").text
    assert response.status_code == 500
    assert response.json()["error"] == {
        "type": "server_error",
        "message": "internal error (ZeroDivisionError); it was logged, quote request id bug-1",
        "request_id": "bug-1",
    }
    logged = [json.loads(r.getMessage()) for r in caplog.records if r.levelno == logging.ERROR]
    assert logged and logged[0]["request_id"] == "bug-1" and "simulated bug" in logged[0]["error"]
    assert 'regkb_unhandled_errors_total{route="/v1/ask"} 1.0' in metrics
    assert 'regkb_requests_total{method="POST",route="/v1/ask",status="500"} 1.0' in metrics


def test_security_headers_and_a_worker_name_that_is_not_a_pid(client):
    import os

    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Regkb-Worker"] != str(os.getpid()) and len(response.headers["X-Regkb-Worker"]) == 8


def test_api_docs_load_their_assets_from_this_server(client):
    page = client.get("/docs")
    assert (
        page.status_code == 200
        and "cdn" not in page.text.lower()
        and "/static/swagger/swagger-ui-bundle.js" in page.text
    )
    assert client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200
    assert client.get("/static/swagger/swagger-ui.css").status_code == 200
    assert client.get("/redoc").status_code == 404


def _serve(app, max_header_bytes: int) -> tuple[uvicorn.Server, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        http="api.http_protocol:BoundedH11Protocol",
        h11_max_incomplete_event_size=max_header_bytes,
    )
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def test_oversized_headers_get_a_431_at_once_and_other_clients_are_not_held_up(small_kb):
    server, url = _serve(create_app(kb=small_kb), ApiSettings().max_header_bytes)
    try:
        began = time.perf_counter()
        response = httpx.get(f"{url}/healthz", headers={"X-Junk": "a" * 5_000_000}, timeout=10)
        assert response.status_code == 431 and time.perf_counter() - began < 2
        assert "REGKB_API__MAX_HEADER_BYTES" in response.json()["error"]["message"]
        assert httpx.get(f"{url}/healthz", timeout=5).json() == {"status": "ok"}
    finally:
        server.should_exit = True
