"""Hybrid retrieval over a fake embedder and an in-memory store."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from kb.filters import Filters, chunk_metadata
from kb.glossary import Glossary, GlossaryTerm
from kb.keyword_index import build_keyword_index
from kb.models import Chunk, DocumentRecord, Passage
from kb.retrieve import retrieve
from kb.settings import RetrievalSettings
from kb.versions import names_document, names_version
from tests.fakes import FakeEmbedder, MemoryStore

pytestmark = pytest.mark.unit

TEXT = "Risk assessment consists of the identification of hazards and the analysis of risks."


def _record(doc_id: str, status: str, reference: str, agency: str = "ICH") -> DocumentRecord:
    return DocumentRecord(
        id=doc_id,
        title=doc_id,
        agency=agency,
        jurisdiction="ICH",
        doc_type="guideline",  # type: ignore[arg-type]
        reference=reference,
        version="",
        status=status,
        url="https://example.org/x.pdf",  # type: ignore[arg-type]
    )


def _chunk(doc_id: str, n: int, text: str, start: int) -> Chunk:
    return Chunk(
        chunk_id=f"{doc_id}#p1-c{n}",
        doc_id=doc_id,
        text=text,
        section="4",
        section_title="Risk",
        section_path=("4",),
        first_page=1,
        last_page=1,
        start=start,
        end=start + len(text),
    )


RECORDS = {
    "old-q9": _record("old-q9", "superseded", "ICH Q9"),
    "new-guide": _record("new-guide", "final", "ICH Q99"),
    "fda-doc": _record("fda-doc", "final", "FDA X", agency="FDA (CDER)"),
}
CHUNKS = {
    c.chunk_id: c
    for c in (
        _chunk("old-q9", 0, TEXT, 0),
        _chunk("new-guide", 0, TEXT, 0),
        _chunk("new-guide", 1, TEXT + " Overlapping tail.", 40),  # overlaps new-guide#p1-c0
        _chunk("fda-doc", 0, "Batch records are reviewed by the quality unit before release.", 0),
    )
}


def _passages(
    question: str,
    filters: Filters = Filters(),
    k: int = 5,
    penalty: float = 0.9,
    records: dict[str, DocumentRecord] = RECORDS,
    embedder: FakeEmbedder | None = None,
    glossary: Glossary | None = None,
) -> list[Passage]:
    embedder, store = embedder or FakeEmbedder(), MemoryStore()
    ids = list(CHUNKS)
    store.add(
        ids,
        embedder.embed_documents([CHUNKS[c].text for c in ids]),
        [chunk_metadata(records[CHUNKS[c].doc_id], CHUNKS[c]) for c in ids],
    )
    passages = retrieve(
        question,
        filters,
        k=k,
        embedder=embedder,
        store=store,
        keyword_index=build_keyword_index(ids, [CHUNKS[c].text for c in ids]),
        chunks=CHUNKS,
        records=records,
        settings=RetrievalSettings(superseded_penalty=penalty),
        glossary=glossary,
    )
    assert all(p.dense_similarity is not None for p in passages)
    return passages


def _search(question: str, filters: Filters = Filters(), penalty: float = 0.9) -> list[str]:
    return [p.chunk.chunk_id for p in _passages(question, filters, penalty=penalty)]


def _scores(question: str) -> dict[str, float]:
    return {p.chunk.doc_id: p.score for p in _passages(question)}


def test_superseded_ranks_below_an_equally_relevant_current_document():
    assert _search("hazard identification risk analysis")[:2] == ["new-guide#p1-c0", "old-q9#p1-c0"]


def test_superseded_is_not_penalised_when_asked_for():
    assert _search("hazard identification", Filters(status=("superseded",))) == ["old-q9#p1-c0"]
    # Both chunks hold the same text: the fake dense store breaks the tie by id (new-guide first), BM25 by
    # index order (old-q9 first), so before the penalty each scores 1/21 + 1/22.
    plain = _scores("hazard identification risk analysis")
    assert plain["old-q9"] == pytest.approx(0.9 * plain["new-guide"], rel=1e-3)
    named = _scores("What does Q9 say about hazard identification risk analysis?")
    # Asked for by its code, the old Q9 is not penalised: it counts as the document the question names.
    assert named["old-q9"] == pytest.approx(RetrievalSettings().named_document_weight * named["new-guide"])


def test_a_document_is_named_by_its_alias_not_by_another_guidelines_annex():
    annex = replace(RECORDS["fda-doc"], aliases=("Annex 1",))
    records = {**RECORDS, "fda-doc": annex}
    assert names_document("Is PUPSIT required under Annex 1?", annex, records)
    assert names_document(
        "is pupsit required under the EU GMP annex-1?", replace(annex, aliases=("GMP Annex 1",)), records
    )
    assert not names_document("What does Q4B Annex 1 say?", annex, records)  # another guideline's annex
    assert not names_document("What does Annex 15 say?", annex, records)
    assert not names_document("What does Annex 1 say?", RECORDS["fda-doc"], RECORDS)  # no alias: not named
    # An alias containing another document's code names only its own document.
    q9_annex = replace(RECORDS["new-guide"], id="q9-annex", aliases=("Q9 Annex",))
    with_annex = {**RECORDS, "q9-annex": q9_annex}
    assert names_document("Which tools does the Q9 Annex list?", q9_annex, with_annex)
    assert not names_document("Which tools does the Q9 Annex list?", RECORDS["old-q9"], with_annex)
    assert names_document("Which tools does Q9 list?", RECORDS["old-q9"], with_annex)


def test_overlapping_chunks_of_one_document_are_deduplicated():
    ids = _search("hazard identification risk analysis")
    assert "new-guide#p1-c1" not in ids and "new-guide#p1-c0" in ids


def test_filters_restrict_both_rankings():
    assert _search("quality unit batch records risk", Filters(agency=("FDA",))) == ["fda-doc#p1-c0"]


def test_a_question_names_the_code_not_a_longer_one():
    q9 = RECORDS["old-q9"]
    assert names_version("What does ICH Q9 say?", q9, RECORDS)
    assert names_version("q9 risk tools", q9, RECORDS)
    assert not names_version("What does Q99 say?", q9, RECORDS)
    assert not names_version("What does Q10 say?", q9, RECORDS)


def test_a_superseded_document_whose_successor_is_indexed_answers_only_when_named():
    old = replace(RECORDS["old-q9"], superseded_by="new-guide", version="Step 4, 2005")
    records = {**RECORDS, "old-q9": old}
    default = [p.chunk.chunk_id for p in _passages("hazard identification risk analysis", records=records)]
    assert "old-q9#p1-c0" not in default and "new-guide#p1-c0" in default
    named = [p.chunk.chunk_id for p in _passages("the 2005 Q9 on hazard identification", records=records)]
    assert "old-q9#p1-c0" in named


def test_ids_a_damaged_store_returns_without_a_chunk_are_skipped_and_logged(caplog):
    """Stray vectors and a keyword index ahead of the chunk files (damage done outside regkb) must not
    turn every question into a crash; the rest of the index still answers."""
    embedder, store = FakeEmbedder(), MemoryStore()
    ids = list(CHUNKS) + ["gone#p1-c0"]
    texts = [CHUNKS[c].text for c in CHUNKS] + [TEXT]
    store.add(ids, embedder.embed_documents(texts), [{"doc_id": "gone"} for _ in ids])
    with caplog.at_level("WARNING", logger="kb.retrieve"):
        passages = retrieve(
            "identification of hazards",
            Filters(),
            k=5,
            embedder=embedder,
            store=store,
            keyword_index=build_keyword_index(ids, texts),
            chunks=CHUNKS,
            records=RECORDS,
            settings=RetrievalSettings(),
        )
    assert passages and all(p.chunk.chunk_id in CHUNKS for p in passages)
    assert "gone#p1-c0" in caplog.text and "regkb ingest" in caplog.text


class _RecordingEmbedder(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.queries: list[str] = []

    def embed_query(self, text: str) -> np.ndarray:
        self.queries.append(text)
        return super().embed_query(text)


def test_the_askers_own_atmp_product_is_not_searched_for_a_subject_asked_about_is():
    glossary = Glossary(
        (
            GlossaryTerm("CAR-T", ("CAR T",), covered_by=("fda-car-t",)),
            GlossaryTerm("PPQ", ("process performance qualification",)),
        )
    )
    embedder = _RecordingEmbedder()
    for question in ("Who reviews batch records of our CAR-T PPQ lots?", "Does CAR-T need PPQ?"):
        _passages(question, k=3, embedder=embedder, glossary=glossary)
    assert embedder.queries == [
        "Who reviews batch records of our PPQ lots? (process performance qualification)",
        "Does CAR-T need PPQ? (process performance qualification)",
    ]
