"""What users said about answers, kept with the answer itself, in SQLite under the data dir.

Each answer posted to Slack is stored (question, answer text, citations, corpus snapshot, where it was
posted); feedback buttons carry the stored answer's id, so a rating always points at exactly what the
user saw. `claim` makes event handling idempotent across retries and workers: the first caller of a
key gets True, every later one False.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from kb import sqlite_files
from kb.errors import NotFoundError

__all__ = ["Rating", "FeedbackRow", "FeedbackStore", "RATINGS"]

Rating = Literal["helpful", "not_helpful", "wrong_citation"]
RATINGS: tuple[Rating, ...] = ("helpful", "not_helpful", "wrong_citation")

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS answers (
        answer_id TEXT PRIMARY KEY, question TEXT NOT NULL, answer TEXT NOT NULL, status TEXT NOT NULL,
        citations TEXT NOT NULL, corpus_snapshot TEXT NOT NULL, source TEXT NOT NULL, created REAL NOT NULL,
        payload TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS feedback (
        answer_id TEXT NOT NULL REFERENCES answers(answer_id), rating TEXT NOT NULL, user TEXT NOT NULL,
        comment TEXT NOT NULL DEFAULT '', created REAL NOT NULL)""",
    "CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, created REAL NOT NULL)",
)


@dataclass(frozen=True)
class FeedbackRow:
    created: float
    rating: str
    user: str
    comment: str
    answer_id: str
    question: str
    answer: str
    status: str
    citations: list[dict[str, Any]]
    corpus_snapshot: str
    source: str


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        sqlite_files.create(path, _SCHEMA)

    def claim(self, key: str) -> bool:
        with sqlite_files.connect(self.path) as db:
            return db.execute("INSERT OR IGNORE INTO claims VALUES (?, ?)", (key, time.time())).rowcount == 1

    def save_answer(self, payload: dict[str, Any], *, source: str) -> str:
        """Store an answer as shown (`payload`: the answer's JSON, api.render.answer_json); returns its id."""
        answer_id = uuid.uuid4().hex
        row = (payload["question"], payload["answer"], payload["status"], json.dumps(payload["citations"]))
        with sqlite_files.connect(self.path) as db:
            db.execute(
                "INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (answer_id, *row, payload["corpus_snapshot"], source, time.time(), json.dumps(payload)),
            )
        return answer_id

    def answer(self, answer_id: str) -> dict[str, Any]:
        """A stored answer's JSON, exactly as it was shown."""
        with sqlite_files.connect(self.path) as db:
            found = db.execute("SELECT payload FROM answers WHERE answer_id = ?", (answer_id,)).fetchone()
        if found is None:
            raise NotFoundError(f"answer {answer_id!r} is unknown")
        return json.loads(found[0])  # type: ignore[no-any-return]

    def rate(self, answer_id: str, rating: str, *, user: str, comment: str = "") -> None:
        if rating not in RATINGS:
            raise ValueError(f"rating {rating!r} is not one of {', '.join(RATINGS)}")
        with sqlite_files.connect(self.path) as db:
            if db.execute("SELECT 1 FROM answers WHERE answer_id = ?", (answer_id,)).fetchone() is None:
                raise NotFoundError(f"answer {answer_id!r} is unknown; feedback needs a stored answer")
            db.execute("INSERT INTO feedback VALUES (?, ?, ?, ?, ?)", (answer_id, rating, user, comment, time.time()))

    def rows(self, *, rating: str | None = None, limit: int | None = None) -> list[FeedbackRow]:
        query = (
            "SELECT f.created, f.rating, f.user, f.comment, a.answer_id, a.question, a.answer, a.status, a.citations,"
            " a.corpus_snapshot, a.source FROM feedback f JOIN answers a USING (answer_id)"
            + (" WHERE f.rating = ?" if rating else "")
            + " ORDER BY f.created DESC"
            + (" LIMIT ?" if limit else "")
        )
        params: list[Any] = [p for p in (rating, limit) if p]
        with sqlite_files.connect(self.path) as db:
            found = db.execute(query, params).fetchall()
        names = [f for f in FeedbackRow.__dataclass_fields__]
        return [FeedbackRow(**{**dict(zip(names, row, strict=True)), "citations": json.loads(row[8])}) for row in found]
