"""Incremental ingestion: manifest -> parse -> sections -> chunks -> embeddings -> Chroma + BM25.

A re-run with nothing changed hashes the files, finds every document as it was, and returns without
loading the model or writing anything. A changed document is replaced, a document gone from the
manifest is removed from both indexes, and a document that cannot be read is reported and skipped.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from ingest.chunk import chunk_document, embedding_text
from ingest.fetch import file_sha256
from ingest.lessons import load_lessons
from ingest.lock import ingest_lock
from ingest.parse_pdf import parse_pdf
from ingest.parse_text import markdown_headings, parse_html, parse_markdown
from ingest.sections import find_headings
from kb.embedder import Embedder, Tokenizer
from kb.errors import BackendError, IngestError, RegkbError
from kb.filters import chunk_metadata
from kb.index_files import (
    DocumentState,
    IndexPaths,
    IndexState,
    collection_name,
    fingerprint,
    new_generation_id,
    read_chunks,
    read_state,
    record_hash,
    write_chunks,
    write_pages,
    write_state,
)
from kb.keyword_index import build_keyword_index, load_keyword_index, save_keyword_index
from kb.manifest import load_manifest, resolve_document_path
from kb.models import Chunk, DocumentRecord, Heading, ParsedDocument
from kb.settings import Settings
from kb.vector_store import ChromaCatalog, VectorCatalog, VectorStore

__all__ = ["IngestReport", "SkippedDocument", "IngestDependencies", "ingest_corpus", "index_text"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SkippedDocument:
    doc_id: str
    path: str
    reason: str
    sha256: str = ""  # set when the file itself is unreadable: remembered so it is not parsed again


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
    repaired: list[str] = field(default_factory=list)  # documents redone because the stored index lacked them

    @property
    def wrote(self) -> bool:
        return bool(self.added or self.replaced or self.removed)


@dataclass
class IngestDependencies:
    """How ingestion gets its heavy parts; tests pass fakes, production loads them lazily."""

    tokenizer: Callable[[], Tokenizer]
    embedder: Callable[[], Embedder]
    catalog: Callable[[], VectorCatalog]

    @classmethod
    def production(cls, settings: Settings) -> IngestDependencies:
        from kb.embedder import SentenceTransformerEmbedder

        embedder: Callable[[], Embedder] = functools.cache(lambda: SentenceTransformerEmbedder(settings.embedding))
        return cls(
            # Chunking needs the model's tokenizer and embedding needs the model: load the model once for both.
            tokenizer=embedder,
            embedder=embedder,
            catalog=lambda: ChromaCatalog(data_dir=settings.data_dir, url=settings.chroma_url),
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
    wait_seconds: float = 0.0,
) -> IngestReport:
    """Bring the index up to the corpus. Holds the data dir's lock; a second ingest waits up to
    `wait_seconds`, then is refused (IngestBusyError)."""
    paths = IndexPaths(settings.data_dir)
    with ingest_lock(paths.lock, wait_seconds=wait_seconds):
        return _ingest(settings, paths, deps or IngestDependencies.production(settings), rebuild, progress)


def _ingest(
    settings: Settings, paths: IndexPaths, deps: IngestDependencies, rebuild: bool, progress: bool | None
) -> IngestReport:
    began = time.perf_counter()
    show = sys.stderr.isatty() if progress is None else progress
    sources = _sources(settings)
    catalog = deps.catalog()
    published = read_state(paths)
    fresh = rebuild or published is None or not published.generation or published.fingerprint != fingerprint(settings)
    base = IndexState(fingerprint=fingerprint(settings)) if fresh or published is None else published
    damage = _Damage() if fresh else _reconcile(paths.at(base.generation), base, catalog, settings)
    planned, unchanged, skipped, held = _plan(sources.documents, base, damage.documents)
    skipped = sources.skipped + skipped
    wanted = {r.id for r, _ in sources.documents}
    removed = sorted(doc_id for doc_id in base.documents if doc_id not in wanted)
    if not planned and not removed and not fresh and damage.clean:
        changed = _refresh_version_notes(base, sources.documents) | _remember_unreadable(base, skipped, wanted)
        if changed:
            write_state(paths, base)
        _drop_leftovers(paths, catalog, settings, keep={base.generation, base.previous})
        return IngestReport(unchanged=unchanged, skipped=skipped, snapshot=base.snapshot, seconds=_since(began))

    generation = new_generation_id()
    target = paths.at(generation)
    store = catalog.open(collection_name(settings.collection_prefix, generation))
    state = IndexState(
        fingerprint=base.fingerprint,
        generation=generation,
        previous=published.generation if published else "",
        unreadable=dict(base.unreadable),
    )
    parsed, parse_skips = _parse_all(planned, deps.tokenizer, settings, show)
    skipped += parse_skips
    # A document whose new file cannot be read keeps its indexed version rather than vanishing.
    kept_old = [s.doc_id for s in parse_skips if s.doc_id in base.documents and s.doc_id not in damage.documents]
    carried = [doc_id for doc_id in unchanged + held + kept_old if doc_id in base.documents]
    if carried:
        _carry_over(
            carried,
            base,
            paths.at(base.generation),
            target,
            catalog.open(base.collection(settings.collection_prefix)),
            store,
            state,
        )
    embedded, embed_seconds = _embed_and_store(parsed, deps, store, settings, show)
    for item, pages, chunks in parsed:
        write_pages(target, item.record.id, pages)
        write_chunks(target, item.record.id, chunks)
        state.documents[item.record.id] = DocumentState(
            sha256=item.sha256,
            record_hash=record_hash(item.record),
            record=asdict(item.record),
            pages=len(pages),
            chunks=len(chunks),
        )
        state.unreadable.pop(item.record.id, None)
    _refresh_version_notes(state, sources.documents)
    _remember_unreadable(state, skipped, wanted)
    _rebuild_keyword_index(target, state)
    expected = sum(d.chunks for d in state.documents.values())
    if store.count() != expected:
        raise BackendError(
            f"the new index holds {store.count()} vectors for {expected} chunks; nothing was published, "
            "the served index is unchanged; run `regkb ingest` again"
        )
    write_state(paths, state)  # the publication: from here on readers open the new generation
    _drop_leftovers(paths, catalog, settings, keep={state.generation, state.previous})
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
        repaired=sorted(damage.documents),
    )


@dataclass(frozen=True)
class _Damage:
    """What the published generation lacks: documents to redo, and whether stray vectors or a bad
    keyword index make a new generation necessary even when no document changed."""

    documents: frozenset[str] = frozenset()
    strays: int = 0
    keyword_index_ok: bool = True

    @property
    def clean(self) -> bool:
        return not self.documents and not self.strays and self.keyword_index_ok


def _reconcile(paths: IndexPaths, state: IndexState, catalog: VectorCatalog, settings: Settings) -> _Damage:
    """Check the published generation's vectors, chunk and page files and keyword index against its
    state; whatever differs is redone by this ingest. Costs no model load: ids and files only."""
    name = state.collection(settings.collection_prefix)
    stored = catalog.open(name).ids() if name in catalog.names() else set()
    broken, expected = set(), set()
    for doc_id, doc in state.documents.items():
        try:
            ids = {c.chunk_id for c in read_chunks(paths, doc_id)}
            pages_ok = paths.pages(doc_id).is_file()
        except (OSError, ValueError, KeyError, TypeError):
            ids, pages_ok = set(), False
        expected |= ids
        if not pages_ok or len(ids) != doc.chunks or not ids <= stored:
            broken.add(doc_id)
    try:
        keyword_ok = sorted(load_keyword_index(paths.bm25).chunk_ids) == sorted(expected)
    except (RegkbError, OSError, ValueError):
        keyword_ok = False
    damage = _Damage(frozenset(broken), len(stored - expected), keyword_ok)
    if not damage.clean:
        log.warning(
            "index %s damaged: %d documents incomplete, %d stray vectors, keyword index %s; repairing",
            paths.folder,
            len(broken),
            damage.strays,
            "ok" if keyword_ok else "inconsistent",
        )
    return damage


def _carry_over(
    doc_ids: Sequence[str],
    base: IndexState,
    source: IndexPaths,
    target: IndexPaths,
    old_store: VectorStore,
    store: VectorStore,
    state: IndexState,
) -> None:
    """Unchanged documents move into the new generation as they are: files copied, vectors copied
    from the published collection (no re-embedding)."""
    for doc_id in doc_ids:
        wanted = {c.chunk_id for c in read_chunks(source, doc_id)}
        vectors = old_store.document(doc_id)
        keep = [i for i, chunk_id in enumerate(vectors.ids) if chunk_id in wanted]
        store.add([vectors.ids[i] for i in keep], vectors.embeddings[keep], [vectors.metadatas[i] for i in keep])
        for name in (source.pages(doc_id), source.chunks(doc_id)):
            destination = target.folder / name.parent.name / name.name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(name, destination)
        state.documents[doc_id] = base.documents[doc_id]


def _drop_leftovers(paths: IndexPaths, catalog: VectorCatalog, settings: Settings, *, keep: set[str]) -> None:
    """Generations neither published nor kept for servers still on the previous one: what a killed
    ingest left, or what a publication retired. Also the files of the layout before generations."""
    keep = {g for g in keep if g}
    prefix = f"{settings.collection_prefix}-"
    for name in catalog.names():
        if name.startswith(prefix) and name[len(prefix) :] not in keep:
            catalog.drop(name)
    if paths.generations.is_dir():
        for folder in paths.generations.iterdir():
            if folder.name not in keep:
                shutil.rmtree(folder, ignore_errors=True)
    for legacy in ("pages", "chunks", "bm25", "bm25.tmp", "bm25.old"):
        shutil.rmtree(paths.root / legacy, ignore_errors=True)


def _remember_unreadable(state: IndexState, skipped: Sequence[SkippedDocument], wanted: set[str]) -> bool:
    """Unreadable files by sha256, so the next plain ingest reports them without parsing (or loading the
    model) again; True when the record changed."""
    before = dict(state.unreadable)
    state.unreadable = {doc_id: bad for doc_id, bad in state.unreadable.items() if doc_id in wanted}
    for skip in skipped:
        if skip.sha256:
            state.unreadable[skip.doc_id] = {"sha256": skip.sha256, "reason": skip.reason}
    return state.unreadable != before


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
    documents: Sequence[tuple[DocumentRecord, Path]], state: IndexState, damaged: frozenset[str]
) -> tuple[list[_Planned], list[str], list[SkippedDocument], list[str]]:
    """What to parse, what is indexed as it is, what to skip, and which indexed documents keep their
    stored version because their current file is one already found unreadable."""
    planned, unchanged, skipped, held = [], [], [], []
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
        bad = state.unreadable.get(record.id)
        if known and record.id not in damaged and known.sha256 == digest and known.record_hash == record_hash(record):
            unchanged.append(record.id)
        elif bad and bad["sha256"] == digest:
            skipped.append(SkippedDocument(record.id, str(path), bad["reason"], digest))
            if known and record.id not in damaged:
                held.append(record.id)
        else:
            planned.append(_Planned(record, path, digest, replacing=known is not None))
    return planned, unchanged, skipped, held


def _parse_all(
    planned: Sequence[_Planned], tokenizer: Callable[[], Tokenizer], settings: Settings, show: bool
) -> tuple[list[tuple[_Planned, tuple[str, ...], list[Chunk]]], list[SkippedDocument]]:
    from tqdm import tqdm

    parsed, skipped = [], []
    results = _parsed_in_parallel(planned, settings) if _parse_workers(planned, settings) > 1 else None
    for i, item in enumerate(tqdm(planned, desc="parse", unit="doc", disable=not show)):
        outcome = results[i] if results is not None else _parse_or_reason(item)
        if isinstance(outcome, str):
            skipped.append(SkippedDocument(item.record.id, str(item.path), outcome, item.sha256))
            continue
        doc, headings = outcome
        chunks = chunk_document(doc, headings, tokenizer(), settings.chunking)
        parsed.append((item, doc.pages, chunks))
    return parsed, skipped


# Below this many documents the worker processes' start-up (imports) costs more than it saves.
_PARALLEL_FROM = 4


def _parse_workers(planned: Sequence[_Planned], settings: Settings) -> int:
    if len(planned) < _PARALLEL_FROM:
        return 1
    return min(len(planned), settings.ingest_workers or os.cpu_count() or 1)


def _parsed_in_parallel(
    planned: Sequence[_Planned], settings: Settings
) -> list[tuple[ParsedDocument, list[Heading]] | str]:
    """pypdf is pure Python and single-threaded: parse documents in worker processes (spawned, never forked
    from a process that holds the model's threads), largest first so the pool finishes together."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    order = sorted(range(len(planned)), key=lambda i: -planned[i].path.stat().st_size)
    results: list[tuple[ParsedDocument, list[Heading]] | str] = [""] * len(planned)
    workers = _parse_workers(planned, settings)
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {i: pool.submit(_parse_or_reason, planned[i]) for i in order}
        for i, future in futures.items():
            results[i] = future.result()
    return results


def _parse_or_reason(item: _Planned) -> tuple[ParsedDocument, list[Heading]] | str:
    """The parsed document, or why it cannot be read (a string crosses process boundaries; IngestError,
    with its own constructor, does not unpickle)."""
    try:
        return _parse(item)
    except IngestError as exc:
        return exc.reason


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
