"""Deterministic stand-ins for the embedding model and the vector store, for unit tests."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from kb.index_files import IndexPaths, read_state
from kb.settings import Settings
from kb.vector_store import DenseHit, Metadata, StoredVectors, Where

_WORD = re.compile(r"\w+")


class FakeEmbedder:
    """Bag of hashed words in 64 dimensions: texts sharing words are similar, and results never vary."""

    name = "fake"
    dimension = 64

    def __init__(self) -> None:
        self.calls = 0

    def count_tokens(self, text: str) -> int:
        return len(_WORD.findall(text))

    def embed_documents(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        self.calls += 1
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dimension, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension] += 1.0
        norm = np.linalg.norm(vector)
        return vector / norm if norm else vector


class MemoryStore:
    """Exact cosine search over a dict, with Chroma's equality / $in / $and metadata filters."""

    def __init__(self) -> None:
        self.vectors: dict[str, np.ndarray] = {}
        self.metadata: dict[str, Metadata] = {}

    def add(self, ids: Sequence[str], embeddings: np.ndarray, metadatas: Sequence[Metadata]) -> None:
        for chunk_id, vector, meta in zip(ids, embeddings, metadatas, strict=True):
            self.vectors[chunk_id], self.metadata[chunk_id] = np.asarray(vector), dict(meta)

    def delete_document(self, doc_id: str) -> None:
        for chunk_id in [c for c, m in self.metadata.items() if m["doc_id"] == doc_id]:
            del self.vectors[chunk_id], self.metadata[chunk_id]

    def document(self, doc_id: str) -> StoredVectors:
        ids = sorted(c for c, m in self.metadata.items() if m["doc_id"] == doc_id)
        embeddings = np.stack([self.vectors[c] for c in ids]) if ids else np.zeros((0, 64), np.float32)
        return StoredVectors(ids, embeddings, [dict(self.metadata[c]) for c in ids])

    def ids(self) -> set[str]:
        return set(self.vectors)

    def query(self, embedding: np.ndarray, k: int, where: Where | None = None) -> list[DenseHit]:
        hits = [DenseHit(c, float(v @ embedding)) for c, v in self.vectors.items() if _matches(self.metadata[c], where)]
        return sorted(hits, key=lambda h: (-h.similarity, h.chunk_id))[:k]

    def similarities(self, embedding: np.ndarray, ids: Sequence[str]) -> dict[str, float]:
        return {c: float(self.vectors[c] @ embedding) for c in ids if c in self.vectors}

    def count(self) -> int:
        return len(self.vectors)


class MemoryCatalog:
    """Named MemoryStores, one per index generation, like Chroma's collections."""

    def __init__(self) -> None:
        self.stores: dict[str, MemoryStore] = {}

    def open(self, name: str) -> MemoryStore:
        return self.stores.setdefault(name, MemoryStore())

    def names(self) -> list[str]:
        return list(self.stores)

    def drop(self, name: str) -> None:
        del self.stores[name]

    def served(self, settings: Settings) -> MemoryStore:
        """The store of the generation state.json publishes."""
        state = read_state(IndexPaths(settings.data_dir))
        assert state is not None, "nothing published"
        return self.stores[state.collection(settings.collection_prefix)]


def _matches(meta: Metadata, where: Where | None) -> bool:
    if not where:
        return True
    if "$and" in where:
        return all(_matches(meta, clause) for clause in where["$and"])
    ((key, condition),) = where.items()
    if isinstance(condition, dict):
        return meta.get(key) in condition["$in"]
    return meta.get(key) == condition


def manifest_entry(doc_id: str, file: str, sha256: str, **overrides: object) -> dict[str, object]:
    """A valid offline manifest entry for tests; override any field."""
    entry: dict[str, object] = {
        "id": doc_id,
        "title": f"Title of {doc_id}",
        "agency": "FDA",
        "jurisdiction": "US",
        "doc_type": "guidance",
        "reference": f"REF {doc_id}",
        "version": "1",
        "status": "final",
        "url": f"https://www.fda.gov/{doc_id}",
        "sha256": sha256,
        "file": file,
        "available_offline": True,
    }
    return {**entry, **overrides}
