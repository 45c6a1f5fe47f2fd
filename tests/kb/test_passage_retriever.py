"""Passage retrieval through the production retrieve(): ranking, metadata, validation, the embedding cache."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from kb import build_passage_retriever
from kb.errors import ConfigError, FilterError
from kb.passage_retriever import MatrixStore, cache_folder
from kb.settings import EmbeddingSettings, Settings
from tests.fakes import FakeEmbedder

PASSAGES = [
    {
        "id": "sterility",
        "text": "Sterility testing of the final product uses membrane filtration or direct inoculation.",
    },
    {
        "id": "validation",
        "text": "Process validation has three stages: process design, process qualification and continued "
        "process verification.",
    },
    {"id": "cleanroom", "text": "Grade A zones require unidirectional airflow and continuous particle monitoring."},
    {
        "id": "stability",
        "text": "Stability studies establish the shelf life of the drug substance in long-term storage.",
    },
    {"id": "donor", "text": "Donor eligibility screening tests starting material for HIV and hepatitis markers."},
    {"id": "potency", "text": "A potency assay measures biological activity and reflects the mechanism of action."},
    {"id": "release", "text": "The qualified person certifies each batch before release to the market."},
    {"id": "risk", "text": "Quality risk management identifies hazards and estimates the severity of harm."},
]


class RecordingEmbedder(FakeEmbedder):
    """The fake embedder that also keeps every text it was asked to embed, and knows a few synonyms,
    so a query sharing no word with a passage can still be close to it (what BM25 cannot do)."""

    SYNONYMS = {"expiry": "shelf", "dating": "life"}

    def __init__(self) -> None:
        super().__init__()
        self.embedded: list[str] = []

    def embed_documents(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        self.embedded += list(texts)
        return super().embed_documents(texts, progress=progress)

    def _vector(self, text: str) -> np.ndarray:
        words = [self.SYNONYMS.get(w, w) for w in re.findall(r"\w+", text.lower())]
        return super()._vector(" ".join(words))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path)


def _build(passages: list[dict], settings: Settings, embedder: FakeEmbedder | None = None):  # type: ignore[no-untyped-def]
    return build_passage_retriever(
        passages, settings=settings, embedder=embedder or RecordingEmbedder(), progress=False
    )


@pytest.mark.unit
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("membrane filtration sterility", "sterility"),
        ("particle monitoring of airflow", "cleanroom"),
        ("who certifies a batch", "release"),
        ("stages of process validation", "validation"),
    ],
)
def test_keyword_query_ranks_the_matching_passage_first(settings: Settings, query: str, expected: str):
    assert _build(PASSAGES, settings).search(query, k=3)[0] == expected


@pytest.mark.unit
def test_query_without_shared_words_is_found_by_the_dense_ranking(settings: Settings):
    embedder = RecordingEmbedder()
    passages = _build(PASSAGES, settings, embedder).search_passages("expiry dating", k=3)
    assert passages[0].chunk.chunk_id == "stability"
    assert passages[0].keyword_score is None  # BM25 found nothing: the dense side ranked it
    cosine = embedder.embed_query("expiry dating") @ embedder.embed_query(PASSAGES[3]["text"])
    assert passages[0].dense_similarity == pytest.approx(float(cosine), abs=1e-6)  # the bare passage text is embedded


@pytest.mark.unit
def test_superseded_passages_get_the_production_penalty(settings: Settings):
    text = "Risk assessment identifies hazards and analyses risks."
    passages = [{"id": "a-old", "text": text, "status": "superseded"}, {"id": "z-new", "text": text}]
    assert _build(passages, settings).search("risk assessment hazards", k=2) == ["z-new", "a-old"]


@pytest.mark.unit
def test_metadata_passes_through_to_chunk_record_and_metadata(settings: Settings):
    passage = {
        "id": "q9-4",
        "text": "Risk assessment consists of hazard identification, analysis and evaluation.",
        "title": "Quality Risk Management",
        "agency": "ICH",
        "reference": "ICH Q9(R1)",
        "status": "draft",
        "section": "4.1",
        "section_title": "Risk assessment",
        "page": 7,
        "source_file": "q9.pdf",
    }
    retriever = _build([passage, *PASSAGES], settings)
    (hit,) = retriever.search_passages("hazard identification analysis evaluation", k=1)
    assert (hit.chunk.chunk_id, hit.chunk.doc_id, hit.chunk.start, hit.chunk.end) == (
        "q9-4",
        "q9-4",
        0,
        len(passage["text"]),
    )
    assert (hit.chunk.section, hit.chunk.section_title, hit.chunk.pages) == ("4.1", "Risk assessment", [7])
    assert (hit.document.title, hit.document.agency, hit.document.reference) == (
        "Quality Risk Management",
        "ICH",
        "ICH Q9(R1)",
    )
    assert hit.document.status == "draft"
    assert retriever.metadata["q9-4"] == {k: v for k, v in passage.items() if k not in ("id", "text")}
    assert retriever.records["sterility"].title == "sterility"  # neutral defaults without metadata
    assert (retriever.records["sterility"].status, retriever.chunks["sterility"].pages) == ("final", [1])


@pytest.mark.unit
def test_an_unknown_status_falls_back_to_final(settings: Settings):
    retriever = _build([{"id": "x", "text": "Some text.", "status": "withdrawn?"}], settings)
    assert retriever.records["x"].status == "final"


@pytest.mark.unit
@pytest.mark.parametrize(
    ("passages", "message"),
    [
        (
            [{"id": "a", "text": "x"}, {"id": "a", "text": "y"}],
            "passage 1: id 'a' repeats passage 0; ids must be unique",
        ),
        ([{"id": "a", "text": "x"}, {"id": "b"}], "passage 1 ('b'): has no 'text'"),
        ([{"id": "a", "text": None}], "passage 0 ('a'): 'text' must be a str, got NoneType"),
        ([{"id": " ", "text": "x"}], "passage 0: 'id' must be a non-empty str, got ' '"),
        ([{"id": 3, "text": "x"}], "passage 0: 'id' must be a non-empty str, got 3"),
        ([{"id": "a", "text": "x"}, "b"], "passage 1: expected a dict with 'id' and 'text', got str"),
        ([{"id": "a", "text": "x", "page": 0}], "passage 0 ('a'): 'page' must be a positive int, got 0"),
    ],
)
def test_invalid_passages_raise_config_error_naming_the_passage(settings: Settings, passages: list, message: str):
    embedder = RecordingEmbedder()
    with pytest.raises(ConfigError) as raised:
        _build(passages, settings, embedder)
    assert str(raised.value) == message
    assert embedder.calls == 0


@pytest.mark.unit
def test_an_empty_collection_returns_no_passages(settings: Settings):
    embedder = RecordingEmbedder()
    retriever = _build([], settings, embedder)
    assert (retriever.search("anything", k=5), len(retriever), embedder.calls) == ([], 0, 0)


@pytest.mark.unit
def test_k_larger_than_the_collection_returns_every_passage(settings: Settings):
    ids = _build(PASSAGES, settings).search("process validation stages", k=50)
    assert ids[0] == "validation"
    assert sorted(ids) == sorted(p["id"] for p in PASSAGES)


@pytest.mark.unit
def test_k_above_the_candidate_pool_still_returns_k_passages(settings: Settings):
    passages = [{"id": f"p{i:03d}", "text": f"passage number {i} about topic {i % 7}"} for i in range(100)]
    assert settings.retrieval.candidates == 40
    assert len(_build(passages, settings).search("topic 3", k=90)) == 90


@pytest.mark.unit
@pytest.mark.parametrize(("query", "k"), [("  ", 3), ("sterility", 0)])
def test_an_empty_query_or_k_below_one_is_refused(settings: Settings, query: str, k: int):
    with pytest.raises(FilterError):
        _build(PASSAGES, settings).search(query, k=k)


@pytest.mark.unit
def test_a_second_build_of_the_same_texts_embeds_nothing(settings: Settings):
    first, second = RecordingEmbedder(), RecordingEmbedder()
    expected = _build(PASSAGES, settings, first).search("membrane filtration", k=8)
    assert _build(PASSAGES, settings, second).search("membrane filtration", k=8) == expected
    assert (first.calls, second.calls) == (1, 0)
    assert len(list(cache_folder(settings, first).glob("*.npz"))) == 1


@pytest.mark.unit
def test_a_changed_text_is_embedded_again_alone(settings: Settings):
    _build(PASSAGES, settings)
    changed = [*PASSAGES[:-1], {"id": "risk", "text": "Quality risk management is proactive."}]
    embedder = RecordingEmbedder()
    assert _build(changed, settings, embedder).search("proactive risk management", k=1) == ["risk"]
    assert embedder.embedded == ["Quality risk management is proactive."]


@pytest.mark.unit
def test_a_repeated_text_is_embedded_once(settings: Settings):
    embedder = RecordingEmbedder()
    _build([{"id": "a", "text": "same words"}, {"id": "b", "text": "same words"}], settings, embedder)
    assert embedder.embedded == ["same words"]


@pytest.mark.unit
def test_another_model_window_does_not_share_the_cache(settings: Settings):
    _build(PASSAGES, settings)
    other = Settings(data_dir=settings.data_dir, embedding=EmbeddingSettings(max_tokens=128))
    embedder = RecordingEmbedder()
    _build(PASSAGES, other, embedder)
    assert embedder.calls == 1
    assert cache_folder(other, embedder) != cache_folder(settings, embedder)


@pytest.mark.unit
@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_corrupt_cache_file_is_ignored_and_rebuilt(settings: Settings, damage: str):
    _build(PASSAGES, settings)
    (shard,) = cache_folder(settings, RecordingEmbedder()).glob("*.npz")
    data = shard.read_bytes()
    shard.write_bytes(b"not a zip file" if damage == "garbage" else data[: len(data) // 2])
    rebuilt, again = RecordingEmbedder(), RecordingEmbedder()
    assert _build(PASSAGES, settings, rebuilt).search("membrane filtration", k=1) == ["sterility"]
    _build(PASSAGES, settings, again)
    assert (len(rebuilt.embedded), again.calls) == (len(PASSAGES), 0)
    assert [p.name for p in shard.parent.iterdir()] == [shard.name]  # same texts, same shard name, now whole


@pytest.mark.unit
def test_many_shards_are_merged_into_one(settings: Settings, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("kb.passage_retriever._EMBED_BATCH", 3)  # 8 passages: shards of 3, 3 and 2
    monkeypatch.setattr("kb.passage_retriever._MAX_SHARDS", 2)
    first, second = RecordingEmbedder(), RecordingEmbedder()
    _build(PASSAGES, settings, first)
    _build(PASSAGES, settings, second)
    assert (first.calls, second.calls, len(list(cache_folder(settings, first).glob("*.npz")))) == (3, 0, 1)


@pytest.mark.unit
def test_progress_bar_goes_to_stderr_when_asked(settings: Settings, capsys: pytest.CaptureFixture[str]):
    build_passage_retriever(PASSAGES, settings=settings, embedder=RecordingEmbedder(), progress=True)
    assert "embed: 100%" in capsys.readouterr().err


@pytest.mark.unit
def test_matrix_store_upserts_and_deletes():
    store = MatrixStore(2)
    store.add(["a", "b"], np.array([[1.0, 0.0], [0.0, 2.0]]), [{"doc_id": "d1"}, {"doc_id": "d2"}])
    store.add(["a"], np.array([[0.0, 1.0]]), [{"doc_id": "d1"}])
    assert [(h.chunk_id, h.similarity) for h in store.query(np.array([0.0, 1.0]), 5)] == [("a", 1.0), ("b", 1.0)]
    store.delete_document("d2")
    assert (store.count(), store.similarities(np.array([1.0, 0.0]), ["a", "b"])) == (1, {"a": 0.0})


@pytest.mark.unit
def test_twenty_thousand_passages_build_and_search(settings: Settings):
    """Scale check (speed itself is measured by scripts/, not asserted): a few seconds with the fake embedder."""
    passages = [
        {"id": f"s{i:05d}", "text": f"synthetic passage {i} on subject {i % 97} with marker w{i}"}
        for i in range(20_000)
    ]
    embedder = RecordingEmbedder()
    ids = _build(passages, settings, embedder).search(passages[12345]["text"], k=10)
    assert (len(ids), ids[0], embedder.calls) == (10, "s12345", 10)  # 20,000 texts in batches of 2,048


PARAPHRASE_PASSAGES = [
    *PASSAGES,
    {"id": "deviation", "text": "Deviations from approved procedures are recorded and investigated by quality."},
    {"id": "labelling", "text": "The immediate container label shows the product name, lot number and expiry date."},
]


@pytest.fixture(scope="module")
def real_retriever(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path_factory.mktemp("regkb-data"))
    return build_passage_retriever(PARAPHRASE_PASSAGES, settings=settings, progress=False)


@pytest.mark.integration
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("For how many months does the medicine remain usable?", "stability"),  # no shared word: dense alone
        ("How strong is the biological effect of the medicine?", "potency"),
        ("What records are kept when staff do not follow the written instructions?", "deviation"),
    ],
)
def test_real_model_ranks_the_paraphrased_passage_first(real_retriever, query: str, expected: str):  # type: ignore[no-untyped-def]
    assert real_retriever.search(query, k=3)[0] == expected
