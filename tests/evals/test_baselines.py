"""The LangChain recipe baseline over two real PDFs, a fake embedder and a real Chroma under tmp_path."""

from __future__ import annotations

from pathlib import Path

import chromadb
import pytest
from pypdf import PdfReader

from evals.baselines import COLLECTION_NAME, LangChainBaseline, build_langchain_baseline, recipe_chunks
from kb.models import DocumentRecord
from tests.fakes import FakeEmbedder

pytestmark = pytest.mark.unit

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
CPG = "fda-cpg-490-100-2004"
Q5C = "ich-q5c-1995"
FILES = {
    CPG: "fda/fda-cpg-490-100-process-validation-2004.pdf",
    Q5C: "ich/ich-q5c-stability-biotechnological-products-1995.pdf",
}
PAGES = {doc_id: len(PdfReader(CORPUS / file).pages) for doc_id, file in FILES.items()}


def _record(doc_id: str, file: str | None) -> DocumentRecord:
    return DocumentRecord(
        id=doc_id,
        title=doc_id,
        agency="ICH",
        jurisdiction="ICH",
        doc_type="guideline",  # type: ignore[arg-type]
        reference=doc_id,
        version="",
        status="final",
        url="https://example.org/x.pdf",
        file=file,
        available_offline=file is not None,
    )


RECORDS = [_record(CPG, FILES[CPG]), _record(Q5C, FILES[Q5C]), _record("online-only", None)]


def _collection(persist_dir: Path) -> chromadb.Collection:
    client = chromadb.PersistentClient(path=str(persist_dir), settings=chromadb.Settings(anonymized_telemetry=False))
    return client.get_collection(COLLECTION_NAME)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> LangChainBaseline:
    return build_langchain_baseline(RECORDS, CORPUS, FakeEmbedder(), persist_dir=tmp_path_factory.mktemp("chroma"))


def test_chunks_fit_the_splitter_size_and_skip_records_without_a_file():
    chunks = recipe_chunks(RECORDS, CORPUS)
    per_doc = {doc_id: sum(c.metadata["doc_id"] == doc_id for c in chunks) for doc_id in (CPG, Q5C, "online-only")}
    assert per_doc == {CPG: 19, Q5C: 38, "online-only": 0}
    assert max(len(c.page_content) for c in chunks) <= 1000
    assert all(1 <= c.metadata["page"] <= PAGES[c.metadata["doc_id"]] for c in chunks)


def test_evidence_is_ten_stored_chunks_with_their_doc_and_page(baseline: LangChainBaseline):
    stored = {(c.metadata["doc_id"], c.metadata["page"], c.page_content) for c in recipe_chunks(RECORDS, CORPUS)}
    answer = baseline.answer("process validation of drug manufacturing")
    assert len(answer.evidence) == 10
    assert all((e.doc_id, e.pages[0], e.text) in stored and len(e.pages) == 1 for e in answer.evidence)
    assert answer.citations == answer.evidence[:5]
    assert (answer.quotes_verified, answer.quotes_checked) == (0, 0)


def test_q5c_words_rank_a_q5c_chunk_first(baseline: LangChainBaseline):
    answer = baseline.answer("Stability testing of biotechnological/biological products")
    assert answer.evidence[0].doc_id == Q5C


def test_the_recipe_always_answers(baseline: LangChainBaseline):
    answer = baseline.answer("zebra marathon weather forecast")
    assert answer.status == "answered"
    assert len(answer.citations) == 5
    assert answer.latency_ms > 0


def test_chroma_holds_every_chunk_and_no_default_embedding_function(tmp_path: Path):
    built = build_langchain_baseline(RECORDS, CORPUS, FakeEmbedder(), persist_dir=tmp_path)
    collection = _collection(tmp_path)
    assert collection.count() == built.chunk_count == 57
    assert collection.configuration["embedding_function"] is None  # Chroma's default would download a model


def test_a_second_build_replaces_the_first(tmp_path: Path):
    build_langchain_baseline(RECORDS, CORPUS, FakeEmbedder(), persist_dir=tmp_path)
    build_langchain_baseline(RECORDS, CORPUS, FakeEmbedder(), persist_dir=tmp_path)
    assert _collection(tmp_path).count() == 57

    only_q5c = build_langchain_baseline([RECORDS[1]], CORPUS, FakeEmbedder(), persist_dir=tmp_path)
    assert _collection(tmp_path).count() == 38
    assert {e.doc_id for e in only_q5c.answer("process validation").evidence} == {Q5C}


def test_k_outside_the_ten_passages_is_refused(baseline: LangChainBaseline):
    with pytest.raises(ValueError, match="k=11"):
        LangChainBaseline(baseline.store, k=11)
