"""The corpus as a user sees it: every manifest document with its status and whether it is indexed."""

from __future__ import annotations

from dataclasses import dataclass

from ingest.manifest import load_manifest, resolve_document_path
from kb.index_files import IndexPaths, read_state
from kb.models import DocumentRecord
from kb.settings import Settings

__all__ = ["DocumentStatus", "list_documents"]


@dataclass(frozen=True)
class DocumentStatus:
    record: DocumentRecord
    present: bool  # the file is in the corpus folder
    indexed: bool
    pages: int | None
    chunks: int


def list_documents(settings: Settings) -> list[DocumentStatus]:
    state = read_state(IndexPaths(settings.data_dir))
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
