"""Query filters: validated against the corpus, then turned into store-side conditions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from kb.errors import FilterError
from kb.models import Chunk, DocumentRecord

USER_FIELDS = ("agency", "jurisdiction", "doc_type", "status", "doc_id")

__all__ = ["Filters", "USER_FIELDS", "agency_key", "validate_filters", "record_matches", "chroma_where"]

_AGENCY_ALIASES = {"EUROPEAN": "EC", "COMMISSION": "EC", "EU": "EC"}


def agency_key(agency: str) -> str:
    """'FDA (CDER/CBER)' -> 'FDA', 'European Commission' -> 'EC': the issuer a user filters on."""
    first = agency.replace("(", " ").split()[0].upper() if agency.strip() else ""
    return _AGENCY_ALIASES.get(first, first)


@dataclass(frozen=True)
class Filters:
    agency: tuple[str, ...] = ()
    jurisdiction: tuple[str, ...] = ()
    doc_type: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    doc_id: tuple[str, ...] = ()
    visibility: tuple[str, ...] = ()  # set from the caller's principal (kb.access), never from user input

    @classmethod
    def from_user(cls, **values: Iterable[str] | None) -> Filters:
        """Filters from what a user gave (CLI options, request fields, a Slack channel's scope); the
        caller's visibility is never among them, it comes from the principal."""
        unknown = sorted(set(values) - set(USER_FIELDS))
        if unknown:
            raise FilterError(f"unknown filter {', '.join(unknown)}; filters are {', '.join(USER_FIELDS)}")
        return cls(**{name: tuple(values.get(name) or ()) for name in USER_FIELDS})

    @property
    def empty(self) -> bool:
        return not any(getattr(self, f.name) for f in fields(self))

    @property
    def wants_superseded(self) -> bool:
        return "superseded" in self.status


def _normalised(filters: Filters) -> Filters:
    return Filters(
        agency=tuple(agency_key(a) for a in filters.agency),
        jurisdiction=tuple(j.upper() if j.lower() != "internal" else "internal" for j in filters.jurisdiction),
        doc_type=tuple(t.lower() for t in filters.doc_type),
        status=tuple(s.lower() for s in filters.status),
        doc_id=filters.doc_id,
        visibility=filters.visibility,
    )


def validate_filters(filters: Filters, records: Sequence[DocumentRecord]) -> Filters:
    """Normalise values and reject ones no indexed document has, naming the values that exist."""
    filters = _normalised(filters)
    known: dict[str, set[str]] = {
        "agency": {agency_key(r.agency) for r in records},
        "jurisdiction": {r.jurisdiction for r in records},
        "doc_type": {r.doc_type for r in records},
        "status": {"final", "draft", "superseded"},
        "doc_id": {r.id for r in records},
    }
    # `records` are the documents the caller may see: an error never names, lists or counts others.
    for name, allowed in known.items():
        unknown = [v for v in getattr(filters, name) if v not in allowed]
        if unknown:
            raise FilterError(
                f"no indexed document has {name.replace('_', ' ')} {', '.join(map(repr, unknown))}; "
                f"use one of: {', '.join(sorted(allowed))} (documents listed but not available offline are not indexed)"
            )
    return filters


def record_matches(record: DocumentRecord, filters: Filters) -> bool:
    checks: Iterable[tuple[tuple[str, ...], str]] = (
        (filters.agency, agency_key(record.agency)),
        (filters.jurisdiction, record.jurisdiction),
        (filters.doc_type, record.doc_type),
        (filters.status, record.status),
        (filters.doc_id, record.id),
        (filters.visibility, record.visibility),
    )
    return all(not wanted or value in wanted for wanted, value in checks)


def chroma_where(filters: Filters) -> dict[str, Any] | None:
    """The same conditions as record_matches, for the vector store's metadata (see chunk_metadata)."""
    clauses = [
        {key: {"$in": list(values)}}
        for key, values in (
            ("agency", filters.agency),
            ("jurisdiction", filters.jurisdiction),
            ("doc_type", filters.doc_type),
            ("status", filters.status),
            ("doc_id", filters.doc_id),
            ("visibility", filters.visibility),
        )
        if values
    ]
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def chunk_metadata(record: DocumentRecord, chunk: Chunk) -> dict[str, str | int | float | bool]:
    """What the vector store keeps beside each vector: the filter fields and the citation locators."""
    return {
        "doc_id": record.id,
        "agency": agency_key(record.agency),
        "jurisdiction": record.jurisdiction,
        "doc_type": record.doc_type,
        "status": record.status,
        "visibility": record.visibility,
        "title": record.title,
        "reference": record.reference,
        "section": chunk.section,
        "section_title": chunk.section_title,
        "first_page": chunk.first_page,
        "last_page": chunk.last_page,
        "start": chunk.start,
        "end": chunk.end,
    }
