"""Incremental ingestion with a fake embedder and an in-memory store, over small real PDFs."""

from __future__ import annotations

import contextlib
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
from tests.fakes import FakeEmbedder, MemoryCatalog, MemoryStore, manifest_entry

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
def catalog() -> MemoryCatalog:
    return MemoryCatalog()


@pytest.fixture
def deps(embedder: FakeEmbedder, catalog: MemoryCatalog) -> IngestDependencies:
    return IngestDependencies(tokenizer=lambda: embedder, embedder=lambda: embedder, catalog=lambda: catalog)


def _doc_ids(store: MemoryStore) -> set[str]:
    return {str(m["doc_id"]) for m in store.metadata.values()}


def _served(settings: Settings) -> IndexPaths:
    state = read_state(IndexPaths(settings.data_dir))
    assert state is not None
    return IndexPaths(settings.data_dir).at(state.generation)


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    """The index's files (the lock file, which every run takes, is not part of the index)."""
    return {
        str(p): (p.stat().st_mtime_ns, p.stat().st_size)
        for p in root.rglob("*")
        if p.is_file() and p.name != "ingest.lock"
    }


def test_first_ingest_fills_both_indexes_with_the_same_chunks(settings, deps, catalog):
    report = ingest_corpus(settings, deps=deps, progress=False)
    assert report.added == ["cpg", "q5c"] and report.skipped == []
    store = catalog.served(settings)
    bm25 = load_keyword_index(_served(settings).bm25)
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


def test_changed_document_is_replaced(settings, deps, catalog, corpus):
    first = ingest_corpus(settings, deps=deps, progress=False)
    corpus.add("q5c", SHARED_CORPUS / SOURCES["part11"], name="q5c.pdf")
    report = ingest_corpus(settings, deps=deps, progress=False)
    store = catalog.served(settings)
    assert report.replaced == ["q5c"] and report.unchanged == ["cpg"]
    assert report.snapshot != first.snapshot
    q5c_texts = " ".join(
        c.text
        for c in open_knowledge_base(settings, embedder=deps.embedder(), store=store, checkpoints=False).chunks.values()
        if c.doc_id == "q5c"
    )
    assert "electronic signatures" in q5c_texts.lower() and "biotechnological" not in q5c_texts.lower()
    assert sorted(load_keyword_index(_served(settings).bm25).chunk_ids) == sorted(store.vectors)


def test_document_removed_from_manifest_leaves_both_indexes(settings, deps, catalog, corpus):
    ingest_corpus(settings, deps=deps, progress=False)
    corpus.remove("cpg")
    report = ingest_corpus(settings, deps=deps, progress=False)
    assert report.removed == ["cpg"]
    assert _doc_ids(catalog.served(settings)) == {"q5c"}
    bm25 = load_keyword_index(_served(settings).bm25)
    assert all(not c.startswith("cpg#") for c in bm25.chunk_ids) and bm25.chunk_ids
    assert not _served(settings).pages("cpg").exists()


def test_unreadable_documents_are_reported_and_the_rest_ingests(settings, deps, catalog, corpus):
    real = (SHARED_CORPUS / SOURCES["part11"]).read_bytes()
    corpus.add("truncated", real[: len(real) // 2])
    corpus.add("textfile", b"this is not a PDF at all\n")
    corpus.add("empty", b"")
    report = ingest_corpus(settings, deps=deps, progress=False)
    assert report.added == ["cpg", "q5c"]
    assert sorted(s.doc_id for s in report.skipped) == ["empty", "textfile", "truncated"]
    assert all(s.path.endswith(f"{s.doc_id}.pdf") and s.reason for s in report.skipped)
    assert _doc_ids(catalog.served(settings)) == {"cpg", "q5c"}


def test_missing_file_and_checksum_mismatch_are_skipped_not_fatal(settings, deps, corpus):
    corpus.entries["ghost"] = manifest_entry("ghost", "ghost.pdf", "1" * 64)
    corpus.entries["cpg"]["sha256"] = "0" * 64
    corpus.write()
    report = ingest_corpus(settings, deps=deps, progress=False)
    reasons = {s.doc_id: s.reason for s in report.skipped}
    assert "run `regkb corpus fetch`" in reasons["ghost"]
    assert "sha256 differs from the manifest" in reasons["cpg"]
    assert report.added == ["q5c"]


def test_index_built_with_other_settings_is_refused(settings, deps, catalog):
    ingest_corpus(settings, deps=deps, progress=False)
    store = catalog.served(settings)
    changed = settings.model_copy(update={"chunking": settings.chunking.model_copy(update={"chunk_tokens": 120})})
    with pytest.raises(IndexStateError, match=r"chunk_tokens differ.*regkb ingest --rebuild"):
        open_knowledge_base(changed, embedder=deps.embedder(), store=store, checkpoints=False)


def test_no_index_says_how_to_build_one(settings, deps):
    with pytest.raises(IndexStateError, match="build it with `regkb ingest`"):
        open_knowledge_base(settings, embedder=deps.embedder(), store=MemoryStore(), checkpoints=False)


def test_search_and_ask_over_fake_index(settings, deps, catalog):
    ingest_corpus(settings, deps=deps, progress=False)
    kb = open_knowledge_base(settings, embedder=deps.embedder(), store=catalog.served(settings), checkpoints=False)
    passages = kb.search("stability testing of biotechnological products", k=3)
    assert passages[0].chunk.doc_id == "q5c"
    assert len({(p.chunk.doc_id, p.chunk.start) for p in passages}) == 3


# --- generations: an interrupted ingest never changes what is served, the next one repairs ---------


def _answerable(settings: Settings, catalog: MemoryCatalog, embedder: FakeEmbedder) -> str:
    """The served index opens whole and answers; returns its snapshot."""
    from kb.access import PUBLIC
    from kb.catalog import list_documents

    kb = open_knowledge_base(settings, embedder=embedder, store=catalog.served(settings), checkpoints=False)
    assert len(kb.chunks) == catalog.served(settings).count() == sum(d.chunks for d in kb.state.documents.values())
    assert kb.search("stability testing of biotechnological products", k=3)[0].chunk.doc_id == "q5c"
    rows = list_documents(settings, PUBLIC)  # `regkb docs`: the manifest's documents, indexed as the served index says
    assert {row.record.id for row in rows if row.indexed} == set(kb.records) & {row.record.id for row in rows}
    return kb.corpus_snapshot


def _generations(settings: Settings) -> list[str]:
    return sorted(p.name for p in (settings.data_dir / "generations").iterdir())


class BoomError(RuntimeError):
    pass


FIRED: list[str] = []


def _explode(*args: object, **kwargs: object) -> None:
    FIRED.append("fault")
    raise BoomError("injected fault")


_PARSED: dict[tuple[str, str], object] = {}


@pytest.fixture
def parse_once(monkeypatch):
    """The same PDFs are parsed in each of the many fault cases: parse each file once (by content)."""
    from ingest import pipeline

    real = pipeline.parse_pdf

    def cached(path: Path, doc_id: str):
        key = (_sha(path), doc_id)
        if key not in _PARSED:
            _PARSED[key] = real(path, doc_id)
        return _PARSED[key]

    monkeypatch.setattr(pipeline, "parse_pdf", cached)


# Each step of an ingest, by the function in ingest.pipeline that does it.
STEPS = ["parse_pdf", "chunk_document", "write_pages", "write_chunks", "save_keyword_index", "write_state"]


@pytest.mark.parametrize("step", STEPS + ["embed", "vector_write", "carry_over"])
@pytest.mark.parametrize("kind", ["add", "rebuild", "remove"])
def test_a_fault_at_any_step_leaves_the_served_index_whole_and_the_next_ingest_repairs(
    settings, deps, catalog, embedder, corpus, monkeypatch, parse_once, step, kind
):
    ingest_corpus(settings, deps=deps, progress=False)
    served = _answerable(settings, catalog, embedder)
    if kind == "add":
        corpus.add("part11", SHARED_CORPUS / SOURCES["part11"])
    elif kind == "remove":
        corpus.remove("cpg")
    with monkeypatch.context() as patch:
        if step == "embed":
            patch.setattr(embedder, "embed_documents", _explode)
        elif step == "vector_write":
            patch.setattr(MemoryStore, "add", _explode)
        elif step == "carry_over":
            patch.setattr(MemoryStore, "document", _explode)
        else:
            patch.setattr(f"ingest.pipeline.{step}", _explode)
        FIRED.clear()
        with contextlib.suppress(BoomError):
            ingest_corpus(settings, deps=deps, rebuild=kind == "rebuild", progress=False)
    if not FIRED:  # the step is not part of this kind of ingest: a removal parses nothing, a rebuild carries nothing
        parsing = {"parse_pdf", "chunk_document", "write_pages", "write_chunks", "embed", "vector_write"}
        assert (kind, step in parsing) == ("remove", True) or (kind, step) == ("rebuild", "carry_over")
    else:
        assert _answerable(settings, catalog, embedder) == served
    report = ingest_corpus(settings, deps=deps, rebuild=kind == "rebuild", progress=False)
    assert report.skipped == []
    assert _answerable(settings, catalog, embedder) == report.snapshot
    # What the broken run left is gone: the published generation and the one before it remain.
    assert len(_generations(settings)) <= 2 and len(catalog.names()) <= 2
    state = read_state(IndexPaths(settings.data_dir))
    assert state is not None and set(_generations(settings)) == {state.generation, state.previous}


def test_removing_a_document_does_not_touch_the_generation_still_being_served(
    settings, deps, catalog, embedder, corpus
):
    ingest_corpus(settings, deps=deps, progress=False)
    before = catalog.served(settings)
    kb = open_knowledge_base(settings, embedder=embedder, store=before, checkpoints=False)
    corpus.remove("cpg")
    ingest_corpus(settings, deps=deps, progress=False)
    # The old knowledge base (a server that has not reloaded yet) still finds the removed document.
    assert {p.chunk.doc_id for p in kb.search("process validation", k=10)} >= {"cpg"}
    assert kb.page_text("cpg", 1)
    assert _doc_ids(catalog.served(settings)) == {"q5c"}


def test_lost_vectors_stray_vectors_and_a_lost_chunk_file_are_repaired_by_a_plain_ingest(
    settings, deps, catalog, embedder
):
    ingest_corpus(settings, deps=deps, progress=False)
    store = catalog.served(settings)
    gone = sorted(c for c, m in store.metadata.items() if m["doc_id"] == "cpg")[:3]
    for chunk_id in gone:
        del store.vectors[chunk_id], store.metadata[chunk_id]
    store.add(["stray#1"], embedder.embed_documents(["stray text"]), [{"doc_id": "stray"}])
    _served(settings).chunks("q5c").unlink()
    report = ingest_corpus(settings, deps=deps, progress=False)
    assert report.repaired == ["cpg", "q5c"] and report.replaced == ["cpg", "q5c"]
    assert "stray#1" not in catalog.served(settings).vectors
    _answerable(settings, catalog, embedder)
    assert not ingest_corpus(settings, deps=deps, progress=False).wrote


def test_a_damaged_keyword_index_is_rebuilt_without_re_embedding(settings, deps, catalog, embedder):
    ingest_corpus(settings, deps=deps, progress=False)
    shutil.rmtree(_served(settings).bm25)
    calls = embedder.calls
    report = ingest_corpus(settings, deps=deps, progress=False)
    assert report.unchanged == ["cpg", "q5c"] and embedder.calls == calls
    _answerable(settings, catalog, embedder)


def test_an_index_of_the_layout_before_generations_is_rebuilt_and_its_files_removed(settings, deps, catalog, embedder):
    legacy = settings.data_dir
    (legacy / "pages").mkdir(parents=True)
    (legacy / "chunks").mkdir()
    (legacy / "state.json").write_text('{"fingerprint": {}, "documents": {}}')
    catalog.open("regkb-0123456789ab")
    with pytest.raises(IndexStateError, match="older regkb; rebuild it with `regkb ingest`"):
        open_knowledge_base(settings, embedder=embedder, store=MemoryStore(), checkpoints=False)
    report = ingest_corpus(settings, deps=deps, progress=False)
    assert report.added == ["cpg", "q5c"]
    assert not (legacy / "pages").exists() and not (legacy / "chunks").exists()
    assert "regkb-0123456789ab" not in catalog.names()
    _answerable(settings, catalog, embedder)


def test_a_second_ingest_is_refused_while_one_runs_and_a_dead_holders_lock_is_taken(settings, deps):
    from ingest.lock import ingest_lock
    from kb.errors import IngestBusyError

    busy = r"another ingest \(pid \d+, started .*\) is writing .*--wait"
    with ingest_lock(IndexPaths(settings.data_dir).lock), pytest.raises(IngestBusyError, match=busy):
        ingest_corpus(settings, deps=deps, progress=False, wait_seconds=0.3)
    # The holder has gone (as a killed process's lock goes with it): the next ingest takes the lock.
    assert ingest_corpus(settings, deps=deps, progress=False).added == ["cpg", "q5c"]


def test_an_unreadable_file_is_remembered_so_a_plain_ingest_stays_a_no_op(settings, deps, corpus):
    corpus.add("textfile", b"this is not a PDF at all\n")
    first = ingest_corpus(settings, deps=deps, progress=False)
    assert [s.doc_id for s in first.skipped] == ["textfile"]
    loads = []
    quiet = IngestDependencies(
        tokenizer=lambda: loads.append("model") or deps.tokenizer(),
        embedder=lambda: loads.append("model") or deps.embedder(),
        catalog=deps.catalog,
    )
    before = _tree(settings.data_dir)
    again = ingest_corpus(settings, deps=quiet, progress=False)
    assert not again.wrote and loads == [] and _tree(settings.data_dir) == before
    assert [(s.doc_id, s.reason) for s in again.skipped] == [(s.doc_id, s.reason) for s in first.skipped]
    corpus.add("textfile", SHARED_CORPUS / SOURCES["part11"], name="textfile.pdf")  # fixed: parsed again
    assert ingest_corpus(settings, deps=deps, progress=False).added == ["textfile"]
    assert read_state(IndexPaths(settings.data_dir)).unreadable == {}


def test_a_broken_new_version_keeps_the_indexed_one(settings, deps, catalog, embedder, corpus):
    first = ingest_corpus(settings, deps=deps, progress=False)
    corpus.add("q5c", b"%PDF-1.4 truncated", name="q5c.pdf")
    report = ingest_corpus(settings, deps=deps, progress=False)
    assert [s.doc_id for s in report.skipped] == ["q5c"] and report.snapshot == first.snapshot
    assert _answerable(settings, catalog, embedder) == first.snapshot


def test_parsing_in_worker_processes_gives_the_same_index(settings, deps, corpus, tmp_path):
    corpus.add("part11", SHARED_CORPUS / SOURCES["part11"])
    corpus.add("annex11", SHARED_CORPUS / "ec/ec-eudralex-vol4-annex11-computerised-systems-2011.pdf")
    corpus.add("broken", b"%PDF-1.4 not really")
    parallel = settings.model_copy(update={"ingest_workers": 2})
    serial = settings.model_copy(update={"ingest_workers": 1, "data_dir": tmp_path / "serial"})
    one, two = ingest_corpus(parallel, deps=deps, progress=False), ingest_corpus(serial, deps=deps, progress=False)
    assert one.added == two.added == ["annex11", "cpg", "part11", "q5c"]
    assert [(s.doc_id, s.reason) for s in one.skipped] == [(s.doc_id, s.reason) for s in two.skipped]
    for doc_id in one.added:
        assert (_served(parallel).chunks(doc_id)).read_text() == (_served(serial).chunks(doc_id)).read_text()
