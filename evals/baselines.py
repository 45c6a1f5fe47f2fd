"""The "common LangChain recipe" baseline that regkb is compared against.

What a team writes in an afternoon: raw pypdf page text (no header/footer cleaning), a
RecursiveCharacterTextSplitter of 1,000 characters with 200 overlap over each page, Chroma through
langchain_chroma, and a plain similarity search. It never refuses, so its status is always "answered".

The embedding model is regkb's own `Embedder`, wrapped as LangChain `Embeddings`, so the comparison
measures the recipe and not a different model (and Chroma never falls back to its default embedding
function, which would download an ONNX model).

Every build rebuilds the collection from scratch: splitting the 18 offline documents takes ~6 s of
pypdf extraction and ~15 ms of splitting, so a fingerprinted "skip if built" index would save only
the embedding time and could go stale silently.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import chromadb
from langchain_chroma import Chroma
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_text_splitters import RecursiveCharacterTextSplitter
from pypdf import PdfReader

from evals.systems import Evidence, SystemAnswer
from kb.embedder import Embedder
from kb.manifest import resolve_document_path
from kb.models import DocumentRecord

__all__ = ["EmbedderEmbeddings", "LangChainBaseline", "build_langchain_baseline", "recipe_chunks"]

COLLECTION_NAME = "langchain-recipe"
CHUNK_SIZE_CHARS = 1000
CHUNK_OVERLAP_CHARS = 200
SEARCH_K = 10  # passages retrieved per question; the evidence every system is scored on
# Chroma refuses a single add above its max batch size (5,461 records on SQLite); 500 stays well below.
ADD_BATCH_SIZE = 500


class EmbedderEmbeddings(Embeddings):
    """regkb's `Embedder` seen as LangChain `Embeddings`."""

    def __init__(self, embedder: Embedder, *, progress: bool = False) -> None:
        self._embedder = embedder
        self._progress = progress

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.embed_documents(texts, progress=self._progress).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._embedder.embed_query(text).tolist()


class LangChainBaseline:
    """A `System`: the top 10 of a Chroma similarity search as evidence, the top `k` as citations."""

    name = "langchain-recipe"

    def __init__(self, store: Chroma, *, k: int = 5, chunk_count: int = 0) -> None:
        if not 1 <= k <= SEARCH_K:
            raise ValueError(f"k={k}: the baseline cites between 1 and {SEARCH_K} of its {SEARCH_K} passages")
        self.store = store
        self.k = k
        self.chunk_count = chunk_count

    def answer(self, question: str) -> SystemAnswer:
        start = time.perf_counter()
        documents = self.store.similarity_search(question, k=SEARCH_K)
        latency_ms = (time.perf_counter() - start) * 1000
        evidence = tuple(_to_evidence(doc) for doc in documents)
        return SystemAnswer(evidence=evidence, citations=evidence[: self.k], status="answered", latency_ms=latency_ms)


def build_langchain_baseline(
    records: list[DocumentRecord],
    corpus_dir: Path,
    embedder: Embedder,
    *,
    persist_dir: Path,
    k: int = 5,
    progress: bool = False,
) -> LangChainBaseline:
    """Index the offline documents of `records` into a fresh Chroma collection under `persist_dir`."""
    chunks = recipe_chunks(records, corpus_dir)
    store = Chroma(
        collection_name=COLLECTION_NAME,
        embedding_function=EmbedderEmbeddings(embedder, progress=progress),
        persist_directory=str(persist_dir),
        client_settings=chromadb.Settings(anonymized_telemetry=False),
    )
    store.reset_collection()  # a second build replaces the first instead of adding to it
    for start in range(0, len(chunks), ADD_BATCH_SIZE):
        batch = chunks[start : start + ADD_BATCH_SIZE]
        store.add_documents(batch, ids=[_chunk_id(doc) for doc in batch])
    return LangChainBaseline(store, k=k, chunk_count=len(chunks))


def recipe_chunks(records: Sequence[DocumentRecord], corpus_dir: Path) -> list[Document]:
    """The recipe's chunks of every offline document, each with doc_id, page (1-based) and chunk n in metadata."""
    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE_CHARS, chunk_overlap=CHUNK_OVERLAP_CHARS)
    chunks: list[Document] = []
    for record in records:
        if not (record.available_offline and record.file):
            continue
        reader = PdfReader(resolve_document_path(record, corpus_dir))
        for index, page in enumerate(reader.pages):
            for n, text in enumerate(splitter.split_text(page.extract_text())):
                chunks.append(Document(page_content=text, metadata={"doc_id": record.id, "page": index + 1, "n": n}))
    return chunks


def _chunk_id(doc: Document) -> str:
    return f"{doc.metadata['doc_id']}#p{doc.metadata['page']}-c{doc.metadata['n']}"


def _to_evidence(doc: Document) -> Evidence:
    return Evidence(doc_id=str(doc.metadata["doc_id"]), pages=(int(doc.metadata["page"]),), text=doc.page_content)
