"""The corpus as a caller sees it: one listing of documents, stored pages with their links, the checkpoint map.

Both the loaded knowledge base (`KnowledgeBase.documents`) and the light CLI commands that need no
model (`regkb docs`, `regkb checkpoints`) read through these functions, so they list the same things.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from kb.access import Principal
from kb.checkpoint_map import CheckpointMap, load_checkpoint_map
from kb.index_files import IndexPaths, IndexState, published_paths, read_pages, read_state
from kb.manifest import load_manifest, resolve_document_path
from kb.models import DocumentRecord
from kb.settings import Settings

__all__ = [
    "DocumentStatus",
    "PageView",
    "check_servable",
    "document_rows",
    "list_documents",
    "load_checkpoints",
    "page_url",
    "stored_page_text",
]


@dataclass(frozen=True)
class DocumentStatus:
    record: DocumentRecord
    present: bool  # the file is in the corpus folder (an indexed lesson counts as present)
    indexed: bool
    pages: int | None
    chunks: int


@dataclass(frozen=True)
class PageView:
    """One stored page for the source viewer, with the official URL opened at that page."""

    record: DocumentRecord
    page: int
    pages: int
    text: str

    @property
    def url(self) -> str:
        return page_url(self.record, self.page)


def page_url(record: DocumentRecord, page: int) -> str:
    """The document's URL opened at a 1-based PDF page (`#page=`, which PDF viewers follow)."""
    return f"{record.url.split('#', 1)[0]}#page={page}"


def published_state(paths: IndexPaths) -> IndexState | None:
    """The served index; one written before generations is not served (`regkb ingest` rebuilds it)."""
    state = read_state(paths)
    return state if state is not None and state.generation else None


def document_rows(
    catalogue: Mapping[str, DocumentRecord],
    state: IndexState | None,
    principal: Principal,
    *,
    settings: Settings,
) -> list[DocumentStatus]:
    """Every manifest document `principal` may see, then the indexed documents the manifest does not
    list (internal lessons) that it may see; nothing else is named or counted."""
    indexed = state.documents if state else {}
    rows = []
    for record in catalogue.values():
        if not principal.can_see(record):
            continue
        present = bool(record.file) and resolve_document_path(record, settings.corpus_path).is_file()
        known = indexed.get(record.id)
        pages = known.pages if known else record.pages
        rows.append(DocumentStatus(record, present, known is not None, pages, known.chunks if known else 0))
    for doc_id in sorted(set(indexed) - set(catalogue)):
        known = indexed[doc_id]
        record = known.to_record()
        if principal.can_see(record):
            rows.append(DocumentStatus(record, present=True, indexed=True, pages=known.pages, chunks=known.chunks))
    return rows


def list_documents(settings: Settings, principal: Principal) -> list[DocumentStatus]:
    """The listing without loading the model: the manifest and the published index state."""
    catalogue = {r.id: r for r in load_manifest(settings.manifest_path)}
    return document_rows(catalogue, published_state(IndexPaths(settings.data_dir)), principal, settings=settings)


def load_checkpoints(settings: Settings, catalogue: Mapping[str, DocumentRecord] | None = None) -> CheckpointMap:
    """The checkpoint map, cross-checked against the corpus manifest."""
    if catalogue is None:
        catalogue = {r.id: r for r in load_manifest(settings.manifest_path)}
    return load_checkpoint_map(settings.checkpoints_dir, catalogue)


def stored_page_text(settings: Settings) -> Callable[[str, int], str | None] | None:
    """Page text as ingestion stored it, for checking map quotes; None when nothing is indexed yet."""
    state = published_state(IndexPaths(settings.data_dir))
    if state is None:
        return None
    paths = IndexPaths(settings.data_dir).at(state.generation)
    cache: dict[str, list[str]] = {}

    def page_text(doc_id: str, page: int) -> str | None:
        if doc_id not in state.documents:
            return None
        pages = cache.setdefault(doc_id, read_pages(paths, doc_id))
        return pages[page - 1] if 1 <= page <= len(pages) else None

    return page_text


def check_servable(settings: Settings) -> None:
    """What a server checks before its workers start: a published index built with these settings and a
    checkpoint map that loads (each raises a RegkbError naming the fix)."""
    published_paths(settings)
    load_checkpoints(settings)
