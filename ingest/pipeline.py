"""Incremental ingestion: manifest -> parse -> sections -> chunks -> embeddings -> Chroma + BM25.

A re-run with nothing changed hashes the files, finds every document as it was, and returns without
loading the model or writing anything. A changed document is replaced, a document gone from the
manifest is removed from both indexes, and a document that cannot be read is reported and skipped.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from ingest.chunk import chunk_document, embedding_text
from ingest.fetch import file_sha256
from ingest.lessons import load_lessons
from ingest.manifest import load_manifest, resolve_document_path
from ingest.parse_pdf import parse_pdf
from ingest.parse_text import markdown_headings, parse_html, parse_markdown
from ingest.sections import find_headings
from kb.embedder import Embedder, Tokenizer
from kb.errors import IngestError
from kb.filters import chunk_metadata
from kb.index_files import (
    DocumentState,
    IndexPaths,
    IndexState,
    fingerprint,
    read_chunks,
    read_state,
    record_hash,
    remove_document_files,
    write_chunks,
    write_pages,
    write_state,
)
from kb.keyword_index import build_keyword_index, save_keyword_index
from kb.models import Chunk, DocumentRecord, Heading, ParsedDocument
from kb.settings import Settings
from kb.vector_store import VectorStore, drop_other_collections, open_chroma

__all__ = ["IngestReport", "SkippedDocument", "IngestDependencies", "ingest_corpus", "index_text"]


@dataclass(frozen=True)
class SkippedDocument:
    doc_id: str
    path: str
    reason: str


@dataclass(frozen=True)
class IngestReport:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[SkippedDocument] = field(default_factory=list)
    chunks_embedded: int = 0
    snapshot: str = ""
    seconds: float = 0.0
    embed_seconds: float = 0.0  # embedding stage: prefixes, encoding, vector-store writes

    @property
    def wrote(self) -> bool:
        return bool(self.added or self.replaced or self.removed)


@dataclass
class IngestDependencies:
    """How ingestion gets its heavy parts; tests pass fakes, production loads them lazily."""

    tokenizer: Callable[[], Tokenizer]
    embedder: Callable[[], Embedder]
    vector_store: Callable[[str], VectorStore]
    drop_stale_collections: Callable[[str], list[str]] = lambda keep: []

    @classmethod
    def production(cls, settings: Settings) -> IngestDependencies:
        from kb.embedder import SentenceTransformerEmbedder

        embedder: Callable[[], Embedder] = functools.cache(lambda: SentenceTransformerEmbedder(settings.embedding))
        return cls(
            # Chunking needs the model's tokenizer and embedding needs the model: load the model once for both.
            tokenizer=embedder,
            embedder=embedder,
            vector_store=lambda name: open_chroma(name, data_dir=settings.data_dir, url=settings.chroma_url),
            drop_stale_collections=lambda keep: drop_other_collections(
                keep, data_dir=settings.data_dir, url=settings.chroma_url, prefix=settings.collection_prefix
            ),
        )


@dataclass(frozen=True)
class _Planned:
    record: DocumentRecord
    path: Path
    sha256: str
    replacing: bool


def index_text(chunk: Chunk, record: DocumentRecord) -> str:
    """What BM25 sees: the same document/section prefix the embedding gets, uncut."""
    return f"{record.reference or record.title} {chunk.section} {chunk.section_title}\n{chunk.text}"


def ingest_corpus(
    settings: Settings,
    *,
    deps: IngestDependencies | None = None,
    rebuild: bool = False,
    progress: bool | None = None,
) -> IngestReport:
    began = time.perf_counter()
    deps = deps or IngestDependencies.production(settings)
    show = sys.stderr.isatty() if progress is None else progress
    paths = IndexPaths(settings.data_dir)
    sources = _sources(settings)
    state = read_state(paths)
    if rebuild or state is None or state.fingerprint != fingerprint(settings):
        state, rebuild = IndexState(fingerprint=fingerprint(settings)), True

    planned, unchanged, skipped = _plan(sources.documents, state)
    skipped = sources.skipped + skipped
    wanted = {r.id for r, _ in sources.documents}
    removed = sorted(doc_id for doc_id in state.documents if doc_id not in wanted)
    if not planned and not removed and not rebuild:
        if _refresh_version_notes(state, sources.documents):
            write_state(paths, state)
        return IngestReport(unchanged=unchanged, skipped=skipped, snapshot=state.snapshot, seconds=_since(began))

    parsed, parse_skips = _parse_all(planned, deps.tokenizer(), settings, show)
    skipped += parse_skips
    store = deps.vector_store(f"{settings.collection_prefix}-{state.collection_suffix}")
    embedded, embed_seconds = _embed_and_store(parsed, deps, store, settings, show)
    for doc_id in removed:
        store.delete_document(doc_id)
        remove_document_files(paths, doc_id)
        del state.documents[doc_id]
    for item, pages, chunks in parsed:
        write_pages(paths, item.record.id, pages)
        write_chunks(paths, item.record.id, chunks)
        state.documents[item.record.id] = DocumentState(
            sha256=item.sha256,
            record_hash=record_hash(item.record),
            record=asdict(item.record),
            pages=len(pages),
            chunks=len(chunks),
        )
    _refresh_version_notes(state, sources.documents)
    _rebuild_keyword_index(paths, state)
    write_state(paths, state)
    if rebuild:
        deps.drop_stale_collections(f"{settings.collection_prefix}-{state.collection_suffix}")
    done = [item for item, _, _ in parsed]
    return IngestReport(
        added=sorted(i.record.id for i in done if not i.replacing),
        replaced=sorted(i.record.id for i in done if i.replacing),
        removed=removed,
        unchanged=unchanged,
        skipped=skipped,
        chunks_embedded=embedded,
        snapshot=state.snapshot,
        seconds=_since(began),
        embed_seconds=round(embed_seconds, 3),
    )


def _refresh_version_notes(state: IndexState, documents: Sequence[tuple[DocumentRecord, Path]]) -> bool:
    """Bring the stored version notes up to the manifest's; True when one changed."""
    changed = False
    for record, _ in documents:
        known = state.documents.get(record.id)
        if known is not None and known.record.get("version_note", "") != record.version_note:
            state.documents[record.id] = replace(known, record={**known.record, "version_note": record.version_note})
            changed = True
    return changed


@dataclass(frozen=True)
class _Sources:
    documents: list[tuple[DocumentRecord, Path]]
    skipped: list[SkippedDocument]


def _sources(settings: Settings) -> _Sources:
    """The manifest's local documents and the internal lessons, each with its file; bad lessons are skipped."""
    manifest = [r for r in load_manifest(settings.manifest_path) if r.available_offline and r.file]
    documents = [(r, resolve_document_path(r, settings.corpus_path)) for r in manifest]
    lessons, problems = load_lessons(settings.lessons_dir)
    taken = {r.id for r, _ in documents}
    skipped = [SkippedDocument(p.path.stem, str(p.path), p.reason) for p in problems]
    for lesson in lessons:
        if lesson.record.id in taken:
            skipped.append(
                SkippedDocument(lesson.record.id, str(lesson.path), "id already used by a manifest document")
            )
        else:
            documents.append((lesson.record, lesson.path))
    return _Sources(documents, skipped)


def _plan(
    documents: Sequence[tuple[DocumentRecord, Path]], state: IndexState
) -> tuple[list[_Planned], list[str], list[SkippedDocument]]:
    planned, unchanged, skipped = [], [], []
    for record, path in documents:
        if not path.is_file():
            skipped.append(SkippedDocument(record.id, str(path), "file not found; run `regkb corpus fetch`"))
            continue
        digest = file_sha256(path)
        if record.sha256 and digest != record.sha256:
            reason = "sha256 differs from the manifest; fetch the listed version or update the manifest"
            skipped.append(SkippedDocument(record.id, str(path), reason))
            continue
        known = state.documents.get(record.id)
        if known and known.sha256 == digest and known.record_hash == record_hash(record):
            unchanged.append(record.id)
        else:
            planned.append(_Planned(record, path, digest, replacing=known is not None))
    return planned, unchanged, skipped


def _parse_all(
    planned: Sequence[_Planned], tokenizer: Tokenizer, settings: Settings, show: bool
) -> tuple[list[tuple[_Planned, tuple[str, ...], list[Chunk]]], list[SkippedDocument]]:
    from tqdm import tqdm

    parsed, skipped = [], []
    for item in tqdm(planned, desc="parse", unit="doc", disable=not show):
        try:
            doc, headings = _parse(item)
        except IngestError as exc:
            skipped.append(SkippedDocument(item.record.id, str(item.path), exc.reason))
            continue
        chunks = chunk_document(doc, headings, tokenizer, settings.chunking)
        parsed.append((item, doc.pages, chunks))
    return parsed, skipped


def _parse(item: _Planned) -> tuple[ParsedDocument, list[Heading]]:
    """PDF, Markdown or HTML, by the file's suffix."""
    suffix = item.path.suffix.lower()
    if suffix in {".md", ".markdown"}:
        doc = parse_markdown(item.path, item.record.id, title=item.record.title)
        return doc, markdown_headings(doc)
    if suffix in {".html", ".htm"}:
        doc = parse_html(item.path, item.record.id)
        return doc, markdown_headings(doc)
    doc = parse_pdf(item.path, item.record.id)
    return doc, find_headings(doc)


def _embed_and_store(
    parsed: Sequence[tuple[_Planned, tuple[str, ...], list[Chunk]]],
    deps: IngestDependencies,
    store: VectorStore,
    settings: Settings,
    show: bool,
) -> tuple[int, float]:
    """One encode call over every new chunk: batches stay full, which is what keeps throughput near raw."""
    if not parsed:
        return 0, 0.0
    embedder = deps.embedder()
    began = time.perf_counter()
    pairs = [(item.record, chunk) for item, _, chunks in parsed for chunk in chunks]
    texts = [embedding_text(c, r, embedder, settings.embedding.max_tokens) for r, c in pairs]
    vectors = embedder.embed_documents(texts, progress=show)
    for item, _, _ in parsed:
        store.delete_document(item.record.id)
    store.add(
        [c.chunk_id for _, c in pairs],
        vectors,
        [chunk_metadata(r, c) for r, c in pairs],
    )
    return len(pairs), time.perf_counter() - began


def _rebuild_keyword_index(paths: IndexPaths, state: IndexState) -> None:
    """BM25 statistics are corpus-wide, so the index is rebuilt whole (about a second for this corpus)."""
    ids, texts = [], []
    for doc_id, doc in sorted(state.documents.items()):
        record = doc.to_record()
        for chunk in read_chunks(paths, doc_id):
            ids.append(chunk.chunk_id)
            texts.append(index_text(chunk, record))
    save_keyword_index(build_keyword_index(ids, texts), paths.bm25)


def _since(began: float) -> float:
    return round(time.perf_counter() - began, 3)
