"""The data dir's SQLite stores, named and opened in one place for every shell."""

from __future__ import annotations

from dataclasses import dataclass

from kb.api_keys import KeyStore
from kb.conversations import ConversationStore
from kb.feedback import FeedbackStore
from kb.settings import Settings

__all__ = ["Stores", "open_stores", "open_conversations", "open_feedback", "open_keys"]


@dataclass(frozen=True)
class Stores:
    conversations: ConversationStore
    feedback: FeedbackStore
    keys: KeyStore


def open_conversations(settings: Settings) -> ConversationStore:
    """Conversation turns, trimmed to REGKB_API__CONVERSATION_TURNS per conversation."""
    return ConversationStore(settings.data_dir / "conversations.sqlite", max_turns=settings.api.conversation_turns)


def open_feedback(settings: Settings) -> FeedbackStore:
    return FeedbackStore(settings.data_dir / "feedback.sqlite")


def open_keys(settings: Settings) -> KeyStore:
    return KeyStore(settings.data_dir / "api_keys.sqlite")


def open_stores(settings: Settings) -> Stores:
    return Stores(open_conversations(settings), open_feedback(settings), open_keys(settings))
