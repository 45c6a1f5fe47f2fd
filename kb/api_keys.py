"""API keys: created once (the secret is shown once), stored only as a SHA-256 hash, revocable.

Keys are 256-bit random tokens, so a plain SHA-256 of the token is enough to make the stored table
useless to a reader (no dictionary to try); verification is a single indexed lookup per request.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kb import sqlite_files
from kb.access import Principal, principal
from kb.errors import ConfigError, NotFoundError

__all__ = ["ApiKey", "KeyStore", "KEY_PREFIX"]

KEY_PREFIX = "rk_"
_SCHEMA = """CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY, name TEXT NOT NULL, scopes TEXT NOT NULL, token_sha256 TEXT NOT NULL UNIQUE,
    created REAL NOT NULL, revoked REAL)"""


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    scopes: tuple[str, ...]
    created: float
    revoked: float | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class KeyStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        sqlite_files.create(path, [_SCHEMA])

    def create(self, name: str, scopes: Iterable[str]) -> tuple[ApiKey, str]:
        """A new key; returns it with the secret token, which is not stored and cannot be shown again."""
        granted = principal(name, scopes).visibility  # validates the scope names
        key_id, token = secrets.token_hex(4), KEY_PREFIX + secrets.token_urlsafe(32)
        now = time.time()
        with sqlite_files.connect(self.path) as db:
            taken = db.execute("SELECT key_id FROM api_keys WHERE name = ? AND revoked IS NULL", (name,)).fetchone()
            if taken:
                raise ConfigError(
                    f"an active key is already named {name!r} (id {taken[0]}); choose another name, "
                    f"or revoke it first with `regkb keys revoke {taken[0]}`"
                )
            db.execute(
                "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, NULL)",
                (key_id, name, ",".join(granted), _digest(token), now),
            )
        return ApiKey(key_id, name, granted, now, None), token

    def list_keys(self) -> list[ApiKey]:
        with sqlite_files.connect(self.path) as db:
            rows = db.execute("SELECT key_id, name, scopes, created, revoked FROM api_keys ORDER BY created").fetchall()
        return [ApiKey(k, n, tuple(s.split(",")), c, r) for k, n, s, c, r in rows]

    def revoke(self, key_id_or_name: str) -> int:
        with sqlite_files.connect(self.path) as db:
            count = db.execute(
                "UPDATE api_keys SET revoked = ? WHERE (key_id = ? OR name = ?) AND revoked IS NULL",
                (time.time(), key_id_or_name, key_id_or_name),
            ).rowcount
        if not count:
            raise NotFoundError(f"no active key has id or name {key_id_or_name!r}; `regkb keys list` shows them")
        return int(count)

    def authenticate(self, token: str) -> Principal | None:
        """The key's principal, or None for an unknown or revoked token."""
        with sqlite_files.connect(self.path) as db:
            row = db.execute(
                "SELECT key_id, name, scopes FROM api_keys WHERE token_sha256 = ? AND revoked IS NULL",
                (_digest(token),),
            ).fetchone()
        return principal(f"key:{row[1]}", row[2].split(","), owner=f"key-id:{row[0]}") if row else None
