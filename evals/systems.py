"""What every evaluated system returns for one question, so regkb and the baselines are scored alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["Evidence", "SystemAnswer", "System"]


@dataclass(frozen=True)
class Evidence:
    """A ranked passage or a citation: where it comes from and its text (a citation's text is its quote)."""

    doc_id: str
    pages: tuple[int, ...]
    text: str


@dataclass(frozen=True)
class SystemAnswer:
    evidence: tuple[Evidence, ...]  # retrieved passages, best first (up to 10)
    citations: tuple[Evidence, ...]  # what the answer cites; a baseline cites its top 5 passages
    status: str  # "answered" | "no_evidence"
    latency_ms: float
    quotes_verified: int = 0  # citations whose quote was checked against the stored page text
    quotes_checked: int = 0
    checkpoints: tuple[str, ...] | None = None  # checkpoint ids of the answer's checklist; None: no map
    text: str = ""  # the answer text the user reads (with the citations' quotes, what the user sees)
    confidence: str | None = None  # "high" / "low" for an answered regkb answer; None otherwise


class System(Protocol):
    name: str

    def answer(self, question: str) -> SystemAnswer: ...
