from __future__ import annotations

import logging

import pytest

from kb.answer import assess_evidence, build_answer, term_coverage
from kb.models import Answer, Chunk, DocumentRecord, ParsedDocument, Passage, Status
from kb.quotes import verify_quote
from kb.settings import AnswerSettings

pytestmark = pytest.mark.unit

CERTIFY = (
    "1.1 Certification\n"
    "The Qualified Person must certify each batch before release for sale. Certification is recorded\n"
    "in a register. The register must be kept for five years."
)
QUALITY_UNIT = (
    "The quality control unit shall approve or reject all components, containers and closures.\n"
    "Batch release decisions are documented by the quality unit before distribution."
)
RISK = (
    "Quality risk management is a systematic process for the assessment of risk. It applies across the\n"
    "product lifecycle."
)


def _record(
    doc_id: str, *, status: Status = "final", superseded_by: str | None = None, url: str | None = None
) -> DocumentRecord:
    return DocumentRecord(
        id=doc_id,
        title=f"Title of {doc_id}",
        agency="EMA",
        jurisdiction="EU",
        doc_type="guideline",
        reference=f"REF {doc_id}",
        version="1",
        status=status,
        url=url if url is not None else f"https://example.org/{doc_id}.pdf",
        superseded_by=superseded_by,
    )


class _Corpus:
    """Parsed documents and the page text store the answer verifies quotes against."""

    def __init__(self) -> None:
        self.docs: dict[str, ParsedDocument] = {}
        self.records: dict[str, DocumentRecord] = {}

    def add(self, record: DocumentRecord, *pages: str) -> None:
        self.docs[record.id], self.records[record.id] = ParsedDocument(record.id, pages), record

    def page_text(self, doc_id: str, page: int) -> str:
        return self.docs[doc_id].pages[page - 1]

    def passage(self, doc_id: str, first: str, last: str, *, score: float = 0.5, n: int = 0) -> Passage:
        """The chunk running from the text `first` to the end of the text `last`."""
        doc = self.docs[doc_id]
        start = doc.text.index(first)
        end = doc.text.index(last, start) + len(last)
        chunk = Chunk(
            chunk_id=f"{doc_id}#p{doc.page_at(start)}-c{n}",
            doc_id=doc_id,
            text=doc.text[start:end],
            section="4.1",
            section_title="Release",
            section_path=("4", "4.1"),
            first_page=doc.page_at(start),
            last_page=doc.page_at(end - 1),
            start=start,
            end=end,
        )
        return Passage(chunk=chunk, document=self.records[doc_id], score=score, dense_similarity=0.6)


def _answer(corpus: _Corpus, question: str, passages: list[Passage], **settings: int) -> Answer:
    return build_answer(
        question,
        passages,
        page_text=corpus.page_text,
        settings=AnswerSettings(**settings),
        corpus_snapshot="snap-1",
        evidence_ok=True,
    )


@pytest.fixture
def corpus() -> _Corpus:
    corpus = _Corpus()
    corpus.add(_record("annex16"), CERTIFY)
    corpus.add(_record("cfr211"), QUALITY_UNIT)
    corpus.add(_record("q9"), RISK)
    return corpus


def _three(corpus: _Corpus) -> list[Passage]:
    return [
        corpus.passage("annex16", "1.1 Certification", "five years.", score=0.9),
        corpus.passage("cfr211", "The quality control", "distribution.", score=0.8),
        corpus.passage("q9", "Quality risk", "lifecycle.", score=0.7),
    ]


def test_lead_is_the_best_sentences_verbatim_with_markers_in_passage_order(corpus: _Corpus) -> None:
    answer = _answer(corpus, "Who must certify a batch before release?", _three(corpus), extra_citations=5)

    assert answer.status == "answered"
    assert answer.answer == (
        "The Qualified Person must certify each batch before release for sale. [1] "
        "Batch release decisions are documented by the quality unit before distribution. [2]"
    )
    assert [(c.marker, c.doc_id, c.quote) for c in answer.citations] == [
        (1, "annex16", "The Qualified Person must certify each batch before release for sale."),
        (2, "cfr211", "Batch release decisions are documented by the quality unit before distribution."),
        (3, "q9", "Quality risk management is a systematic process for the assessment of risk."),
    ]
    first = answer.citations[0]
    assert (first.pages, first.url, first.score, first.chunk_id) == (
        (1,),
        "https://example.org/annex16.pdf#page=1",
        0.9,
        "annex16#p1-c0",
    )
    assert (first.section, first.section_title, first.reference, first.agency) == (
        "4.1",
        "Release",
        "REF annex16",
        "EMA",
    )
    assert answer.corpus_snapshot == "snap-1"
    assert answer.timings_ms == {}


def test_two_lead_sentences_of_one_passage_share_a_marker_and_one_quote() -> None:
    corpus = _Corpus()
    corpus.add(
        _record("annex16"),
        "The Qualified Person must certify each batch before release for sale. Certification of every batch "
        "is recorded in a register. The Qualified Person must certify the batch against the marketing "
        "authorisation.",
    )
    passage = corpus.passage("annex16", "The Qualified", "authorisation.")

    answer = _answer(corpus, "What must the Qualified Person certify?", [passage])

    assert answer.answer == (
        "The Qualified Person must certify each batch before release for sale. [1] "
        "The Qualified Person must certify the batch against the marketing authorisation. [1]"
    )
    assert [c.quote for c in answer.citations] == [
        "The Qualified Person must certify each batch before release for sale. Certification of every batch is "
        "recorded in a register. The Qualified Person must certify the batch against the marketing authorisation."
    ]


DEDUP_PAGE = (
    "Each batch must be certified by the Qualified Person. Deviations must be investigated and documented "
    "promptly. Batch records must be retained for at least one year after the expiry date of the batch. "
    "Electronic records must be retained with an audit trail for the same period."
)


def _overlapping(corpus: _Corpus) -> list[Passage]:
    corpus.add(_record("annex16"), DEDUP_PAGE)
    return [
        corpus.passage("annex16", "Each batch", "of the batch.", score=0.9, n=0),
        corpus.passage("annex16", "Batch records", "same period.", score=0.8, n=1),
    ]


def test_a_sentence_shared_by_overlapping_passages_leads_once() -> None:
    corpus = _Corpus()
    passages = _overlapping(corpus)

    answer = _answer(corpus, "How long must batch records be retained?", passages, lead_sentences=2)

    assert answer.answer == (
        "Batch records must be retained for at least one year after the expiry date of the batch. [1] "
        "Electronic records must be retained with an audit trail for the same period. [2]"
    )


def test_by_default_only_the_passages_the_lead_quotes_are_cited(corpus: _Corpus) -> None:
    answer = _answer(corpus, "Who must certify a batch before release?", _three(corpus))
    assert [(c.marker, c.doc_id) for c in answer.citations] == [(1, "annex16"), (2, "cfr211")]
    one_more = _answer(corpus, "Who must certify a batch before release?", _three(corpus), extra_citations=1)
    assert [(c.marker, c.doc_id) for c in one_more.citations] == [(1, "annex16"), (2, "cfr211"), (3, "q9")]


def test_a_passage_without_lead_sentence_is_quoted_by_a_sentence_not_already_quoted() -> None:
    corpus = _Corpus()
    passages = _overlapping(corpus)

    answer = _answer(corpus, "How long must batch records be retained?", passages, lead_sentences=1, extra_citations=5)

    assert (
        answer.answer == "Batch records must be retained for at least one year after the expiry date of the batch. [1]"
    )
    assert [c.quote for c in answer.citations] == [
        "Batch records must be retained for at least one year after the expiry date of the batch.",
        "Electronic records must be retained with an audit trail for the same period.",
    ]


def test_a_long_sentence_is_quoted_up_to_max_chars_at_a_word_boundary() -> None:
    corpus = _Corpus()
    sentence = (
        "The contamination control strategy should cover all critical control points across the facility, "
        "including premises, equipment, utilities, personnel, raw materials and monitoring systems."
    )
    corpus.add(_record("annex1"), sentence)
    passage = corpus.passage("annex1", "The contamination", "systems.")

    answer = _answer(corpus, "What should the contamination control strategy cover?", [passage], quote_max_chars=60)

    quote = answer.citations[0].quote
    assert quote == "The contamination control strategy should cover all critical"
    assert len(quote) <= 60
    assert verify_quote(quote, [sentence])
    assert answer.answer == f"{sentence} [1]"


def _two_page_corpus() -> tuple[_Corpus, Passage]:
    corpus = _Corpus()
    corpus.add(
        _record("annex1", url="https://example.org/annex1.pdf#section-8"),
        "Page one is about premises.",
        "Cleaning agents must be validated for their\neffectiveness.",
        "Aseptic processing requires a high\nstandard of environmental control. Gowning is",
        "qualified for each operator. Sterile products must be filled in Grade A zones with unidirectional airflow.",
    )
    return corpus, corpus.passage("annex1", "Aseptic processing", "unidirectional airflow.")


def test_a_quote_on_the_second_page_of_a_two_page_chunk_cites_that_page() -> None:
    corpus, passage = _two_page_corpus()
    assert passage.chunk.pages == [3, 4]

    answer = _answer(corpus, "Where must sterile products be filled?", [passage], lead_sentences=1)

    citation = answer.citations[0]
    assert citation.quote == "Sterile products must be filled in Grade A zones with unidirectional airflow."
    assert citation.pages == (4,)
    assert citation.url == "https://example.org/annex1.pdf#page=4"


def test_a_quote_crossing_the_page_break_cites_both_pages() -> None:
    corpus, passage = _two_page_corpus()

    answer = _answer(corpus, "Is gowning qualified for each operator?", [passage], lead_sentences=1)

    citation = answer.citations[0]
    assert citation.quote == "Gowning is qualified for each operator."
    assert citation.pages == (3, 4)
    assert citation.url == "https://example.org/annex1.pdf#page=3"


def test_a_citation_failing_verification_is_dropped_and_markers_renumbered(
    corpus: _Corpus, caplog: pytest.LogCaptureFixture
) -> None:
    stored = dict(corpus.docs)
    stored["cfr211"] = ParsedDocument("cfr211", (QUALITY_UNIT.replace("documented", "recorded"),))

    with caplog.at_level(logging.WARNING, logger="kb.answer"):
        answer = build_answer(
            "Who must certify a batch before release?",
            _three(corpus),
            page_text=lambda doc_id, page: stored[doc_id].pages[page - 1],
            settings=AnswerSettings(extra_citations=5),
            corpus_snapshot="snap-1",
            evidence_ok=True,
        )

    assert answer.answer == "The Qualified Person must certify each batch before release for sale. [1]"
    assert [(c.marker, c.doc_id) for c in answer.citations] == [(1, "annex16"), (2, "q9")]
    assert "cfr211#p1-c0" in caplog.text


def test_without_evidence_the_answer_names_the_closest_documents(corpus: _Corpus) -> None:
    passages = _three(corpus)
    passages.insert(1, corpus.passage("annex16", "The register", "five years.", n=1))

    answer = build_answer(
        "What is the shelf life of an mRNA vaccine?",
        passages,
        page_text=corpus.page_text,
        settings=AnswerSettings(),
        corpus_snapshot="snap-1",
        evidence_ok=False,
    )

    assert answer.status == "no_evidence"
    assert answer.citations == ()
    assert answer.closest_documents == ("annex16", "cfr211", "q9")
    assert answer.answer == (
        "No passage in the indexed corpus answers this closely enough. "
        "Closest documents: Title of annex16 (annex16), Title of cfr211 (cfr211), Title of q9 (q9)."
    )


def _with_similarity(passage: Passage, similarity: float | None) -> Passage:
    return Passage(passage.chunk, passage.document, passage.score, dense_similarity=similarity)


def test_term_coverage_counts_distinct_stemmed_question_terms(corpus: _Corpus) -> None:
    # batch, releas, quarantin, sampl: batch and release appear, quarantine and sampling do not.
    question = "Batch release, quarantine and sampling?"

    assert term_coverage(question, _three(corpus)) == 0.5
    assert term_coverage("what is it?", _three(corpus)) == 0.0


@pytest.mark.parametrize(
    ("similarity", "min_coverage", "expected"),
    [
        (0.6, 0.5, True),
        (0.6, 0.51, False),  # coverage 0.5 is just short
        (0.39, 0.1, False),  # similarity below the default 0.40
        (0.40, 0.5, True),
        (None, 0.5, True),  # no dense similarity: coverage alone decides
    ],
)
def test_assess_evidence_thresholds(
    corpus: _Corpus, similarity: float | None, min_coverage: float, expected: bool
) -> None:
    passages = [_with_similarity(p, similarity) for p in _three(corpus)]
    settings = AnswerSettings(min_term_coverage=min_coverage)

    assert assess_evidence("Batch release, quarantine and sampling?", passages, settings) is expected


def test_absent_domain_terms_need_stronger_evidence(corpus: _Corpus) -> None:
    passages = [_with_similarity(p, 0.65) for p in _three(corpus)]
    question = "Batch release, quarantine and sampling?"
    settings = AnswerSettings(min_term_coverage=0.5, absent_term_similarity=0.7)
    assert assess_evidence(question, passages, settings) is True
    assert assess_evidence(question, passages, settings, absent_terms=["CAR-T"]) is False
    strong = [_with_similarity(p, 0.71) for p in _three(corpus)]
    assert assess_evidence(question, strong, settings, absent_terms=["CAR-T"]) is True


def test_assess_evidence_without_passages_is_false() -> None:
    assert assess_evidence("Batch release?", [], AnswerSettings()) is False


def test_superseded_and_draft_status_are_carried_into_citations() -> None:
    corpus = _Corpus()
    corpus.add(_record("old", status="superseded", superseded_by="new"), CERTIFY)
    corpus.add(_record("new", status="draft"), QUALITY_UNIT)
    passages = [
        corpus.passage("old", "1.1 Certification", "five years."),
        corpus.passage("new", "The quality control", "distribution."),
    ]

    answer = _answer(corpus, "Who must certify a batch before release?", passages)

    assert [(c.doc_id, c.status, c.superseded_by, c.doc_type, c.jurisdiction) for c in answer.citations] == [
        ("old", "superseded", "new", "guideline", "EU"),
        ("new", "draft", None, "guideline", "EU"),
    ]


STAGES_PAGE = (
    "Process validation involves activities over the lifecycle. This guidance describes process validation "
    "activities in three stages.\n"
    "• Stage 1 – Process Design: the commercial process is defined during this stage.\n"
    "• Stage 2 – Process Qualification: the process design is evaluated during this stage.\n"
    "• Stage 3 – Continued Process Verification: ongoing assurance is gained during routine production.\n"
    "This guidance describes activities typical of each stage."
)


def test_a_lead_sentence_announcing_a_list_brings_the_list() -> None:
    corpus = _Corpus()
    corpus.add(_record("pv"), STAGES_PAGE)
    passage = corpus.passage("pv", "Process validation involves", "of each stage.", score=0.9)
    answer = _answer(corpus, "What are the three stages of process validation?", [passage], lead_sentences=1)
    assert answer.answer == (
        "This guidance describes process validation activities in three stages. "
        "• Stage 1 – Process Design: the commercial process is defined during this stage. "
        "• Stage 2 – Process Qualification: the process design is evaluated during this stage. "
        "• Stage 3 – Continued Process Verification: ongoing assurance is gained during routine production. [1]"
    )
    assert answer.citations[0].quote == answer.answer.removesuffix(" [1]")
    assert verify_quote(answer.citations[0].quote, [STAGES_PAGE])


def test_a_table_is_never_quoted(corpus: _Corpus) -> None:
    table = (
        "Table 1: Maximum permitted total particle concentration for classification\n"
        "Grade\nMaximum limits for total particle\n≥ 0.5 µm/m3\nat rest in operation\n"
        "A 3 520 3 520 Not specified\nB 3 520 352 000 Not specified\nC 352 000 3 520 000 2 930 29 300\n\n"
        "Cleanroom classification limits for grade A and grade B particle concentration are given in the table."
    )
    corpus.add(_record("annex1"), table)
    answer = _answer(corpus, "grade B particle concentration limits", [corpus.passage("annex1", "Table 1", "table.")])
    assert [c.quote for c in answer.citations] == [
        "Cleanroom classification limits for grade A and grade B particle concentration are given in the table."
    ]


@pytest.mark.parametrize(
    ("similarity", "absent", "expected"),
    [
        (0.60, [], "high"),  # the high gate holds
        (0.35, [], "low"),  # under the high gate, over the relevance floor
        (0.25, [], None),  # under the floor: nothing indexed is relevant
        (0.60, ["CAR-T"], None),  # an absent term raises the floor to absent_term_similarity (the default rule)
    ],
)
def test_assess_confidence_bands(corpus: _Corpus, similarity: float, absent: list[str], expected: str | None) -> None:
    from kb.answer import assess_confidence

    passages = [_with_similarity(p, similarity) for p in _three(corpus)]
    settings = AnswerSettings(min_dense_similarity=0.40, relevant_similarity=0.30, relevant_coverage=0.25)
    assert (
        assess_confidence("Batch release, quarantine and sampling?", passages, settings, absent_terms=absent)
        == expected
    )


def test_the_default_floor_is_the_high_gate(corpus: _Corpus) -> None:
    from kb.answer import assess_confidence

    passages = [_with_similarity(p, 0.39) for p in _three(corpus)]
    assert assess_confidence("Batch release, quarantine and sampling?", passages, AnswerSettings()) is None


def test_a_low_confidence_answer_says_so_before_its_lead(corpus: _Corpus) -> None:
    answer = build_answer(
        "Who must certify a batch before release?",
        _three(corpus),
        page_text=corpus.page_text,
        settings=AnswerSettings(),
        corpus_snapshot="snap-1",
        evidence_ok=True,
        confidence="low",
    )
    assert answer.status == "answered" and answer.confidence == "low"
    assert answer.answer.startswith("Low confidence: these are the closest passages in the indexed corpus")
    assert answer.citations
