"""Hybrid retrieval over any passage collection, through the same `retrieve()` the knowledge base uses.

Each passage (`{"id": ..., "text": ..., **metadata}`) becomes a one-chunk document: chunk id and doc id are
the passage id, so the overlap de-duplication in `retrieve()` never merges two passages. BM25 and the
embedding both see the passage text alone (no title/section prefix), and the vectors live in an in-memory
matrix instead of Chroma. Everything else (query embedding, candidate counts, RRF weights, the superseded
penalty, de-duplication) is production code, so a change to retrieval is measured here too.

Embeddings are cached by content under DATA_DIR/embedding_cache/<model>-<hash of model, max_tokens,
dimension>/, one `<hash>.npz` shard (`keys`: sha256 of each text, `vectors`: float32 rows) per embedded batch.
A shard is written to a temporary file and moved into place with os.replace, so a crash never leaves half a
shard; an unreadable shard is deleted and its texts are embedded again.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import numpy as np

from kb.embedder import Embedder
from kb.errors import BackendError, ConfigError, FilterError
from kb.filters import Filters
from kb.glossary import Glossary, load_glossary
from kb.keyword_index import KeywordIndex, build_keyword_index
from kb.models import Chunk, DocType, DocumentRecord, Jurisdiction, Passage, Status
from kb.retrieve import retrieve
from kb.settings import RetrievalSettings, Settings
from kb.vector_store import DenseHit, Metadata, Where

__all__ = ["PassageRetriever", "MatrixStore", "build_passage_retriever"]

# 2,048 texts are 32 full model batches of 64, a few seconds of MiniLM on 2 cores: an interrupted build of
# 50,000 passages keeps all but the last few seconds of its work in the cache.
_EMBED_BATCH = 2048
# Each build with new texts adds shards; past this many, they are merged into one so loading stays one read.
_MAX_SHARDS = 64


class MatrixStore:
    """Exact cosine search over one in-memory matrix (the DenseIndex protocol, without metadata filters)."""

    def __init__(self, dimension: int) -> None:
        self._ids: list[str] = []
        self._doc_ids: list[str] = []
        self._matrix = np.zeros((0, dimension), dtype=np.float32)
        self._position: dict[str, int] = {}

    def add(self, ids: Sequence[str], embeddings: np.ndarray, metadatas: Sequence[Metadata]) -> None:
        if any(chunk_id in self._position for chunk_id in ids):
            self._remove(set(ids))  # Chroma's add is an upsert; do the same
        self._ids += list(ids)
        self._doc_ids += [str(meta["doc_id"]) for meta in metadatas]
        self._matrix = np.vstack([self._matrix, _unit_rows(np.asarray(embeddings, dtype=np.float32))])
        self._position = {chunk_id: i for i, chunk_id in enumerate(self._ids)}

    def delete_document(self, doc_id: str) -> None:
        self._remove({cid for cid, did in zip(self._ids, self._doc_ids, strict=True) if did == doc_id})

    def query(self, embedding: np.ndarray, k: int, where: Where | None = None) -> list[DenseHit]:
        if where:
            raise ValueError("MatrixStore does not filter on metadata; use ChromaStore for filtered search")
        k = min(k, len(self._ids))
        if k <= 0:
            return []
        scores = self._matrix @ _unit_rows(np.asarray(embedding, dtype=np.float32)[None, :])[0]
        top = np.argpartition(-scores, k - 1)[:k]
        ranked = sorted(top.tolist(), key=lambda i: (-scores[i], self._ids[i]))
        return [DenseHit(self._ids[i], float(scores[i])) for i in ranked]

    def similarities(self, embedding: np.ndarray, ids: Sequence[str]) -> dict[str, float]:
        query = _unit_rows(np.asarray(embedding, dtype=np.float32)[None, :])[0]
        return {cid: float(self._matrix[self._position[cid]] @ query) for cid in ids if cid in self._position}

    def count(self) -> int:
        return len(self._ids)

    def _remove(self, ids: set[str]) -> None:
        keep = [i for i, chunk_id in enumerate(self._ids) if chunk_id not in ids]
        self._ids = [self._ids[i] for i in keep]
        self._doc_ids = [self._doc_ids[i] for i in keep]
        self._matrix = self._matrix[keep]
        self._position = {chunk_id: i for i, chunk_id in enumerate(self._ids)}


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero), so a dot product is the cosine similarity."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


@dataclass(frozen=True)
class PassageRetriever:
    """A passage collection wired to production retrieval; `search` gives passage ids, best first."""

    chunks: Mapping[str, Chunk]
    records: Mapping[str, DocumentRecord]
    metadata: Mapping[str, Mapping[str, Any]]  # each passage's keys other than id and text
    embedder: Embedder
    store: MatrixStore
    keyword_index: KeywordIndex
    settings: RetrievalSettings
    glossary: Glossary | None = None  # the production query expansion

    def __len__(self) -> int:
        return len(self.chunks)

    def search(self, query: str, k: int) -> list[str]:
        return [p.chunk.chunk_id for p in self.search_passages(query, k)]

    def search_passages(self, query: str, k: int) -> list[Passage]:
        """The scored passages behind `search`, each with the chunk and record built from its metadata."""
        if not query.strip():
            raise FilterError("the query is empty; pass some text to search for")
        if k < 1:
            raise FilterError(f"k={k}: ask for at least one passage")
        if not self.chunks:
            return []
        # Each ranking contributes `candidates` ids to fusion; with k above that, fusion could offer fewer
        # than k ids, so the pool grows to k. For k <= candidates the ranking is exactly production's.
        settings = self.settings.model_copy(update={"candidates": max(self.settings.candidates, k)})
        return retrieve(
            query.strip(),
            Filters(),
            k=k,
            embedder=self.embedder,
            store=self.store,
            keyword_index=self.keyword_index,
            chunks=self.chunks,
            records=self.records,
            settings=settings,
            glossary=self.glossary,
        )


def build_passage_retriever(
    passages: list[dict[str, Any]],
    *,
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    progress: bool | None = None,
) -> PassageRetriever:
    """Index `passages` (dicts with a str "id" and "text"; other keys are metadata) for hybrid search.

    Raises ConfigError naming the first bad passage's index. `progress` shows a bar on stderr
    (default: when stderr is a terminal). The default embedder is the production model, one per process.
    """
    settings = settings or Settings()
    _validate(passages)
    if embedder is None:
        from kb.knowledge_base import _default_embedder  # imported when needed: it pulls in the answering stack

        embedder = _default_embedder(settings)
    show = sys.stderr.isatty() if progress is None else progress
    chunks = [_chunk(i, p) for i, p in enumerate(passages)]
    texts = [c.text for c in chunks]
    store = MatrixStore(embedder.dimension)
    ids = [c.chunk_id for c in chunks]
    vectors = embed_with_cache(texts, embedder, cache_folder(settings, embedder), progress=show)
    store.add(ids, vectors, [{"doc_id": cid} for cid in ids])
    return PassageRetriever(
        chunks={c.chunk_id: c for c in chunks},
        records={str(p["id"]): _record(p) for p in passages},
        metadata={str(p["id"]): {k: v for k, v in p.items() if k not in ("id", "text")} for p in passages},
        embedder=embedder,
        store=store,
        keyword_index=build_keyword_index(ids, texts),
        settings=settings.retrieval,
        glossary=load_glossary(settings.glossary_path),
    )


def _validate(passages: Sequence[Any]) -> None:
    if not isinstance(passages, list):
        raise ConfigError(f"passages must be a list of dicts, got {type(passages).__name__}")
    seen: dict[str, int] = {}
    for i, passage in enumerate(passages):
        if not isinstance(passage, dict):
            raise ConfigError(f"passage {i}: expected a dict with 'id' and 'text', got {type(passage).__name__}")
        pid, text = passage.get("id"), passage.get("text")
        if not isinstance(pid, str) or not pid.strip():
            raise ConfigError(f"passage {i}: 'id' must be a non-empty str, got {pid!r}")
        if not isinstance(text, str):
            problem = "has no 'text'" if "text" not in passage else f"'text' must be a str, got {type(text).__name__}"
            raise ConfigError(f"passage {i} ({pid!r}): {problem}")
        if pid in seen:
            raise ConfigError(f"passage {i}: id {pid!r} repeats passage {seen[pid]}; ids must be unique")
        seen[pid] = i
        _page(i, passage)


def _page(index: int, passage: Mapping[str, Any]) -> int:
    page = passage.get("page", 1)
    if isinstance(page, str) and page.isdigit():
        page = int(page)
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise ConfigError(f"passage {index} ({passage['id']!r}): 'page' must be a positive int, got {page!r}")
    return page


def _chunk(index: int, passage: Mapping[str, Any]) -> Chunk:
    pid, text, page = passage["id"], passage["text"], _page(index, passage)
    section = _str(passage, "section", "")
    return Chunk(
        chunk_id=pid,
        doc_id=pid,  # one document per passage: overlap de-duplication compares offsets within a document only
        text=text,
        section=section,
        section_title=_str(passage, "section_title", ""),
        section_path=(section,) if section else (),
        first_page=page,
        last_page=page,
        start=0,
        end=len(text),
    )


def _record(passage: Mapping[str, Any]) -> DocumentRecord:
    """Fields from metadata when present; jurisdiction/doc_type only matter to filters, which search never sets."""
    return DocumentRecord(
        id=passage["id"],
        title=_str(passage, "title", passage["id"]),
        agency=_str(passage, "agency", ""),
        jurisdiction=_choice(passage, "jurisdiction", get_args(Jurisdiction), "internal"),
        doc_type=_choice(passage, "doc_type", get_args(DocType), "guidance"),
        reference=_str(passage, "reference", ""),
        version=_str(passage, "version", ""),
        status=_choice(passage, "status", get_args(Status), "final"),
        url=_str(passage, "url", ""),
        superseded_by=passage.get("superseded_by") if isinstance(passage.get("superseded_by"), str) else None,
    )


def _str(passage: Mapping[str, Any], key: str, default: str) -> str:
    value = passage.get(key)
    return default if value is None else str(value)


def _choice(passage: Mapping[str, Any], key: str, allowed: tuple[str, ...], default: str) -> Any:
    value = passage.get(key)
    return value if value in allowed else default


def cache_folder(settings: Settings, embedder: Embedder) -> Path:
    """Named for what changes the vectors, so another model (or window) never reads this one's cache."""
    identity = f"{embedder.name}\0{settings.embedding.max_tokens}\0{embedder.dimension}"
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", embedder.name).strip("._") or "model"
    return settings.data_dir / "embedding_cache" / f"{slug}-{hashlib.sha256(identity.encode()).hexdigest()[:12]}"


def embed_with_cache(texts: Sequence[str], embedder: Embedder, folder: Path, *, progress: bool) -> np.ndarray:
    """One row per text, in order; only texts the cache lacks are embedded (each distinct text once)."""
    from tqdm import tqdm

    digests = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
    cached, shards = _load_cache(folder, embedder.dimension)
    text_of = dict(zip(digests, texts, strict=True))
    missing = [d for d in text_of if d not in cached]
    with tqdm(total=len(missing), desc="embed", unit="passage", disable=not progress or not missing) as bar:
        for start in range(0, len(missing), _EMBED_BATCH):
            batch = missing[start : start + _EMBED_BATCH]
            vectors = _embedded(embedder, [text_of[d] for d in batch])
            shards.append(_write_shard(folder, batch, vectors))
            cached.update(zip(batch, vectors, strict=True))
            bar.update(len(batch))
    if len(shards) > _MAX_SHARDS:
        _compact(folder, cached, shards)
    if not digests:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    return np.stack([cached[d] for d in digests])


def _embedded(embedder: Embedder, texts: list[str]) -> np.ndarray:
    vectors = np.asarray(embedder.embed_documents(texts, progress=False), dtype=np.float32)
    if vectors.shape != (len(texts), embedder.dimension):
        raise BackendError(
            f"embedder {embedder.name!r} returned shape {vectors.shape} for {len(texts)} texts; "
            f"expected ({len(texts)}, {embedder.dimension})"
        )
    return vectors


def _load_cache(folder: Path, dimension: int) -> tuple[dict[str, np.ndarray], list[Path]]:
    vectors: dict[str, np.ndarray] = {}
    shards: list[Path] = []
    for path in sorted(folder.glob("*.npz")):
        shard = _read_shard(path, dimension)
        if shard is None:
            path.unlink(missing_ok=True)  # its texts count as missing, are embedded again and land in a new shard
            continue
        keys, matrix = shard
        vectors.update(zip(keys.tolist(), matrix, strict=True))
        shards.append(path)
    return vectors, shards


def _read_shard(path: Path, dimension: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The shard's keys and vectors, or None when it is unreadable or not what this cache writes."""
    try:
        with np.load(path, allow_pickle=False) as data:
            keys, matrix = data["keys"], data["vectors"]
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
        return None
    well_formed = (
        keys.ndim == 1
        and keys.dtype.kind == "U"
        and matrix.dtype == np.float32
        and matrix.shape == (len(keys), dimension)
        and bool(np.isfinite(matrix).all())
    )
    return (keys, matrix) if well_formed else None


def _write_shard(folder: Path, digests: Sequence[str], vectors: np.ndarray) -> Path:
    """Written beside its final name and moved into place, so readers see a whole shard or none."""
    target = folder / f"{hashlib.sha256(''.join(digests).encode()).hexdigest()[:16]}.npz"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=folder, prefix=".shard-", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                np.savez(out, keys=np.asarray(digests, dtype="<U64"), vectors=np.asarray(vectors, dtype=np.float32))
            os.replace(name, target)
        finally:
            Path(name).unlink(missing_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"{folder}: cannot write the embedding cache ({exc}); set REGKB_DATA_DIR to a writable folder"
        ) from exc
    return target


def _compact(folder: Path, cached: Mapping[str, np.ndarray], shards: Sequence[Path]) -> None:
    merged = _write_shard(folder, list(cached), np.stack(list(cached.values())))
    for path in shards:
        if path != merged:
            path.unlink(missing_ok=True)
