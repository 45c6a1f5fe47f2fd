"""Who may see what: principals with scopes, and the visibility of documents.

Scopes are levels: `confidential` includes `internal`, which includes `public`. A document's
`visibility` is one of them; a principal sees a document when its scopes include that visibility.
Filtering happens inside the store queries (Chroma `where`, BM25 weight mask), never after retrieval,
so nothing a principal may not see is ever ranked, counted, quoted or named in an error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kb.errors import ConfigError
from kb.models import DocumentRecord

__all__ = ["SCOPES", "Principal", "principal", "PUBLIC"]

SCOPES = ("public", "internal", "confidential")


@dataclass(frozen=True)
class Principal:
    name: str  # shown in logs and audit lines
    scopes: frozenset[str]
    owner: str = ""  # what owns its conversations: an API key's id (names can be reused), else the name

    @property
    def owner_id(self) -> str:
        return self.owner or self.name

    def can_see(self, record: DocumentRecord) -> bool:
        return record.visibility in self.scopes

    @property
    def visibility(self) -> tuple[str, ...]:
        return tuple(s for s in SCOPES if s in self.scopes)


def principal(name: str, scopes: Iterable[str], *, owner: str = "") -> Principal:
    """A principal from scope names; each scope brings the lower ones with it."""
    given = list(scopes)
    unknown = [s for s in given if s not in SCOPES]
    if unknown:
        raise ConfigError(f"unknown scope {', '.join(map(repr, unknown))}; scopes are {', '.join(SCOPES)}")
    top = max((SCOPES.index(s) for s in given), default=0)
    return Principal(name, frozenset(SCOPES[: top + 1]), owner)


PUBLIC = principal("public", ["public"])
