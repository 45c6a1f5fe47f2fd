"""The corpus as a user sees it: every manifest document with its status and whether it is indexed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kb.checkpoint_map import CheckpointMap, load_checkpoint_map
from kb.index_files import IndexPaths, IndexState, read_pages, read_state
from kb.manifest import load_manifest, resolve_document_path
from kb.models import DocumentRecord
from kb.settings import Settings

__all__ = ["DocumentStatus", "list_documents", "load_checkpoints", "stored_page_text"]


@dataclass(frozen=True)
class DocumentStatus:
    record: DocumentRecord
    present: bool  # the file is in the corpus folder
    indexed: bool
    pages: int | None
    chunks: int


def _published(paths: IndexPaths) -> IndexState | None:
    """The served index; one written before generations is not served (`regkb ingest` rebuilds it)."""
    state = read_state(paths)
    return state if state is not None and state.generation else None


def list_documents(settings: Settings) -> list[DocumentStatus]:
    state = _published(IndexPaths(settings.data_dir))
    indexed = state.documents if state else {}
    rows = []
    for record in load_manifest(settings.manifest_path):
        present = bool(record.file) and resolve_document_path(record, settings.corpus_path).is_file()
        known = indexed.get(record.id)
        rows.append(
            DocumentStatus(
                record=record,
                present=present,
                indexed=known is not None,
                pages=known.pages if known else record.pages,
                chunks=known.chunks if known else 0,
            )
        )
    return rows


def load_checkpoints(settings: Settings) -> CheckpointMap:
    """The checkpoint map, cross-checked against the corpus manifest."""
    return load_checkpoint_map(settings.checkpoints_dir, {r.id: r for r in load_manifest(settings.manifest_path)})


def stored_page_text(settings: Settings) -> Callable[[str, int], str | None] | None:
    """Page text as ingestion stored it, for checking map quotes; None when nothing is indexed yet."""
    state = _published(IndexPaths(settings.data_dir))
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
