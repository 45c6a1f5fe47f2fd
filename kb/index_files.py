"""What an index is made of on disk, and how it was built.

    DATA_DIR/state.json                      the published index: fingerprint, generation, documents
    DATA_DIR/generations/<gen>/pages/<id>.json   stored page text, the ground truth of every quote
    DATA_DIR/generations/<gen>/chunks/<id>.json  chunks with their section and page locators
    DATA_DIR/generations/<gen>/bm25/         keyword index
    DATA_DIR/chroma/                         vector store (embedded mode), one collection per generation
    DATA_DIR/ingest.lock                     held by the ingest that is running

An ingest builds a complete new generation beside the published one and publishes it by one atomic
rename of state.json, which names it. Readers only ever open the generation state.json names, so an
ingest killed at any moment leaves the previous index served whole; the next ingest deletes what the
killed one left. The generation before the published one is kept until the next ingest, so a server
still answering from it finishes its requests.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.errors import IndexStateError
from kb.models import Chunk, DocumentRecord
from kb.settings import Settings

__all__ = [
    "PIPELINE_VERSION",
    "IndexPaths",
    "IndexState",
    "new_generation_id",
    "published_paths",
    "DocumentState",
    "fingerprint",
    "record_hash",
    "snapshot_id",
]

# Bump when parsing, cleaning, sectioning or chunking changes what an index contains.
# 5: trailing line numbers, EU GMP annex paragraphs, new heading styles (issue 11)
# 6: table-of-contents lines without a page number are not chunked (issue 11)
PIPELINE_VERSION = 6


@dataclass(frozen=True)
class IndexPaths:
    """The data dir, and within it one generation's files (`at`)."""

    root: Path
    generation: str = ""

    @property
    def state(self) -> Path:
        return self.root / "state.json"

    @property
    def lock(self) -> Path:
        return self.root / "ingest.lock"

    @property
    def generations(self) -> Path:
        return self.root / "generations"

    def at(self, generation: str) -> IndexPaths:
        return IndexPaths(self.root, generation)

    @property
    def folder(self) -> Path:
        if not self.generation:
            raise IndexStateError(f"{self.root}: no generation chosen; this is a bug in regkb")
        return self.generations / self.generation

    @property
    def bm25(self) -> Path:
        return self.folder / "bm25"

    def pages(self, doc_id: str) -> Path:
        return self.folder / "pages" / f"{doc_id}.json"

    def chunks(self, doc_id: str) -> Path:
        return self.folder / "chunks" / f"{doc_id}.json"


def new_generation_id() -> str:
    """Sortable by creation time, unique across processes: g20261203T084500-3fa9c2."""
    return f"g{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"


def fingerprint(settings: Settings) -> dict[str, Any]:
    """Everything that changes the vectors or the chunks; a mismatch means the index must be rebuilt."""
    return {
        "model": settings.embedding.model_name,
        "max_tokens": settings.embedding.max_tokens,
        "chunk_tokens": settings.chunking.chunk_tokens,
        "overlap_tokens": settings.chunking.overlap_tokens,
        "pipeline_version": PIPELINE_VERSION,
    }


def short_hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:12]


def record_hash(record: DocumentRecord) -> str:
    """The record's own fields. `version_note` is left out: it is derived from other entries (a new draft
    that will replace Q5C changes Q5C's note), and re-embedding a document for it would be wasted work;
    the ingest refreshes stored notes without touching the index."""
    fields = dataclasses.asdict(record)
    fields.pop("version_note", None)
    fields.pop("aliases", None)  # query-time names, taken from the manifest when the index is opened
    return short_hash(fields)


def snapshot_id(documents: dict[str, DocumentState]) -> str:
    """Names the exact corpus an index holds: which documents, which file bytes, which metadata."""
    return short_hash(sorted((doc_id, d.sha256, d.record_hash) for doc_id, d in documents.items()))


@dataclass(frozen=True)
class DocumentState:
    sha256: str
    record_hash: str
    record: dict[str, Any]
    pages: int
    chunks: int

    def to_record(self) -> DocumentRecord:
        record = {**self.record, "will_replace": tuple(self.record.get("will_replace", ()))}
        return DocumentRecord(**{**record, "aliases": tuple(record.get("aliases", ()))})


@dataclass
class IndexState:
    fingerprint: dict[str, Any] = field(default_factory=dict)
    documents: dict[str, DocumentState] = field(default_factory=dict)
    generation: str = ""  # empty: an index written before generations (pipeline version 5 or older)
    previous: str = ""  # the generation this one replaced, kept until the next ingest
    # Files found unreadable, by document: {"sha256": ..., "reason": ...}; not parsed again while unchanged.
    unreadable: dict[str, dict[str, str]] = field(default_factory=dict)

    def collection(self, prefix: str) -> str:
        return collection_name(prefix, self.generation)

    @property
    def snapshot(self) -> str:
        return snapshot_id(self.documents)


def read_state(paths: IndexPaths) -> IndexState | None:
    if not paths.state.is_file():
        return None
    raw = json.loads(paths.state.read_text())
    documents = {doc_id: DocumentState(**d) for doc_id, d in raw["documents"].items()}
    return IndexState(
        fingerprint=raw["fingerprint"],
        documents=documents,
        generation=raw.get("generation", ""),
        previous=raw.get("previous", ""),
        unreadable=raw.get("unreadable", {}),
    )


def collection_name(prefix: str, generation: str) -> str:
    return f"{prefix}-{generation}"


def write_state(paths: IndexPaths, state: IndexState) -> None:
    """The publication step: one atomic rename makes the named generation the served index."""
    payload = {
        "generation": state.generation,
        "previous": state.previous,
        "fingerprint": state.fingerprint,
        "snapshot": state.snapshot,
        "documents": {doc_id: dataclasses.asdict(d) for doc_id, d in sorted(state.documents.items())},
        "unreadable": dict(sorted(state.unreadable.items())),
    }
    write_json(paths.state, payload)


def check_fingerprint(state: IndexState | None, settings: Settings, paths: IndexPaths) -> IndexState:
    if state is None:
        raise IndexStateError(
            f"no index in {paths.root}; build it with `regkb ingest` (REGKB_DATA_DIR sets the folder)"
        )
    if not state.generation:
        raise IndexStateError(
            f"the index in {paths.root} was written by an older regkb; rebuild it with `regkb ingest`"
        )
    expected = fingerprint(settings)
    if state.fingerprint != expected:
        changed = sorted(k for k in expected if state.fingerprint.get(k) != expected[k])
        raise IndexStateError(
            f"the index in {paths.root} was built with other settings ({', '.join(changed)} differ); "
            "rebuild it with `regkb ingest --rebuild`"
        )
    return state


def published_paths(settings: Settings) -> tuple[IndexState, IndexPaths]:
    """The published state, checked against the settings, and the paths of its generation."""
    paths = IndexPaths(settings.data_dir)
    state = check_fingerprint(read_state(paths), settings, paths)
    return state, paths.at(state.generation)


def write_json(path: Path, payload: Any) -> None:
    """Written whole to a temporary file, flushed to disk, then renamed over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps(payload, ensure_ascii=False))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_pages(paths: IndexPaths, doc_id: str, pages: tuple[str, ...]) -> None:
    write_json(paths.pages(doc_id), {"doc_id": doc_id, "pages": list(pages)})


def read_pages(paths: IndexPaths, doc_id: str) -> list[str]:
    return list(json.loads(paths.pages(doc_id).read_text())["pages"])


def write_chunks(paths: IndexPaths, doc_id: str, chunks: list[Chunk]) -> None:
    write_json(paths.chunks(doc_id), [dataclasses.asdict(c) for c in chunks])


def read_chunks(paths: IndexPaths, doc_id: str) -> list[Chunk]:
    raw = json.loads(paths.chunks(doc_id).read_text())
    return [
        Chunk(
            **{
                **c,
                "section_path": tuple(c["section_path"]),
                "paragraphs": tuple((int(offset), str(number)) for offset, number in c.get("paragraphs", ())),
            }
        )
        for c in raw
    ]
