"""The Slack shell: a slack_bolt app over the same core, in HTTP mode (/slack/events) or Socket Mode.

Mentions and direct messages are acknowledged at once (Bolt acks before the listener runs, inside
Slack's 3-second limit) and answered in the thread; the thread is the conversation, so follow-ups keep
their context. `/regkb` answers privately with a button to share. A Slack retry of an event
(X-Slack-Retry-Num) carries the same event id and is answered once: the first worker to claim the id
answers. This is the only module that imports slack_bolt.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.adapter.starlette import SlackRequestHandler
from slack_sdk import WebClient

from api.render import answer_json
from api.render_checkpoints import checklist_json
from api.render_slack import answer_messages, checklist_blocks, help_blocks
from kb.access import principal
from kb.chat import chat_turn
from kb.conversations import ConversationStore
from kb.errors import ConfigError, RegkbError
from kb.feedback import RATINGS, FeedbackStore
from kb.filters import Filters
from kb.knowledge_base import KnowledgeBase
from kb.settings import Settings, SlackSettings

__all__ = ["slack_configured", "build_slack_app", "SlackRequestHandler", "socket_mode_handler"]

log = logging.getLogger("regkb.slack")
_MENTION = re.compile(r"<@[A-Z0-9]+>\s*")


def slack_configured(settings: SlackSettings) -> bool:
    """True when HTTP mode can run; half a configuration is refused with the missing names."""
    present = {"REGKB_SLACK__BOT_TOKEN": settings.bot_token, "REGKB_SLACK__SIGNING_SECRET": settings.signing_secret}
    missing = [name for name, value in present.items() if not value or not value.get_secret_value()]
    if len(missing) == 1:
        raise ConfigError(f"Slack is half configured: set {missing[0]} too, or unset both to run without Slack")
    return not missing


def _client(settings: SlackSettings) -> WebClient:
    token = settings.bot_token.get_secret_value() if settings.bot_token else None
    return WebClient(token=token, base_url=settings.api_url)


def _scope(settings: SlackSettings, channel: str) -> Filters:
    """The filters a channel's answers are limited to (settings.slack.channel_scopes); none: public guidance."""
    return Filters.from_user(**settings.channel_scopes.get(channel, {}))


def build_slack_app(
    kb: Callable[[], KnowledgeBase],
    settings: Settings,
    *,
    conversations: ConversationStore,
    feedback: FeedbackStore,
    signing_secret_required: bool = True,
) -> App:
    slack = settings.slack
    secret = slack.signing_secret.get_secret_value() if slack.signing_secret else None
    app = App(
        client=_client(slack),
        signing_secret=secret if signing_secret_required else None,
        request_verification_enabled=signing_secret_required,
        token_verification_enabled=False,  # no auth.test at start-up: the server starts offline too
        logger=log,
    )

    def answer(channel: str, thread_ts: str, text: str, *, user: str, share: bool = False) -> list[dict[str, Any]]:
        result = chat_turn(
            kb(),
            text,
            store=conversations,
            conversation_id=f"slack-{channel}-{thread_ts}",
            filters=_scope(slack, channel),
            start_if_unknown=True,
            principal=principal(f"slack:{channel}", slack.channel_access.get(channel, ["public"])),
        )
        payload = {**answer_json(result.answer), "question": result.question}
        answer_id = feedback.save_answer(payload, source=f"slack:{channel}:{thread_ts}:{user}")
        return answer_messages(payload, answer_id, share=share, limit=slack.max_answer_chars)

    def reply_in_thread(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        if not feedback.claim(f"slack-event:{body.get('event_id') or event.get('client_msg_id') or event['ts']}"):
            return  # a retry, or another worker has it
        thread_ts = event.get("thread_ts") or event["ts"]
        text = _MENTION.sub("", event.get("text", "")).strip()
        if not text:
            client.chat_postMessage(
                channel=event["channel"], thread_ts=thread_ts, blocks=help_blocks(), text="regkb help"
            )
            return
        try:
            messages = answer(event["channel"], thread_ts, text, user=event.get("user", ""))
        except RegkbError as exc:
            client.chat_postMessage(channel=event["channel"], thread_ts=thread_ts, text=f"regkb: {exc}")
            return
        for message in messages:
            client.chat_postMessage(channel=event["channel"], thread_ts=thread_ts, **message)

    @app.event("app_mention")
    def on_mention(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        reply_in_thread(event, body, client)

    @app.event("message")
    def on_message(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        if event.get("channel_type") == "im" and not event.get("bot_id") and not event.get("subtype"):
            reply_in_thread(event, body, client)

    @app.command("/regkb")
    def on_command(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        ack()  # within Slack's 3 seconds; the answer follows as an ephemeral message
        text, channel, user = command.get("text", "").strip(), command["channel_id"], command["user_id"]
        if not text or text.lower() == "help":
            client.chat_postEphemeral(channel=channel, user=user, blocks=help_blocks(), text="regkb help")
            return
        try:
            if text.lower().startswith("checkpoints"):
                blocks = _checkpoint_blocks(kb(), text.split(None, 1)[1:])
                client.chat_postEphemeral(channel=channel, user=user, blocks=blocks[:50], text="Checkpoint checklist")
                return
            messages = answer(channel, command.get("trigger_id", "") or "command", text, user=user, share=True)
        except RegkbError as exc:
            client.chat_postEphemeral(channel=channel, user=user, text=f"regkb: {exc}")
            return
        for message in messages:
            client.chat_postEphemeral(channel=channel, user=user, **message)

    @app.action("share_answer")
    def on_share(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        answer_id = body["actions"][0]["value"]
        row = feedback.answer(answer_id)
        for message in answer_messages(row, answer_id, limit=slack.max_answer_chars):
            client.chat_postMessage(channel=body["channel"]["id"], **message)

    @app.action(re.compile(rf"^feedback_(?:{'|'.join(RATINGS)})$"))
    def on_feedback(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        action = body["actions"][0]
        rating = action["action_id"].removeprefix("feedback_")
        feedback.rate(action["value"], rating, user=body["user"]["id"])
        client.chat_postEphemeral(
            channel=body["channel"]["id"],
            user=body["user"]["id"],
            text=f"Thanks: recorded as {rating.replace('_', ' ')}.",
        )

    return app


def _checkpoint_blocks(kb: KnowledgeBase, rest: list[str]) -> list[dict[str, Any]]:
    if kb.checkpoint_map is None:
        raise ConfigError("no checkpoint map is loaded (REGKB_CHECKPOINTS_DIR)")
    stages = rest[0].split() if rest else []
    checklist = kb.checklist_for(stages=tuple(stages))
    return checklist_blocks(checklist_json(checklist))


def socket_mode_handler(settings: Settings, build: Callable[[], App]) -> Any:
    """Socket Mode for workspaces that cannot expose an HTTP endpoint; the tokens are checked before `build`."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    slack = settings.slack
    missing = [
        name
        for name, value in (("REGKB_SLACK__BOT_TOKEN", slack.bot_token), ("REGKB_SLACK__APP_TOKEN", slack.app_token))
        if not value or not value.get_secret_value()
    ]
    if missing:
        raise ConfigError(
            f"Socket Mode needs {' and '.join(missing)} (xoxb-... bot token, xapp-... app-level token with "
            "connections:write); see the README's Slack section"
        )
    assert slack.app_token is not None
    return SocketModeHandler(build(), slack.app_token.get_secret_value())
