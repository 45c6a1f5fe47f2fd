"""Internal lessons never reach a caller without the scope: not in answers, searches, chats, completions,
document lists, page views, error messages, counts or Slack; and they do reach a caller who has it."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from kb.access import principal
from kb.api_keys import KeyStore
from kb.settings import AccessSettings

pytestmark = pytest.mark.unit

# What identifies the lessons: ids, titles and words only their bodies contain.
INTERNAL = ("lesson-freezer-bag-crack", "freezer-bag-crack", "Quasar-7", "Cryopreservation bags cracked")
CONFIDENTIAL = ("lesson-secret-vector-lot", "secret-vector-lot", "Zephyr-9", "vector lot failed stability")
QUESTION = "What went wrong when we scaled up cryopreservation into bags?"


@pytest.fixture
def api(small_kb, tmp_path):
    """The API with auth on, and three keys: public, internal, confidential."""
    settings = small_kb.settings.model_copy(update={"data_dir": tmp_path, "access": AccessSettings()})
    store = KeyStore(tmp_path / "api_keys.sqlite")
    tokens = {scope: store.create(f"{scope}-caller", [scope])[1] for scope in ("public", "internal", "confidential")}
    with TestClient(create_app(settings, kb=small_kb)) as client:
        client.tokens = tokens
        yield client


def _as(client, scope: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.tokens[scope]}"}


def _leaks(text: str, *secrets: tuple[str, ...]) -> list[str]:
    return [s for group in secrets for s in group if s.lower() in text.lower()]


def _every_interface(client, headers: dict[str, str]) -> list[str]:
    """Response bodies of every HTTP interface for questions that would find the lessons."""
    chat_stream = client.post("/v1/chat", json={"message": QUESTION, "stream": True}, headers=headers).text
    completion = {"messages": [{"role": "user", "content": QUESTION}]}
    bodies = [
        client.post("/v1/ask", json={"question": QUESTION}, headers=headers).text,
        client.post("/v1/ask", json={"question": "lentiviral vector lot titre lost in storage"}, headers=headers).text,
        client.get("/v1/search", params={"q": "cracked bags freezer viability", "k": 10}, headers=headers).text,
        client.post("/v1/chat", json={"message": QUESTION}, headers=headers).text,
        chat_stream,
        client.post("/v1/chat/completions", json=completion, headers=headers).text,
        client.post("/v1/chat/completions", json={**completion, "stream": True}, headers=headers).text,
        client.get("/v1/documents", headers=headers).text,
        client.get("/readyz").text,
        client.get("/metrics").text,
    ]
    return bodies


def test_a_public_caller_never_sees_internal_or_confidential_material(api):
    bodies = _every_interface(api, _as(api, "public"))
    assert [
        (n, _leaks(b, INTERNAL, CONFIDENTIAL)) for n, b in enumerate(bodies) if _leaks(b, INTERNAL, CONFIDENTIAL)
    ] == []


def test_an_internal_caller_sees_internal_but_not_confidential_lessons(api):
    bodies = _every_interface(api, _as(api, "internal"))
    assert any("lesson-freezer-bag-crack" in b for b in bodies)
    assert [b for b in bodies if _leaks(b, CONFIDENTIAL)] == []


def test_the_lesson_is_cited_and_marked_internal_for_a_caller_with_the_scope(api):
    body = api.post("/v1/ask", json={"question": QUESTION}, headers=_as(api, "internal")).json()
    cited = [c for c in body["citations"] if c["doc_id"] == "lesson-freezer-bag-crack"]
    assert body["status"] == "answered" and cited and cited[0]["doc_type"] == "internal_lesson"
    completion = api.post(
        "/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]}, headers=_as(api, "internal")
    ).json()
    assert "[INTERNAL LESSON: not regulatory guidance]" in completion["choices"][0]["message"]["content"]


def test_naming_an_internal_document_looks_exactly_like_naming_none(api):
    def error(doc_id: str, path: str = "") -> tuple[int, str]:
        if path:
            response = api.get(path.format(doc_id), headers=_as(api, "public"))
        else:
            body = {"question": "bags", "filters": {"doc_id": [doc_id]}}
            response = api.post("/v1/ask", json=body, headers=_as(api, "public"))
        return response.status_code, response.json()["error"]["message"].replace(doc_id, "<id>")

    for path in ("", "/v1/documents/{}/pages/1"):
        assert error("lesson-freezer-bag-crack", path) == error("lesson-does-not-exist", path)
        assert _leaks(error("lesson-freezer-bag-crack", path)[1], INTERNAL, CONFIDENTIAL) == []
    assert api.get("/v1/documents/lesson-freezer-bag-crack/pages/1", headers=_as(api, "internal")).status_code == 200


def test_document_counts_are_the_callers_own(api):
    public = api.get("/v1/documents", headers=_as(api, "public")).json()
    internal = api.get("/v1/documents", headers=_as(api, "internal")).json()
    confidential = api.get("/v1/documents", headers=_as(api, "confidential")).json()
    assert (len(public), len(internal), len(confidential)) == (2, 3, 4)
    assert "documents" not in api.get("/readyz").json()


def test_keys_are_required_checked_and_revocable(api, tmp_path):
    missing = api.post("/v1/ask", json={"question": QUESTION})
    assert missing.status_code == 401 and "an API key is required" in missing.json()["error"]["message"]
    wrong = api.post("/v1/ask", json={"question": QUESTION}, headers={"Authorization": "Bearer rk_nope"})
    assert wrong.status_code == 401 and "unknown or revoked" in wrong.json()["error"]["message"]
    assert api.get("/v1/models", headers={"X-API-Key": api.tokens["public"]}).status_code == 200
    KeyStore(tmp_path / "api_keys.sqlite").revoke("public-caller")
    assert api.post("/v1/ask", json={"question": QUESTION}, headers=_as(api, "public")).status_code == 401
    stored = (tmp_path / "api_keys.sqlite").read_bytes()
    assert all(token.encode() not in stored for token in api.tokens.values())  # only hashes are stored
    openai_style = api.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "x"}]})
    assert openai_style.json()["error"]["type"] == "authentication_error"


def test_a_slack_channel_without_the_scope_gets_public_answers_only(small_kb, tmp_path):
    from kb.settings import SlackSettings
    from tests.api.fake_slack import start_fake_slack
    from tests.api.test_slack import SECRET, _event, _post_event

    fake, server = start_fake_slack()
    slack = SlackSettings(
        bot_token="xoxb-t", signing_secret=SECRET, api_url=f"{fake.url}/api/", channel_access={"CINT": ["internal"]}
    )
    settings = small_kb.settings.model_copy(update={"data_dir": tmp_path, "slack": slack})
    try:
        with TestClient(create_app(settings, kb=small_kb)) as client:
            _post_event(client, _event(QUESTION, ts="1.1", event_id="E1"))  # channel C1: not mapped
            _post_event(client, _event(QUESTION, ts="1.2", event_id="E2").replace('"C1"', '"CINT"'))
            replies = {m["channel"]: m for m in fake.wait_for("chat.postMessage", 2)}  # in either order
    finally:
        server.shutdown()
    public, internal = replies["C1"], replies["CINT"]
    assert _leaks(json.dumps(public), INTERNAL, CONFIDENTIAL) == []
    assert "Quasar-7" in json.dumps(internal) and "INTERNAL LESSON: not regulatory guidance" in json.dumps(internal)


WORDS = ["cryopreservation", "bags", "Quasar-7", "Zephyr-9", "vector", "stability", "validation", "freezer", "titre",
         "cracked", "viability", "process", "batches", "commercial", "storage", "lentiviral"]  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    words=st.lists(st.sampled_from(WORDS), min_size=1, max_size=6),
    scope=st.sampled_from(["public", "internal", "confidential"]),
)
def test_property_no_question_surfaces_material_above_the_callers_scope(small_kb, words, scope):
    caller = principal("p", [scope])
    question = " ".join(words)
    passages = small_kb.search(question, k=10, principal=caller)
    assert all(caller.can_see(p.document) for p in passages)
    answer = small_kb.ask(question, principal=caller)
    assert all(small_kb.records[c.doc_id].visibility in caller.scopes for c in answer.citations)
    assert all(
        small_kb.records[d].visibility in caller.scopes for d in answer.closest_documents if d in small_kb.records
    )


def test_a_conversation_belongs_to_the_caller_who_started_it(api):
    started = api.post("/v1/chat", json={"message": QUESTION}, headers=_as(api, "internal")).json()
    cid = started["conversation_id"]
    own = api.post("/v1/chat", json={"conversation_id": cid, "message": "and why?"}, headers=_as(api, "internal"))
    assert own.status_code == 200 and own.json()["question"].startswith("What went wrong")
    other = api.post("/v1/chat", json={"conversation_id": cid, "message": "and why?"}, headers=_as(api, "public"))
    assert other.status_code == 404
    assert other.json()["error"]["message"] == (
        f"conversation '{cid}' is unknown (or expired); omit conversation_id to start a new one"
    )


def test_a_key_reusing_a_revoked_keys_name_cannot_read_its_conversations(api, tmp_path):
    keys = KeyStore(tmp_path / "api_keys.sqlite")
    started = api.post("/v1/chat", json={"message": QUESTION}, headers=_as(api, "internal")).json()
    keys.revoke("internal-caller")
    _, token = keys.create("internal-caller", ["public"])  # same name, a different key
    follow = {"conversation_id": started["conversation_id"], "message": "and why?"}
    reused = api.post("/v1/chat", json=follow, headers={"Authorization": f"Bearer {token}"})
    assert reused.status_code == 404


def test_key_names_are_unique_among_active_keys(tmp_path):
    from kb.errors import ConfigError

    keys = KeyStore(tmp_path / "api_keys.sqlite")
    first, _ = keys.create("qa-team", ["internal"])
    with pytest.raises(ConfigError, match=rf"already named 'qa-team' \(id {first.key_id}\).*regkb keys revoke"):
        keys.create("qa-team", ["public"])
