"""The wired knowledge base: indexes loaded once, then search and ask as often as needed."""

from __future__ import annotations

import dataclasses
import time
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from kb.access import PUBLIC, SCOPES, Principal
from kb.answer import build_answer
from kb.catalog import DocumentStatus, PageView, document_rows, load_checkpoints
from kb.checkpoint_map import CheckpointMap
from kb.checkpoint_query import checklist_for_options, checklist_for_question
from kb.coverage import CoverageGap, coverage_gap, unaddressed_terms
from kb.embedder import Embedder
from kb.errors import FilterError, InvalidTextError, NotFoundError
from kb.evidence import assess_confidence, unstated_values
from kb.filters import Filters, validate_filters
from kb.glossary import Glossary, load_glossary
from kb.index_files import IndexPaths, IndexState, published_paths, read_chunks, read_pages
from kb.keyword_index import KeywordIndex, load_keyword_index
from kb.manifest import load_manifest
from kb.models import Answer, Checklist, Chunk, DocumentRecord, Passage
from kb.retrieve import retrieve
from kb.settings import Settings
from kb.vector_store import VectorStore, open_chroma

__all__ = [
    "KnowledgeBase",
    "open_knowledge_base",
    "checked_question",
    "checked_text",
    "CHECKLIST_ONLY_TEXT",
]

# `status` speaks for the retrieved passages; when only the checkpoint map answers, the text says so.
CHECKLIST_ONLY_TEXT = (
    "The checkpoint map's checklist answers this question from its references; those not available "
    "offline were not checked against local text."
)


@dataclass
class KnowledgeBase:
    settings: Settings
    state: IndexState
    records: dict[str, DocumentRecord]
    chunks: dict[str, Chunk]
    embedder: Embedder
    store: VectorStore
    keyword_index: KeywordIndex
    paths: IndexPaths
    glossary: Glossary
    # Glossary terms no chunk or title a principal may see mentions, by the principal's highest scope: a
    # public caller's answers must not change because an internal lesson mentions a term.
    absent_terms: dict[str, frozenset[str]]
    checkpoint_map: CheckpointMap | None = None
    # Every manifest entry, indexed or not, and the glossary terms with `covered_by` documents that no
    # document a scope may see addresses (kb.coverage): an answer names what the corpus does not cover.
    catalogue: dict[str, DocumentRecord] = field(default_factory=dict)
    unaddressed_terms: dict[str, frozenset[str]] = field(default_factory=dict)
    _pages: dict[str, list[str]] = field(default_factory=dict)

    @property
    def corpus_snapshot(self) -> str:
        return self.state.snapshot

    @property
    def generation(self) -> str:
        return self.state.generation

    def visible_records(self, principal: Principal = PUBLIC) -> dict[str, DocumentRecord]:
        return {doc_id: r for doc_id, r in self.records.items() if principal.can_see(r)}

    def search(
        self, query: str, *, filters: Filters | None = None, k: int | None = None, principal: Principal = PUBLIC
    ) -> list[Passage]:
        """Ranked passages from the documents `principal` may see (filtered inside both stores)."""
        query = checked_question(query, self.settings)
        checked = validate_filters(filters or Filters(), list(self.visible_records(principal).values()))
        return retrieve(
            query,
            dataclasses.replace(checked, visibility=principal.visibility),
            k=k or self.settings.retrieval.top_k,
            embedder=self.embedder,
            store=self.store,
            keyword_index=self.keyword_index,
            chunks=self.chunks,
            records=self.records,
            settings=self.settings.retrieval,
            glossary=self.glossary,
        )

    def ask(
        self, question: str, *, filters: Filters | None = None, k: int | None = None, principal: Principal = PUBLIC
    ) -> Answer:
        began = time.perf_counter()
        passages = self.search(question, filters=filters, k=k, principal=principal)
        retrieved = time.perf_counter()
        confidence = assess_confidence(
            question,
            passages,
            self.settings.answer,
            absent_terms=self.absent_terms_in(question, principal),
            unaddressed_terms=self.unaddressed_terms_in(question, principal),
            glossary=self.glossary,
        )
        gap = self.coverage_gap(question, principal)
        answer = build_answer(
            question.strip(),
            passages,
            page_text=self.page_text,
            settings=self.settings.answer,
            corpus_snapshot=self.corpus_snapshot,
            evidence_ok=confidence is not None and not (gap and gap.named),
            confidence=confidence or "high",
            gap=gap,
            unstated=unstated_values(question, passages),
        )
        answered = time.perf_counter()
        checklist = self.checklist(question, filters=filters)
        done = time.perf_counter()
        timings = {
            "retrieve": round((retrieved - began) * 1000, 2),
            "answer": round((answered - retrieved) * 1000, 2),
            "checkpoints": round((done - answered) * 1000, 2),
            "total": round((done - began) * 1000, 2),
        }
        if checklist is not None and answer.status == "no_evidence":
            answer = dataclasses.replace(answer, answer=f"{answer.answer} {CHECKLIST_ONLY_TEXT}")
        return dataclasses.replace(answer, timings_ms=timings, checklist=checklist)

    def checklist(self, question: str, *, filters: Filters | None = None) -> Checklist | None:
        """The checkpoint map's rows for a checkpoint question; None for other questions or without a map."""
        if self.checkpoint_map is None:
            return None
        return checklist_for_question(
            question,
            self.checkpoint_map,
            page_text=self.stored_page,
            jurisdictions=tuple(j.upper() for j in filters.jurisdiction) if filters else (),
        )

    def stored_page(self, doc_id: str, page: int) -> str | None:
        """Stored page text, or None when the document is not indexed or has no such page."""
        if doc_id not in self.records:
            return None  # listed in the manifest but not indexed: nothing to check the quote against
        try:
            return self.page_text(doc_id, page)
        except FilterError:
            return None

    def coverage_gap(self, question: str, principal: Principal = PUBLIC) -> CoverageGap | None:
        """The subjects the question names that no document `principal` may see addresses, with the
        manifest's not-indexed documents that do."""
        unaddressed = self.unaddressed_terms.get(principal.visibility[-1], frozenset())
        return coverage_gap(question, self.glossary, unaddressed, self.catalogue, self.records)

    def absent_terms_in(self, question: str, principal: Principal = PUBLIC) -> list[str]:
        """Glossary terms of the question no text `principal` may see mentions."""
        absent = self.absent_terms.get(principal.visibility[-1], frozenset())
        return [t.term for t in self.glossary.mentioned(question) if t.term in absent]

    def unaddressed_terms_in(self, question: str, principal: Principal = PUBLIC) -> list[str]:
        """Glossary terms of the question that texts `principal` may see mention but no document addresses."""
        scope = principal.visibility[-1]
        unaddressed = self.unaddressed_terms.get(scope, frozenset()) - self.absent_terms.get(scope, frozenset())
        return [t.term for t in self.glossary.mentioned(question) if t.term in unaddressed]

    def documents(self, principal: Principal = PUBLIC) -> list[DocumentStatus]:
        """The manifest's documents and the indexed lessons `principal` may see, as this index has them:
        one listing for `regkb docs` and `/v1/documents`."""
        return document_rows(self.catalogue, self.state, principal, settings=self.settings)

    def page(self, principal: Principal, doc_id: str, page: int) -> PageView:
        """A stored page for a caller, with its URL: a document it may not see is reported exactly like
        one that does not exist."""
        record = self.records.get(doc_id)
        if record is None or not principal.can_see(record):
            raise NotFoundError(f"document {doc_id!r} is not indexed; `regkb docs` lists the indexed documents")
        text = self.page_text(doc_id, page)
        return PageView(record=record, page=page, pages=self.state.documents[doc_id].pages, text=text)

    def checklist_for(
        self,
        *,
        jurisdiction: str = "both",
        stages: tuple[str, ...] = (),
        product_types: tuple[str, ...] = (),
        roles: tuple[str, ...] = (),
        items: tuple[str, ...] = (),
        checkpoint_ids: tuple[str, ...] = (),
    ) -> Checklist:
        """The checkpoint map filtered by its own vocabulary (HTTP `/v1/checkpoints`, Slack `/regkb-checklist`),
        with local quotes checked on this index's pages."""
        if self.checkpoint_map is None:
            raise NotFoundError("no checkpoint map is loaded (REGKB_CHECKPOINTS_DIR)")
        return checklist_for_options(
            self.checkpoint_map,
            page_text=self.stored_page,
            jurisdiction=jurisdiction,
            stages=stages,
            product_types=product_types,
            roles=roles,
            items=items,
            checkpoint_ids=checkpoint_ids,
        )

    def page_text(self, doc_id: str, page: int) -> str:
        if doc_id not in self.records:
            raise NotFoundError(f"document {doc_id!r} is not indexed; `regkb docs` lists the indexed documents")
        if doc_id not in self._pages:
            self._pages[doc_id] = read_pages(self.paths, doc_id)
        pages = self._pages[doc_id]
        if not 1 <= page <= len(pages):
            raise NotFoundError(f"document {doc_id!r} has pages 1-{len(pages)}; page {page} does not exist")
        return pages[page - 1]


def checked_text(text: str, what: str = "the question") -> str:
    """Text as the core accepts it from any shell: valid Unicode, no control characters but tab and
    line breaks (a lone surrogate would fail later, in a log line or an encoder, as a 500)."""
    for position, char in enumerate(text):
        category = unicodedata.category(char)
        if category == "Cs" or (category == "Cc" and char not in "\t\n\r"):
            kind = "a lone surrogate (invalid Unicode)" if category == "Cs" else "a control character"
            raise InvalidTextError(
                f"{what} contains {kind}, U+{ord(char):04X}, at position {position}; send plain UTF-8 text"
            )
    return text


def checked_question(question: str, settings: Settings) -> str:
    """Non-empty, valid text, within REGKB_API__MAX_QUESTION_CHARS: the same rule for HTTP, Slack and CLI."""
    question = checked_text(question).strip()
    if not question:
        raise FilterError("the question is empty; ask something, e.g. 'What are the stages of process validation?'")
    limit = settings.api.max_question_chars
    if len(question) > limit:
        raise FilterError(
            f"the question has {len(question)} characters; the limit is {limit} (REGKB_API__MAX_QUESTION_CHARS)"
        )
    return question


def open_knowledge_base(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    store: VectorStore | None = None,
    checkpoint_map: CheckpointMap | None = None,
    checkpoints: bool = True,
    catalogue: dict[str, DocumentRecord] | None = None,
) -> KnowledgeBase:
    """The one place the knowledge base is built: the index published by `regkb ingest` (refused when
    built with other settings), the manifest, the glossary and the checkpoint map.

    The checkpoint map (settings.checkpoints_dir, cross-checked against the manifest) lets `ask` answer
    checkpoint questions with its checklist besides the retrieved passages; `checkpoint_map` passes a
    loaded one, `checkpoints=False` opens without a map. `catalogue` (default: the manifest at
    settings.manifest_path) names the documents that are not indexed, for what the corpus does not cover.
    `embedder` and `store` replace the model and Chroma (tests pass fakes).
    """
    state, paths = published_paths(settings)
    if catalogue is None:
        catalogue = {r.id: r for r in load_manifest(settings.manifest_path)}
    if checkpoint_map is None and checkpoints:  # a broken map stops here, before the model loads
        checkpoint_map = load_checkpoints(settings, catalogue)
    glossary = load_glossary(settings.glossary_path)
    records = {doc_id: doc.to_record() for doc_id, doc in state.documents.items()}
    chunks = {c.chunk_id: c for doc_id in sorted(records) for c in read_chunks(paths, doc_id)}
    if embedder is None:
        embedder = _default_embedder(settings)
    if store is None:
        store = open_chroma(
            state.collection(settings.collection_prefix), data_dir=settings.data_dir, url=settings.chroma_url
        )
    # Aliases are query-time names: the manifest's current ones, whatever the index was built with.
    records = {
        doc_id: dataclasses.replace(r, aliases=catalogue[doc_id].aliases) if doc_id in catalogue else r
        for doc_id, r in records.items()
    }
    return KnowledgeBase(
        catalogue=catalogue,
        unaddressed_terms=unaddressed_terms(glossary, chunks, records),
        glossary=glossary,
        absent_terms=_absent_terms(glossary, chunks, records),
        settings=settings,
        state=state,
        records=records,
        chunks=chunks,
        embedder=embedder,
        store=store,
        keyword_index=load_keyword_index(paths.bm25),
        paths=paths,
        checkpoint_map=checkpoint_map,
    )


def _absent_terms(
    glossary: Glossary, chunks: dict[str, Chunk], records: dict[str, DocumentRecord]
) -> dict[str, frozenset[str]]:
    absent = {}
    for level, scope in enumerate(SCOPES):
        seen = set(SCOPES[: level + 1])
        texts = [c.text for c in chunks.values() if records[c.doc_id].visibility in seen]
        texts += [f"{r.title} {r.reference}" for r in records.values() if r.visibility in seen]
        absent[scope] = frozenset(glossary.absent_from(texts))
    return absent


@lru_cache(maxsize=2)
def _cached_embedder(embedding_settings_json: str) -> Embedder:
    from kb.embedder import SentenceTransformerEmbedder
    from kb.settings import EmbeddingSettings

    return SentenceTransformerEmbedder(EmbeddingSettings.model_validate_json(embedding_settings_json))


def _default_embedder(settings: Settings) -> Embedder:
    """One model per process, however many knowledge bases are opened (tests open several)."""
    return _cached_embedder(settings.embedding.model_dump_json())
