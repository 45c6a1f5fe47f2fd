"""The wired knowledge base: indexes loaded once, then search and ask as often as needed."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from functools import lru_cache

from kb.access import PUBLIC, SCOPES, Principal
from kb.answer import assess_evidence, build_answer
from kb.checkpoint_map import CheckpointMap
from kb.checkpoint_query import checklist_for_question
from kb.embedder import Embedder
from kb.errors import FilterError, NotFoundError
from kb.filters import Filters, validate_filters
from kb.glossary import Glossary, load_glossary
from kb.index_files import IndexPaths, IndexState, check_fingerprint, read_chunks, read_pages, read_state
from kb.keyword_index import KeywordIndex, load_keyword_index
from kb.models import Answer, Checklist, Chunk, DocumentRecord, Passage
from kb.retrieve import retrieve
from kb.settings import Settings
from kb.vector_store import VectorStore, open_chroma

__all__ = ["KnowledgeBase", "open_knowledge_base", "CHECKLIST_ONLY_TEXT"]

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
    _pages: dict[str, list[str]] = field(default_factory=dict)

    @property
    def corpus_snapshot(self) -> str:
        return self.state.snapshot

    def visible_records(self, principal: Principal = PUBLIC) -> dict[str, DocumentRecord]:
        return {doc_id: r for doc_id, r in self.records.items() if principal.can_see(r)}

    def search(
        self, query: str, *, filters: Filters | None = None, k: int | None = None, principal: Principal = PUBLIC
    ) -> list[Passage]:
        """Ranked passages from the documents `principal` may see (filtered inside both stores)."""
        query = _checked_question(query)
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
        answer = build_answer(
            question.strip(),
            passages,
            page_text=self.page_text,
            settings=self.settings.answer,
            corpus_snapshot=self.corpus_snapshot,
            evidence_ok=assess_evidence(
                question, passages, self.settings.answer, absent_terms=self.absent_terms_in(question, principal)
            ),
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

    def absent_terms_in(self, question: str, principal: Principal = PUBLIC) -> list[str]:
        absent = self.absent_terms.get(principal.visibility[-1], frozenset())
        return [t.term for t in self.glossary.mentioned(question) if t.term in absent]

    def page_for(self, principal: Principal, doc_id: str, page: int) -> str:
        """A page for a caller: a document it may not see is reported exactly like one that does not exist."""
        record = self.records.get(doc_id)
        if record is None or not principal.can_see(record):
            raise NotFoundError(f"document {doc_id!r} is not indexed; `regkb docs` lists the indexed documents")
        return self.page_text(doc_id, page)

    def page_text(self, doc_id: str, page: int) -> str:
        if doc_id not in self.records:
            raise NotFoundError(f"document {doc_id!r} is not indexed; `regkb docs` lists the indexed documents")
        if doc_id not in self._pages:
            self._pages[doc_id] = read_pages(self.paths, doc_id)
        pages = self._pages[doc_id]
        if not 1 <= page <= len(pages):
            raise NotFoundError(f"document {doc_id!r} has pages 1-{len(pages)}; page {page} does not exist")
        return pages[page - 1]


def _checked_question(question: str) -> str:
    question = question.strip()
    if not question:
        raise FilterError("the question is empty; ask something, e.g. 'What are the stages of process validation?'")
    return question


def open_knowledge_base(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    store: VectorStore | None = None,
    checkpoint_map: CheckpointMap | None = None,
) -> KnowledgeBase:
    """Load the index built by `regkb ingest`; refuses one built with other settings.

    `checkpoint_map` (ingest.catalog.load_checkpoints) lets `ask` answer checkpoint questions with
    the map's checklist besides the retrieved passages.
    """
    paths = IndexPaths(settings.data_dir)
    state = check_fingerprint(read_state(paths), settings, paths)
    records = {doc_id: doc.to_record() for doc_id, doc in state.documents.items()}
    chunks = {c.chunk_id: c for doc_id in sorted(records) for c in read_chunks(paths, doc_id)}
    if embedder is None:
        embedder = _default_embedder(settings)
    if store is None:
        name = f"{settings.collection_prefix}-{state.collection_suffix}"
        store = open_chroma(name, data_dir=settings.data_dir, url=settings.chroma_url)
    glossary = load_glossary(settings.glossary_path)
    return KnowledgeBase(
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
