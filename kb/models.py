"""Plain data passed between the core's steps. Frozen so a citation can never drift from its chunk."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Literal

Jurisdiction = Literal["EU", "US", "ICH", "internal"]
DocType = Literal[
    "regulation", "guideline", "guidance", "qa", "reflection_paper", "compliance_policy", "internal_lesson"
]
Status = Literal["final", "draft", "superseded"]
Visibility = Literal["public", "internal", "confidential"]
AnswerStatus = Literal["answered", "no_evidence"]
# How sure an answered answer is: "high" when the best passage is close and covers the question, "low" when
# the corpus holds relevant passages that may not answer it directly (shown, and said, rather than refused).
Confidence = Literal["high", "low"]
# How a checkpoint-map reference was checked: its quote found on the stored page; the document is not
# available offline (shown with its URL, not checked against local text); the local text was not at hand
# (no index yet); or the quote was not found (the quote is then withheld).
RefCheck = Literal["verified", "not_offline", "not_checked", "quote_not_found"]


@dataclass(frozen=True)
class DocumentRecord:
    """One manifest entry: what a document is, where it lives, whether we have it."""

    id: str
    title: str
    agency: str
    jurisdiction: Jurisdiction
    doc_type: DocType
    reference: str
    version: str
    status: Status
    url: str
    sha256: str | None = None
    file: str | None = None  # path relative to the corpus folder; None when not available offline
    superseded_by: str | None = None  # manifest id of the successor (kb.manifest checks it exists)
    will_replace: tuple[str, ...] = ()  # a draft: manifest ids it replaces once final (they stay current)
    pages: int | None = None
    available_offline: bool = True
    notes: str = ""
    visibility: Visibility = "public"  # internal lessons are internal or confidential (kb.access)
    version_note: str = ""  # derived from the version relations when the manifest is read (kb.versions)
    # Names a question may use for the document besides its ICH code ("Annex 1", "Part 11", "OOS guidance"):
    # query-time data, read from the manifest when the knowledge base opens (kb.retrieve boosts named documents).
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedDocument:
    """Cleaned text of one document, page by page (page numbers are 1-based PDF page indexes).

    `text` joins the pages with PAGE_SEPARATOR; every character offset in the core is an offset
    into `text`, so a chunk's offsets map back to its pages with `page_at`.
    """

    doc_id: str
    pages: tuple[str, ...]
    page_starts: tuple[int, ...] = field(init=False)
    text: str = field(init=False)

    PAGE_SEPARATOR = "\n\n"

    def __post_init__(self) -> None:
        starts, offset = [], 0
        for page in self.pages:
            starts.append(offset)
            offset += len(page) + len(self.PAGE_SEPARATOR)
        object.__setattr__(self, "page_starts", tuple(starts))
        object.__setattr__(self, "text", self.PAGE_SEPARATOR.join(self.pages))

    def page_at(self, offset: int) -> int:
        """1-based page number holding character `offset` of `text`."""
        return max(1, bisect_right(self.page_starts, offset))


@dataclass(frozen=True)
class Heading:
    """A numbered (or named) section heading found in a document."""

    number: str  # "IV.A.1", "3.2.1", "Annex 1", "Appendix A", "Glossary"; "" for front matter
    title: str
    level: int  # 1 for top-level; deeper numbering gives higher levels
    start: int  # character offset of the heading line in ParsedDocument.text
    # False for a numbered paragraph of an EU GMP annex ("9.32 Periodic verification ..."): it names the
    # text after it, for citations, but does not start a chunk of its own.
    splits: bool = True


@dataclass(frozen=True)
class Chunk:
    """A retrievable span of one document, carrying everything a citation needs."""

    chunk_id: str  # f"{doc_id}#p{first_page}-c{n}", n counting chunks within the document
    doc_id: str
    text: str
    section: str
    section_title: str
    section_path: tuple[str, ...]  # numbers from the top level down, e.g. ("IV", "IV.A", "IV.A.1")
    first_page: int
    last_page: int
    start: int  # character offsets into ParsedDocument.text
    end: int
    # Numbered paragraphs that begin inside the chunk, as (offset into `text`, number): an EU GMP annex
    # is cited by paragraph ("9.32"), and one chunk holds several short ones.
    paragraphs: tuple[tuple[int, str], ...] = ()

    @property
    def pages(self) -> list[int]:
        return list(range(self.first_page, self.last_page + 1))

    def section_at(self, offset: int) -> str:
        """The section or paragraph number holding character `offset` of `text`."""
        number = self.section
        for start, paragraph in self.paragraphs:
            if start <= offset:
                number = paragraph
        return number


@dataclass(frozen=True)
class Passage:
    """A chunk with its retrieval score and the document it belongs to."""

    chunk: Chunk
    document: DocumentRecord
    score: float
    dense_similarity: float | None = None  # cosine similarity to the question, when dense retrieval ran
    keyword_score: float | None = None


@dataclass(frozen=True)
class Citation:
    marker: int
    doc_id: str
    title: str
    reference: str
    agency: str
    status: Status
    section: str
    section_title: str
    pages: tuple[int, ...]
    quote: str
    url: str
    score: float
    chunk_id: str = ""
    doc_type: str = ""
    jurisdiction: str = ""
    superseded_by: str | None = None
    version_note: str = ""  # "Superseded by ICH Q9(R1), ...", "Draft, ...: not for implementation; ..."


@dataclass(frozen=True)
class Answer:
    question: str
    status: AnswerStatus
    answer: str
    citations: tuple[Citation, ...]
    corpus_snapshot: str
    timings_ms: dict[str, float] = field(default_factory=dict)
    closest_documents: tuple[str, ...] = ()  # filled when status == "no_evidence"
    checklist: Checklist | None = None  # checkpoint-map rows when the question is about a checkpoint
    confidence: Confidence | None = None  # None when status == "no_evidence"
    not_addressed: tuple[str, ...] = ()  # subjects named that no indexed document addresses (kb.coverage)
    offline_documents: tuple[str, ...] = ()  # manifest ids of not-indexed documents that address them
    # values the question proposes (or "a period of time" it asks for) that no retrieved passage states
    unstated_values: tuple[str, ...] = ()


@dataclass(frozen=True)
class MapReference:
    """A checkpoint-map reference resolved against the manifest, with how its quote was checked."""

    doc_id: str
    title: str
    reference: str
    agency: str
    status: Status
    url: str
    section: str
    page: int | None
    quote: str | None
    note: str
    check: RefCheck
    superseded_by: str | None = None
    version_note: str = ""


@dataclass(frozen=True)
class ChecklistCheckpoint:
    id: str
    jurisdiction: str
    stage: str
    stage_title: str
    title: str
    requirement: str
    trigger: str
    procedure: str
    confidence: str
    last_verified: str
    references: tuple[MapReference, ...]
    failure_modes: tuple[str, ...]


@dataclass(frozen=True)
class ChecklistRow:
    """One evidence item as one checkpoint expects it: at which maturity level, where it sits, who owns it."""

    checkpoint_id: str
    jurisdiction: str
    stage: str
    item: str
    item_title: str
    level: str
    level_title: str
    level_rank: int  # 1 = least mature level of the item's scale
    level_count: int
    expectation: str
    owners: tuple[str, ...]
    dossier: str
    product_types: tuple[str, ...]
    confidence: str
    references: tuple[MapReference, ...]


@dataclass(frozen=True)
class Checklist:
    """Checkpoint-map rows for a question: a checkpoint's checklist, or one item's progression across checkpoints."""

    kind: Literal["checkpoint", "progression"]
    checkpoints: tuple[ChecklistCheckpoint, ...]
    rows: tuple[ChecklistRow, ...]
    matched: tuple[str, ...] = ()  # the question's words that selected these rows

    @property
    def jurisdictions(self) -> tuple[str, ...]:
        return tuple(sorted({c.jurisdiction for c in self.checkpoints}))
