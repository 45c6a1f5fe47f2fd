"""SQLite files under the data dir (conversations, feedback, API keys): one way to create and open them.

Connections are short-lived and in autocommit mode, so several API worker processes can share a file;
WAL lets readers go on while one of them writes. A caller that needs a read-then-write to be atomic
opens its own `BEGIN IMMEDIATE` transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

__all__ = ["create", "connect"]


def create(path: Path, schema: Iterable[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        for statement in schema:
            db.execute(statement)


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(path, timeout=10, isolation_level=None)) as db:
        yield db
