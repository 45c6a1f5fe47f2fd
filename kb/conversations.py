"""Conversations kept in SQLite under the data dir, so every API worker sees the same follow-up context.

Each turn stores the user's message, the standalone question it was resolved to and the answer status.
SQLite's own locking serialises writers from several worker processes; a turn is one short transaction.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from kb import sqlite_files
from kb.errors import NotFoundError

__all__ = ["Turn", "ConversationStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (
    conversation_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    message TEXT NOT NULL,
    question TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (conversation_id, seq)
)
"""


@dataclass(frozen=True)
class Turn:
    message: str
    question: str  # the standalone question the message was resolved to
    status: str


class ConversationStore:
    def __init__(self, path: Path, *, max_turns: int = 20) -> None:
        self.path = path
        self.max_turns = max_turns
        sqlite_files.create(path, [_SCHEMA])

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    def turns(self, conversation_id: str) -> list[Turn]:
        with sqlite_files.connect(self.path) as db:
            rows = db.execute(
                "SELECT message, question, status FROM turns WHERE conversation_id = ? ORDER BY seq DESC LIMIT ?",
                (conversation_id, self.max_turns),
            ).fetchall()
        return [Turn(*row) for row in reversed(rows)]

    def require(self, conversation_id: str, *, shown_as: str | None = None) -> list[Turn]:
        """The turns, or NotFoundError naming the id as the caller knows it (`shown_as`)."""
        turns = self.turns(conversation_id)
        if not turns:
            raise NotFoundError(
                f"conversation {shown_as or conversation_id!r} is unknown (or expired); "
                "omit conversation_id to start a new one"
            )
        return turns

    def append(self, conversation_id: str, turn: Turn) -> None:
        with sqlite_files.connect(self.path) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                (seq,) = db.execute(
                    "SELECT COALESCE(MAX(seq), 0) + 1 FROM turns WHERE conversation_id = ?", (conversation_id,)
                ).fetchone()
                db.execute(
                    "INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?)",
                    (conversation_id, seq, turn.message, turn.question, turn.status, time.time()),
                )
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
