"""The Slack bot with no network: signed requests to /slack/events, the bot's Web API calls recorded by a
fake Slack on loopback, feedback in SQLite, and retries that never answer twice."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from api.render_slack import MAX_BLOCKS, MAX_SECTION_CHARS, answer_messages
from kb.errors import ConfigError
from kb.feedback import FeedbackStore
from kb.settings import SlackSettings
from tests.api.fake_slack import start_fake_slack

pytestmark = pytest.mark.unit

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # a signing secret of Slack's documented shape
QUESTION = "When must process validation be completed before commercial distribution?"


@pytest.fixture
def fake():
    fake, server = start_fake_slack()
    yield fake
    server.shutdown()


@pytest.fixture
def slack(small_kb, fake, tmp_path):
    settings = small_kb.settings.model_copy(
        update={
            "data_dir": tmp_path,
            "slack": SlackSettings(bot_token="xoxb-test", signing_secret=SECRET, api_url=f"{fake.url}/api/"),
        }
    )
    with TestClient(create_app(settings, kb=small_kb)) as client:
        yield client


def _signed(body: str, *, secret: str = SECRET, age_s: int = 0) -> dict[str, str]:
    timestamp = str(int(time.time()) - age_s)
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={digest}"}


def _event(
    text: str, *, ts: str, thread_ts: str | None = None, event_id: str = "Ev1", kind: str = "app_mention"
) -> str:
    event = {
        "type": kind,
        "user": "U1",
        "text": f"<@UBOT> {text}",
        "ts": ts,
        "channel": "C1",
        "channel_type": "channel",
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return json.dumps(
        {"type": "event_callback", "team_id": "T1", "event_id": event_id, "event_time": 1, "event": event}
    )


def _post_event(client, body: str, **headers: str):
    return client.post(
        "/slack/events", content=body, headers={"Content-Type": "application/json", **_signed(body), **headers}
    )


def _texts(message: dict) -> str:
    return "\n".join(
        b.get("text", {}).get("text", "") if b["type"] != "context" else b["elements"][0]["text"]
        for b in message["blocks"]
    )


def test_a_mention_is_answered_in_its_thread_with_citations_and_feedback_buttons(slack, fake):
    started = time.monotonic()
    response = _post_event(slack, _event(QUESTION, ts="100.1"))
    assert response.status_code == 200 and time.monotonic() - started < 3  # acknowledged inside Slack's limit
    (message,) = fake.wait_for("chat.postMessage")
    assert message["channel"] == "C1" and message["thread_ts"] == "100.1"
    text = _texts(message)
    assert ":white_check_mark: Answered" in text and "*[1] <" in text and "p. " in text
    actions = [b for b in message["blocks"] if b["type"] == "actions"][0]["elements"]
    assert [a["action_id"] for a in actions] == ["feedback_helpful", "feedback_not_helpful", "feedback_wrong_citation"]
    assert len(message["blocks"]) <= MAX_BLOCKS
    assert all(len(b["text"]["text"]) <= MAX_SECTION_CHARS for b in message["blocks"] if b["type"] == "section")


def test_a_follow_up_in_the_thread_keeps_the_context(slack, fake):
    _post_event(slack, _event("What must be in place before the first GMP batch for autologous CAR-T?", ts="200.1"))
    fake.wait_for("chat.postMessage")
    _post_event(slack, _event("and for allogeneic products?", ts="200.5", thread_ts="200.1", event_id="Ev2"))
    second = fake.wait_for("chat.postMessage", 2)[1]
    assert second["thread_ts"] == "200.1"
    assert "_What must be in place before the first GMP batch for allogeneic products?_" in _texts(second)
    assert "From the checkpoint map" in json.dumps(second["blocks"])


def test_a_retry_never_produces_a_second_answer(slack, fake):
    body = _event(QUESTION, ts="300.1", event_id="Ev3")
    assert _post_event(slack, body).status_code == 200
    fake.wait_for("chat.postMessage")
    retry = _post_event(slack, body, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert retry.status_code == 200
    time.sleep(1.0)
    assert len(fake.of("chat.postMessage")) == 1


@pytest.mark.parametrize(("secret", "age_s"), [("wrong-secret", 0), (SECRET, 600)], ids=["bad signature", "stale"])
def test_bad_or_stale_signatures_are_rejected(slack, fake, secret, age_s):
    body = _event(QUESTION, ts="400.1", event_id="Ev4")
    headers = {"Content-Type": "application/json", **_signed(body, secret=secret, age_s=age_s)}
    assert slack.post("/slack/events", content=body, headers=headers).status_code == 401
    time.sleep(0.5)
    assert fake.of("chat.postMessage") == []


def _command(text: str) -> str:
    return urlencode(
        {"command": "/regkb", "text": text, "user_id": "U2", "channel_id": "C2", "team_id": "T1",
         "trigger_id": f"trig-{text[:8]}", "response_url": "https://hooks.slack.invalid/x"}
    )  # fmt: skip


def _post_form(client, body: str):
    return client.post(
        "/slack/events", content=body, headers={"Content-Type": "application/x-www-form-urlencoded", **_signed(body)}
    )


def test_slash_command_answers_privately_with_a_share_button_then_shares(slack, fake):
    assert _post_form(slack, _command(QUESTION)).status_code == 200
    (private,) = fake.wait_for("chat.postEphemeral")
    assert (private["channel"], private["user"]) == ("C2", "U2")
    share = [b for b in private["blocks"] if b["type"] == "actions"][0]["elements"][0]
    assert share["action_id"] == "share_answer"
    payload = {"type": "block_actions", "user": {"id": "U2"}, "channel": {"id": "C2"}, "team": {"id": "T1"},
               "actions": [{"action_id": "share_answer", "value": share["value"], "type": "button"}]}  # fmt: skip
    assert _post_form(slack, urlencode({"payload": json.dumps(payload)})).status_code == 200
    (shared,) = fake.wait_for("chat.postMessage")
    assert shared["channel"] == "C2" and _texts(shared).split("\n")[1:] == _texts(private).split("\n")[1:]


def test_slash_help_and_checkpoints(slack, fake):
    _post_form(slack, _command("help"))
    _post_form(slack, _command("checkpoints first-in-human"))
    help_text, checklist = fake.wait_for("chat.postEphemeral", 2)
    blocks = json.dumps([help_text["blocks"], checklist["blocks"]], ensure_ascii=False)
    assert "`/regkb checkpoints <stage>`" in blocks and "From the checkpoint map" in blocks and "US · IND" in blocks


def test_feedback_is_stored_with_the_answer_and_listed_by_the_cli(slack, fake, tmp_path, monkeypatch):
    _post_event(slack, _event(QUESTION, ts="500.1", event_id="Ev5"))
    (message,) = fake.wait_for("chat.postMessage")
    button = [b for b in message["blocks"] if b["type"] == "actions"][0]["elements"][2]
    payload = {"type": "block_actions", "user": {"id": "U9"}, "channel": {"id": "C1"}, "team": {"id": "T1"},
               "actions": [{"action_id": button["action_id"], "value": button["value"], "type": "button"}]}  # fmt: skip
    assert _post_form(slack, urlencode({"payload": json.dumps(payload)})).status_code == 200
    (thanks,) = fake.wait_for("chat.postEphemeral")
    assert thanks["text"] == "Thanks: recorded as wrong citation."
    (row,) = FeedbackStore(tmp_path / "feedback.sqlite").rows()
    assert (row.rating, row.user, row.question, row.status) == ("wrong_citation", "U9", QUESTION, "answered")
    assert row.citations and row.corpus_snapshot and row.source == "slack:C1:500.1:U1"
    monkeypatch.setenv("REGKB_DATA_DIR", str(tmp_path))
    listed = CliRunner().invoke(cli, ["feedback", "--format", "json"])
    assert listed.exit_code == 0 and json.loads(listed.stdout)[0]["rating"] == "wrong_citation"


def test_direct_messages_are_answered_and_bot_messages_ignored(slack, fake):
    dm = json.loads(_event(QUESTION, ts="600.1", event_id="Ev6", kind="message"))
    dm["event"]["channel_type"] = "im"
    _post_event(slack, json.dumps(dm))
    fake.wait_for("chat.postMessage")
    bot = json.loads(_event(QUESTION, ts="600.2", event_id="Ev7", kind="message"))
    bot["event"].update(channel_type="im", bot_id="B1")
    _post_event(slack, json.dumps(bot))
    time.sleep(0.5)
    assert len(fake.of("chat.postMessage")) == 1


def test_long_answers_are_split_to_slacks_limits():
    citation = {"marker": 1, "doc_id": "d", "title": "T", "reference": "R", "status": "draft", "section": "1",
                "section_title": "S", "pages": [2], "quote": "q" * 500, "url": "https://x"}  # fmt: skip
    payload = {"question": "q?", "status": "answered", "answer": ("word " * 2000).strip(), "citations": [citation] * 60}
    messages = answer_messages(payload, "a1")
    assert len(messages) == 2 and all(len(m["blocks"]) <= MAX_BLOCKS for m in messages)
    sections = [b for m in messages for b in m["blocks"] if b["type"] == "section"]
    assert all(len(b["text"]["text"]) <= MAX_SECTION_CHARS for b in sections)
    answer_text = "".join(b["text"]["text"] + " " for b in sections[:4] if "[1]" not in b["text"]["text"])
    assert answer_text.split() == payload["answer"].split()
    assert "`DRAFT`" in sections[-1]["text"]["text"] and sections[-1]["text"]["text"].endswith("…")


def test_missing_configuration_is_refused_with_the_names_to_set(small_kb, tmp_path, monkeypatch):
    half = small_kb.settings.model_copy(update={"data_dir": tmp_path, "slack": SlackSettings(bot_token="xoxb-1")})
    with (
        pytest.raises(ConfigError, match="set REGKB_SLACK__SIGNING_SECRET too"),
        TestClient(create_app(half, kb=small_kb)),
    ):
        pass
    monkeypatch.setenv("REGKB_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(cli, ["slack"])
    assert result.exit_code == 1
    assert "Socket Mode needs REGKB_SLACK__BOT_TOKEN and REGKB_SLACK__APP_TOKEN" in " ".join(result.output.split())


def test_without_slack_the_endpoint_says_how_to_turn_it_on(small_kb, tmp_path):
    settings = small_kb.settings.model_copy(update={"data_dir": tmp_path})
    with TestClient(create_app(settings, kb=dataclasses.replace(small_kb))) as client:
        response = client.post("/slack/events", content="{}")
    assert response.status_code == 404 and "REGKB_SLACK__BOT_TOKEN" in response.json()["error"]["message"]


def test_the_app_manifest_asks_for_what_the_bot_uses():
    from pathlib import Path

    import yaml

    manifest = yaml.safe_load((Path(__file__).parents[2] / "api" / "slack_manifest.yaml").read_text())
    assert set(manifest["oauth_config"]["scopes"]["bot"]) >= {
        "app_mentions:read",
        "chat:write",
        "commands",
        "im:history",
    }
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_mention", "message.im"]
    assert manifest["features"]["slash_commands"][0]["command"] == "/regkb"
    urls = {manifest["settings"]["interactivity"]["request_url"], manifest["features"]["slash_commands"][0]["url"]}
    assert urls == {"https://YOUR-HOST/slack/events"}


def test_a_channel_scope_limits_what_its_answers_cite(small_kb, fake, tmp_path):
    scoped = SlackSettings(
        bot_token="xoxb-test",
        signing_secret=SECRET,
        api_url=f"{fake.url}/api/",
        channel_scopes={"C1": {"agency": ["FDA"]}},
    )
    settings = small_kb.settings.model_copy(update={"data_dir": tmp_path, "slack": scoped})
    question = "stability testing of biotechnological products"
    with TestClient(create_app(settings, kb=small_kb)) as client:
        _post_event(client, _event(question, ts="700.1", event_id="Ev8"))
        fake.wait_for("chat.postMessage")
        _post_event(client, _event(question, ts="700.2", event_id="Ev9").replace('"C1"', '"C7"'))
        scoped_message, open_message = fake.wait_for("chat.postMessage", 2)

    def cited(message: dict) -> list[str]:
        return [
            b["text"]["text"]
            for b in message["blocks"]
            if b["type"] == "section" and b["text"]["text"].startswith("*[")
        ]

    assert cited(open_message) and all("REF q5c" in text for text in cited(open_message))  # unmapped C7: everything
    # C1 sees FDA documents only: the ICH stability guideline is neither cited nor named there
    assert all("REF cpg" in text for text in cited(scoped_message)) and "q5c" not in json.dumps(scoped_message)


def test_a_low_confidence_answer_is_marked_in_slack():
    payload = {
        "question": "q?",
        "status": "answered",
        "confidence": "low",
        "answer": "Low confidence: ...",
        "citations": [],
    }
    context = answer_messages(payload, "a1")[0]["blocks"][0]["elements"][0]["text"]
    assert context.startswith(":grey_question: Answered with low confidence")
    high = answer_messages({**payload, "confidence": "high"}, "a1")[0]["blocks"][0]["elements"][0]["text"]
    assert high.startswith(":white_check_mark: Answered")
