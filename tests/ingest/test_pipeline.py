"""Incremental ingestion with a fake embedder and an in-memory store, over small real PDFs."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import yaml

from ingest.pipeline import IngestDependencies, ingest_corpus
from kb.errors import IndexStateError
from kb.index_files import IndexPaths, read_state
from kb.keyword_index import load_keyword_index
from kb.knowledge_base import open_knowledge_base
from kb.settings import Settings
from tests.conftest import SHARED_CORPUS
from tests.fakes import FakeEmbedder, MemoryStore, manifest_entry

pytestmark = pytest.mark.unit

SOURCES = {
    "cpg": "fda/fda-cpg-490-100-process-validation-2004.pdf",
    "q5c": "ich/ich-q5c-stability-biotechnological-products-1995.pdf",
    "part11": "fda/fda-part11-electronic-records-scope-2003.pdf",
}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Corpus:
    def __init__(self, root: Path) -> None:
        self.dir = root / "corpus"
        self.dir.mkdir()
        self.manifest = root / "manifest.yaml"
        self.entries: dict[str, dict] = {}

    def add(self, doc_id: str, source: Path | bytes, name: str | None = None) -> None:
        target = self.dir / (name or f"{doc_id}.pdf")
        if isinstance(source, bytes):
            target.write_bytes(source)
        else:
            shutil.copyfile(source, target)
        self.entries[doc_id] = manifest_entry(doc_id, target.name, _sha(target))
        self.write()

    def remove(self, doc_id: str) -> None:
        del self.entries[doc_id]
        self.write()

    def write(self) -> None:
        self.manifest.write_text(yaml.safe_dump({"version": 1, "documents": list(self.entries.values())}))


@pytest.fixture
def corpus(tmp_path: Path) -> Corpus:
    corpus = Corpus(tmp_path)
    corpus.add("cpg", SHARED_CORPUS / SOURCES["cpg"])
    corpus.add("q5c", SHARED_CORPUS / SOURCES["q5c"])
    return corpus


@pytest.fixture
def settings(tmp_path: Path, corpus: Corpus) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        corpus_dir=corpus.dir,
        manifest_path=corpus.manifest,
        lessons_dir=tmp_path / "lessons",
    )


@pytest.fixture
def embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def deps(embedder: FakeEmbedder, store: MemoryStore) -> IngestDependencies:
    return IngestDependencies(tokenizer=lambda: embedder, embedder=lambda: embedder, vector_store=lambda name: store)


def _doc_ids(store: MemoryStore) -> set[str]:
    return {str(m["doc_id"]) for m in store.metadata.values()}


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_mtime_ns, p.stat().st_size) for p in root.rglob("*") if p.is_file()}


def test_first_ingest_fills_both_indexes_with_the_same_chunks(settings, deps, store):
    report = ingest_corpus(settings, deps=deps, progress=False)
    assert report.added == ["cpg", "q5c"] and report.skipped == []
    bm25 = load_keyword_index(IndexPaths(settings.data_dir).bm25)
    assert sorted(bm25.chunk_ids) == sorted(store.vectors)
    assert report.chunks_embedded == len(store.vectors) > 10
    assert _doc_ids(store) == {"cpg", "q5c"}
    state = read_state(IndexPaths(settings.data_dir))
    assert state is not None and state.documents["cpg"].pages == 5 and state.documents["q5c"].pages == 10


def test_rerun_with_nothing_changed_writes_nothing(settings, deps, embedder):
    first = ingest_corpus(settings, deps=deps, progress=False)
    before, calls = _tree(settings.data_dir), embedder.calls
    again = ingest_corpus(settings, deps=deps, progress=False)
    assert again.unchanged == ["cpg", "q5c"] and not again.wrote
    assert again.snapshot == first.snapshot
    assert embedder.calls == calls
    assert _tree(settings.data_dir) == before


def test_a_new_draft_updates_the_note_of_what_it_replaces_without_re_embedding(settings, deps, embedder, corpus):
    first = ingest_corpus(settings, deps=deps, progress=False)
    calls = embedder.calls
    corpus.entries["draft"] = manifest_entry(
        "draft", None, None, status="draft", will_replace=["q5c"], available_offline=False, version="Step 2"
    )
    corpus.write()
    again = ingest_corpus(settings, deps=deps, progress=False)
    assert again.unchanged == ["cpg", "q5c"] and again.snapshot == first.snapshot
    assert embedder.calls == calls
    state = read_state(IndexPaths(settings.data_dir))
    assert state is not None
    assert state.documents["q5c"].record["version_note"] == "Current; the REF draft draft would replace it once final"
    assert state.documents["cpg"].record["version_note"] == ""


def test_changed_document_is_replaced(settings, deps, store, corpus):
    first = ingest_corpus(settings, deps=deps, progress=False)
    corpus.add("q5c", SHARED_CORPUS / SOURCES["part11"], name="q5c.pdf")
    report = ingest_corpus(settings, deps=deps, progress=False)
    assert report.replaced == ["q5c"] and report.unchanged == ["cpg"]
    assert report.snapshot != first.snapshot
    q5c_texts = " ".join(
        c.text
        for c in open_knowledge_base(settings, embedder=deps.embedder(), store=store).chunks.values()
        if c.doc_id == "q5c"
    )
    assert "electronic signatures" in q5c_texts.lower() and "biotechnological" not in q5c_texts.lower()
    assert sorted(load_keyword_index(IndexPaths(settings.data_dir).bm25).chunk_ids) == sorted(store.vectors)


def test_document_removed_from_manifest_leaves_both_indexes(settings, deps, store, corpus):
    ingest_corpus(settings, deps=deps, progress=False)
    corpus.remove("cpg")
    report = ingest_corpus(settings, deps=deps, progress=False)
    assert report.removed == ["cpg"]
    assert _doc_ids(store) == {"q5c"}
    bm25 = load_keyword_index(IndexPaths(settings.data_dir).bm25)
    assert all(not c.startswith("cpg#") for c in bm25.chunk_ids) and bm25.chunk_ids
    assert not IndexPaths(settings.data_dir).pages("cpg").exists()


def test_unreadable_documents_are_reported_and_the_rest_ingests(settings, deps, store, corpus):
    real = (SHARED_CORPUS / SOURCES["part11"]).read_bytes()
    corpus.add("truncated", real[: len(real) // 2])
    corpus.add("textfile", b"this is not a PDF at all\n")
    corpus.add("empty", b"")
    report = ingest_corpus(settings, deps=deps, progress=False)
    assert report.added == ["cpg", "q5c"]
    assert sorted(s.doc_id for s in report.skipped) == ["empty", "textfile", "truncated"]
    assert all(s.path.endswith(f"{s.doc_id}.pdf") and s.reason for s in report.skipped)
    assert _doc_ids(store) == {"cpg", "q5c"}


def test_missing_file_and_checksum_mismatch_are_skipped_not_fatal(settings, deps, corpus):
    corpus.entries["ghost"] = manifest_entry("ghost", "ghost.pdf", "1" * 64)
    corpus.entries["cpg"]["sha256"] = "0" * 64
    corpus.write()
    report = ingest_corpus(settings, deps=deps, progress=False)
    reasons = {s.doc_id: s.reason for s in report.skipped}
    assert "run `regkb corpus fetch`" in reasons["ghost"]
    assert "sha256 differs from the manifest" in reasons["cpg"]
    assert report.added == ["q5c"]


def test_index_built_with_other_settings_is_refused(settings, deps, store):
    ingest_corpus(settings, deps=deps, progress=False)
    changed = settings.model_copy(update={"chunking": settings.chunking.model_copy(update={"chunk_tokens": 120})})
    with pytest.raises(IndexStateError, match=r"chunk_tokens differ.*regkb ingest --rebuild"):
        open_knowledge_base(changed, embedder=deps.embedder(), store=store)


def test_no_index_says_how_to_build_one(settings, deps, store):
    with pytest.raises(IndexStateError, match="build it with `regkb ingest`"):
        open_knowledge_base(settings, embedder=deps.embedder(), store=store)


def test_search_and_ask_over_fake_index(settings, deps, store):
    ingest_corpus(settings, deps=deps, progress=False)
    kb = open_knowledge_base(settings, embedder=deps.embedder(), store=store)
    passages = kb.search("stability testing of biotechnological products", k=3)
    assert passages[0].chunk.doc_id == "q5c"
    assert len({(p.chunk.doc_id, p.chunk.start) for p in passages}) == 3
