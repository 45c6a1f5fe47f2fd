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

from kb.errors import BackendError, ConfigError

__all__ = ["VectorStore", "ChromaStore", "DenseHit", "open_chroma"]

Metadata = dict[str, str | int | float | bool]
Where = dict[str, Any]


@dataclass(frozen=True)
class DenseHit:
    chunk_id: str
    similarity: float  # cosine similarity, 1.0 = same direction


class VectorStore(Protocol):
    def add(self, ids: Sequence[str], embeddings: np.ndarray, metadatas: Sequence[Metadata]) -> None: ...

    def delete_document(self, doc_id: str) -> None: ...

    def query(self, embedding: np.ndarray, k: int, where: Where | None = None) -> list[DenseHit]: ...

    def similarities(self, embedding: np.ndarray, ids: Sequence[str]) -> dict[str, float]: ...

    def count(self) -> int: ...


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
        vectors = np.asarray(result["embeddings"], dtype=np.float32)
        return dict(zip(result["ids"], (vectors @ embedding).tolist(), strict=True))

    def count(self) -> int:
        with _translated("count"):
            return int(self._collection.count())


def open_chroma(collection_name: str, *, data_dir: Path, url: str | None) -> ChromaStore:
    """The collection named for the index fingerprint, created if missing, with cosine distance."""
    with _translated("open the store"):
        collection = _client(data_dir, url).get_or_create_collection(
            collection_name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
        )
    return ChromaStore(collection)


def drop_other_collections(keep: str, *, data_dir: Path, url: str | None, prefix: str) -> list[str]:
    """Delete collections of older fingerprints (same prefix), so a rebuilt index does not leave its stale twin."""
    with _translated("list collections"):
        client = _client(data_dir, url)
        stale = [c.name for c in client.list_collections() if c.name.startswith(prefix + "-") and c.name != keep]
        for name in stale:
            client.delete_collection(name)
    return stale


def _client(data_dir: Path, url: str | None) -> Any:
    import chromadb

    settings = chromadb.Settings(anonymized_telemetry=False)
    if url:
        return chromadb.HttpClient(**_server_address(url), settings=settings)
    return chromadb.PersistentClient(path=str(data_dir / "chroma"), settings=settings)


def _server_address(url: str) -> dict[str, Any]:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(f"REGKB_CHROMA_URL={url!r} is not an http(s) URL; use e.g. http://127.0.0.1:8000")
    port = parsed.port or (443 if parsed.scheme == "https" else 8000)
    return {"host": parsed.hostname, "port": port, "ssl": parsed.scheme == "https"}
