"""Dense vectors in Chroma. chromadb lives behind this module only; its errors become BackendError.

Embedded (PersistentClient under DATA_DIR/chroma) by default; a Chroma server when a URL is set, so
several API workers share one index. Embeddings are always computed by regkb and passed in: Chroma's
default embedding function would download a model, so collections are created without one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

import numpy as np

from kb.errors import BackendError

__all__ = [
    "DenseIndex",
    "VectorStore",
    "VectorCatalog",
    "ChromaStore",
    "ChromaCatalog",
    "DenseHit",
    "StoredVectors",
    "open_chroma",
]

Metadata = dict[str, str | int | float | bool]
Where = dict[str, Any]


@dataclass(frozen=True)
class DenseHit:
    chunk_id: str
    similarity: float  # cosine similarity, 1.0 = same direction


@dataclass(frozen=True)
class StoredVectors:
    ids: list[str]
    embeddings: np.ndarray
    metadatas: list[Metadata]


class DenseIndex(Protocol):
    """What retrieval reads: nearest neighbours and the similarity of given ids."""

    def query(self, embedding: np.ndarray, k: int, where: Where | None = None) -> list[DenseHit]: ...

    def similarities(self, embedding: np.ndarray, ids: Sequence[str]) -> dict[str, float]: ...


class VectorStore(DenseIndex, Protocol):
    """What ingestion also writes and checks."""

    def add(self, ids: Sequence[str], embeddings: np.ndarray, metadatas: Sequence[Metadata]) -> None: ...

    def document(self, doc_id: str) -> StoredVectors: ...

    def ids(self) -> set[str]: ...

    def delete_document(self, doc_id: str) -> None: ...

    def count(self) -> int: ...


class VectorCatalog(Protocol):
    """The named collections of one store: one per index generation."""

    def open(self, name: str) -> VectorStore: ...

    def names(self) -> list[str]: ...

    def drop(self, name: str) -> None: ...


@contextmanager
def _translated(action: str) -> Iterator[None]:
    try:
        yield
    except BackendError:
        raise
    except Exception as exc:  # chromadb raises many unrelated types; translate them all here
        raise BackendError(f"Chroma failed to {action}: {exc}") from exc


class ChromaStore:
    # Chroma caps one add() at a few thousand records; stay well under it.
    _ADD_BATCH = 1000

    def __init__(self, collection: Any) -> None:
        self._collection = collection

    def add(self, ids: Sequence[str], embeddings: np.ndarray, metadatas: Sequence[Metadata]) -> None:
        with _translated("add chunks"):
            for start in range(0, len(ids), self._ADD_BATCH):
                end = start + self._ADD_BATCH
                self._collection.upsert(
                    ids=list(ids[start:end]), embeddings=embeddings[start:end], metadatas=list(metadatas[start:end])
                )

    def delete_document(self, doc_id: str) -> None:
        with _translated(f"delete document {doc_id}"):
            self._collection.delete(where={"doc_id": doc_id})

    def document(self, doc_id: str) -> StoredVectors:
        with _translated(f"read document {doc_id}"):
            result = self._collection.get(where={"doc_id": doc_id}, include=["embeddings", "metadatas"])
        return StoredVectors(
            list(result["ids"]),
            np.asarray(result["embeddings"], dtype=np.float32).reshape(len(result["ids"]), -1),
            [dict(m) for m in result["metadatas"]],
        )

    def ids(self) -> set[str]:
        found: set[str] = set()
        with _translated("list ids"):
            while True:
                batch = self._collection.get(include=[], limit=self._ADD_BATCH * 5, offset=len(found))["ids"]
                if not batch:
                    return found
                found.update(batch)

    def query(self, embedding: np.ndarray, k: int, where: Where | None = None) -> list[DenseHit]:
        with _translated("query"):
            result = self._collection.query(
                query_embeddings=[embedding], n_results=k, where=where or None, include=["distances"]
            )
        ids, distances = result["ids"][0], result["distances"][0]
        return [DenseHit(chunk_id, 1.0 - float(distance)) for chunk_id, distance in zip(ids, distances, strict=True)]

    def similarities(self, embedding: np.ndarray, ids: Sequence[str]) -> dict[str, float]:
        if not ids:
            return {}
        with _translated("read embeddings"):
            result = self._collection.get(ids=list(ids), include=["embeddings"])
        if not result["ids"]:
            return {}
        vectors = np.asarray(result["embeddings"], dtype=np.float32)
        return dict(zip(result["ids"], (vectors @ embedding).tolist(), strict=True))

    def count(self) -> int:
        with _translated("count"):
            return int(self._collection.count())


class ChromaCatalog:
    """Collections of the embedded store under data_dir, or of the server at url."""

    def __init__(self, *, data_dir: Path, url: str | None) -> None:
        self._data_dir, self._url = data_dir, url

    def open(self, name: str) -> ChromaStore:
        """The collection, created if missing, with cosine distance."""
        with _translated("open the store"):
            collection = _client(self._data_dir, self._url).get_or_create_collection(
                name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
            )
        return ChromaStore(collection)

    def names(self) -> list[str]:
        with _translated("list collections"):
            return [c.name for c in _client(self._data_dir, self._url).list_collections()]

    def drop(self, name: str) -> None:
        with _translated(f"delete collection {name}"):
            _client(self._data_dir, self._url).delete_collection(name)


def open_chroma(collection_name: str, *, data_dir: Path, url: str | None) -> ChromaStore:
    return ChromaCatalog(data_dir=data_dir, url=url).open(collection_name)


def _client(data_dir: Path, url: str | None) -> Any:
    import chromadb

    settings = chromadb.Settings(anonymized_telemetry=False)
    if url:
        return chromadb.HttpClient(**_server_address(url), settings=settings)
    return chromadb.PersistentClient(path=str(data_dir / "chroma"), settings=settings)


def _server_address(url: str) -> dict[str, Any]:
    """Host, port and TLS of a server URL; `Settings` has already checked it is an http(s) URL."""
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 8000)
    return {"host": parsed.hostname, "port": port, "ssl": parsed.scheme == "https"}
