"""BM25 keyword index over the same chunks as the vector store (bm25s, Snowball-stemmed English).

Persisted under DATA_DIR/bm25 with the chunk ids in index order. Filters become a weight mask applied
inside the BM25 scoring, so a filtered query never ranks a chunk it must not return.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kb.errors import BackendError, IndexStateError

__all__ = ["KeywordHit", "KeywordIndex", "build_keyword_index", "load_keyword_index"]

_IDS_FILE = "chunk_ids.json"


@dataclass(frozen=True)
class KeywordHit:
    chunk_id: str
    score: float


def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def _tokenize(texts: list[str], stemmer: Any, *, return_ids: bool) -> Any:
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False, return_ids=return_ids)


class KeywordIndex:
    def __init__(self, retriever: Any, chunk_ids: Sequence[str]) -> None:
        self._retriever = retriever
        self.chunk_ids = list(chunk_ids)
        self._position = {chunk_id: i for i, chunk_id in enumerate(self.chunk_ids)}
        self._stemmer = _stemmer()

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[KeywordHit]:
        """Top-k chunks by BM25; `allowed` is a 0/1 mask over chunk_ids (None: all)."""
        if not self.chunk_ids:
            return []
        tokens = _tokenize([query], self._stemmer, return_ids=False)
        k = min(k, len(self.chunk_ids))
        try:
            positions, scores = self._retriever.retrieve(tokens, k=k, show_progress=False, weight_mask=allowed)
        except (ValueError, IndexError) as exc:
            raise BackendError(f"BM25 search failed: {exc}") from exc
        return [
            KeywordHit(self.chunk_ids[int(p)], float(s)) for p, s in zip(positions[0], scores[0], strict=True) if s > 0
        ]

    def mask(self, chunk_ids: Sequence[str]) -> np.ndarray:
        mask = np.zeros(len(self.chunk_ids), dtype=np.float32)
        mask[[self._position[c] for c in chunk_ids if c in self._position]] = 1.0
        return mask


def build_keyword_index(chunk_ids: Sequence[str], texts: Sequence[str]) -> KeywordIndex:
    import bm25s

    retriever = bm25s.BM25()
    if texts:
        retriever.index(_tokenize(list(texts), _stemmer(), return_ids=True), show_progress=False)
    return KeywordIndex(retriever, chunk_ids)


def save_keyword_index(index: KeywordIndex, folder: Path) -> None:
    """Write to a sibling folder, then swap it in, so a crash never leaves a half-written index."""
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if index.chunk_ids:
        index._retriever.save(str(tmp))
    (tmp / _IDS_FILE).write_text(json.dumps(index.chunk_ids))
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def load_keyword_index(folder: Path) -> KeywordIndex:
    import bm25s

    ids_file = folder / _IDS_FILE
    if not ids_file.is_file():
        raise IndexStateError(f"{folder}: no keyword index; run `regkb ingest`")
    chunk_ids = json.loads(ids_file.read_text())
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    retriever = bm25s.BM25.load(str(folder)) if chunk_ids else bm25s.BM25()
    return KeywordIndex(retriever, chunk_ids)
