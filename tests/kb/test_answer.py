from __future__ import annotations

import logging

import pytest

from kb.answer import build_answer
from kb.evidence import ASKED_PERIOD
from kb.models import ParsedDocument, Passage
from kb.quotes import verify_quote
from kb.settings import AnswerSettings
from tests.kb.answer_fixture import (
    CERTIFY,
    QUALITY_UNIT,
    RISK,
    Corpus,
    answer_for,
    make_record,
    three_documents,
    three_passages,
)

pytestmark = pytest.mark.unit


@pytest.fixture
def corpus() -> Corpus:
    return three_documents()


CERTIFY_SPAN = (
    "The Qualified Person must certify each batch before release for sale. Certification is recorded in a "
    "register. The register must be kept for five years."
)


def test_the_lead_is_the_best_sentence_with_what_follows_it_in_its_section(corpus: Corpus) -> None:
    answer = answer_for(corpus, "Who must certify a batch before release?", three_passages(corpus), extra_citations=5)

    assert answer.status == "answered"
    assert answer.answer == f"{CERTIFY_SPAN} [1]"  # the heading "1.1 Certification" is not lead text
    assert [(c.marker, c.doc_id, c.quote) for c in answer.citations] == [
        (1, "annex16", CERTIFY_SPAN),
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


def test_spans_of_different_passages_are_separate_paragraphs_best_first(corpus: Corpus) -> None:
    answer = answer_for(
        corpus,
        "Who must certify a batch before release?",
        three_passages(corpus),
        span_ratio=0.5,
        other_document_span_ratio=0.5,
    )

    assert answer.answer == (
        f"{CERTIFY_SPAN} [1]\n\nBatch release decisions are documented by the quality unit before distribution. [2]"
    )
    assert [(c.marker, c.doc_id) for c in answer.citations] == [(1, "annex16"), (2, "cfr211")]
    one_span = answer_for(
        corpus, "Who must certify a batch before release?", three_passages(corpus), lead_spans=1, span_ratio=0
    )
    assert one_span.answer == f"{CERTIFY_SPAN} [1]"
    # A span from another document than the first needs a higher share of the best score.
    same_document_only = answer_for(
        corpus,
        "Who must certify a batch before release?",
        three_passages(corpus),
        span_ratio=0.5,
        other_document_span_ratio=1.0,
    )
    assert same_document_only.answer == f"{CERTIFY_SPAN} [1]"


def test_a_span_far_from_the_lead_in_the_same_document_needs_the_higher_share() -> None:
    corpus = Corpus()
    pages = [
        "The Qualified Person must certify each batch before release.",
        "Certification of each batch is recorded by the Qualified Person.",
        "Background text.",
        "A batch may be certified by the Qualified Person after review.",
    ]
    corpus.add(make_record("annex16"), *pages)
    passages = [
        corpus.passage("annex16", "The Qualified", "before release.", score=0.9),
        corpus.passage("annex16", "Certification of", "Person.", score=0.8, n=1),
        corpus.passage("annex16", "A batch may", "after review.", score=0.7, n=2),
    ]
    question = "Must the Qualified Person certify each batch?"

    near_only = answer_for(corpus, question, passages, span_ratio=0.1, other_document_span_ratio=1.0)
    assert [c.pages for c in near_only.citations] == [(1,), (2,)]  # page 4 is more than a page from page 1
    everything = answer_for(corpus, question, passages, span_ratio=0.1, other_document_span_ratio=0.1)
    assert [c.pages for c in everything.citations] == [(1,), (2,), (4,)]


def test_a_span_reaches_back_over_the_sentences_before_its_best_one_in_its_section() -> None:
    corpus = Corpus()
    text = (
        "5.3 Media fills\n"
        "Aseptic processes are verified by process simulation. The simulation uses a growth medium in place "
        "of the product. Media fills must be repeated twice a year for each aseptic filling line."
    )
    corpus.add(make_record("a1"), text)
    passages = [corpus.passage("a1", "5.3 Media", "filling line.")]
    question = "How often must media fills be repeated for each filling line?"

    forward = answer_for(corpus, question, passages)
    assert forward.answer == "Media fills must be repeated twice a year for each aseptic filling line. [1]"
    back = answer_for(corpus, question, passages, span_back_chars=400)
    assert back.answer == (
        "Aseptic processes are verified by process simulation. The simulation uses a growth medium in place of "
        "the product. Media fills must be repeated twice a year for each aseptic filling line. [1]"
    )  # the heading before the section's first sentence stays out
    short = answer_for(corpus, question, passages, span_back_chars=60)
    assert short.answer.startswith("The simulation uses a growth medium")


def test_a_footnote_below_the_body_text_never_leads_and_ends_a_span() -> None:
    corpus = Corpus()
    text = (
        "FDA encourages establishments to provide written responses within fifteen business days. Responses "
        "submitted during that timeframe will be considered before further Agency action.\n"
        "29 See section 704(a)(5)(D) of the FD&C Act.\n"
        "30 For additional detail on written responses, see Chapter 5 of the manual."
    )
    corpus.add(make_record("bimo"), text)
    passages = [corpus.passage("bimo", "FDA encourages", "the manual.")]

    answer = answer_for(corpus, "Within how many business days should written responses be provided?", passages)
    assert answer.answer == (
        "FDA encourages establishments to provide written responses within fifteen business days. Responses "
        "submitted during that timeframe will be considered before further Agency action. [1]"
    )


def test_the_best_span_leads_whatever_its_passage_rank() -> None:
    corpus = Corpus()
    corpus.add(make_record("a"), "Equipment must be cleaned according to written procedures.")
    corpus.add(make_record("b"), "Media fills must be repeated twice a year for each aseptic filling line.")
    passages = [corpus.passage("a", "Equipment", "procedures.", score=0.9), corpus.passage("b", "Media", "line.")]

    answer = answer_for(corpus, "How often must media fills be repeated?", passages)

    assert answer.answer.startswith("Media fills must be repeated twice a year")
    assert answer.citations[0].doc_id == "b"


def test_a_span_stops_at_a_heading_and_within_span_chars() -> None:
    corpus = Corpus()
    text = (
        "Deviations must be investigated before the batch is released. The investigation must be documented.\n"
        "5.3 Complaints\n"
        "Complaints must be reviewed by the quality unit."
    )
    corpus.add(make_record("gmp"), text)
    passage = corpus.passage("gmp", "Deviations", "quality unit.")

    answer = answer_for(corpus, "Must deviations be investigated before release?", [passage])
    assert answer.answer == (
        "Deviations must be investigated before the batch is released. The investigation must be documented. [1]"
    )
    short = answer_for(corpus, "Must deviations be investigated before release?", [passage], span_chars=70)
    assert short.answer == "Deviations must be investigated before the batch is released. [1]"


def test_a_paragraph_number_is_not_lead_text() -> None:
    corpus = Corpus()
    text = "12.41 The validation protocol should specify the critical process steps and the acceptance criteria."
    corpus.add(make_record("q7"), text)

    answer = answer_for(
        corpus, "What should the validation protocol specify?", [corpus.passage("q7", "12.41", "criteria.")]
    )

    assert answer.answer == (
        "The validation protocol should specify the critical process steps and the acceptance criteria. [1]"
    )
    assert verify_quote(answer.citations[0].quote, [text])


def test_a_how_many_question_prefers_the_sentence_with_a_number() -> None:
    corpus = Corpus()
    text = (
        "Process performance qualification batches are manufactured under the protocol.\n\n"
        "At least three process performance qualification batches are usually manufactured."
    )
    corpus.add(make_record("pv"), text)
    first = corpus.passage("pv", "Process performance", "the protocol.", score=0.9)
    second = corpus.passage("pv", "At least", "manufactured.", score=0.8, n=1)

    answer = answer_for(corpus, "How many process performance qualification batches?", [first, second], lead_spans=1)

    assert answer.answer.startswith("At least three process performance qualification batches")


DEDUP_PAGE = (
    "Each batch must be certified by the Qualified Person. Deviations must be investigated and documented "
    "promptly. Batch records must be retained for at least one year after the expiry date of the batch. "
    "Electronic records must be retained with an audit trail for the same period."
)


def _overlapping(corpus: Corpus) -> list[Passage]:
    corpus.add(make_record("annex16"), DEDUP_PAGE)
    return [
        corpus.passage("annex16", "Each batch", "of the batch.", score=0.9, n=0),
        corpus.passage("annex16", "Batch records", "same period.", score=0.8, n=1),
    ]


def test_a_sentence_shared_by_overlapping_passages_leads_once() -> None:
    corpus = Corpus()
    passages = _overlapping(corpus)

    answer = answer_for(corpus, "How long must batch records be retained?", passages, span_ratio=0)

    assert answer.answer == (
        "Batch records must be retained for at least one year after the expiry date of the batch. [1]\n\n"
        "Electronic records must be retained with an audit trail for the same period. [2]"
    )


def test_by_default_only_the_passages_the_lead_quotes_are_cited(corpus: Corpus) -> None:
    ratios = {"span_ratio": 0.5, "other_document_span_ratio": 0.5}
    answer = answer_for(corpus, "Who must certify a batch before release?", three_passages(corpus), **ratios)
    assert [(c.marker, c.doc_id) for c in answer.citations] == [(1, "annex16"), (2, "cfr211")]
    one_more = answer_for(
        corpus, "Who must certify a batch before release?", three_passages(corpus), **ratios, extra_citations=1
    )
    assert [(c.marker, c.doc_id) for c in one_more.citations] == [(1, "annex16"), (2, "cfr211"), (3, "q9")]


def test_a_passage_without_lead_span_is_quoted_by_a_sentence_not_already_quoted() -> None:
    corpus = Corpus()
    passages = _overlapping(corpus)

    answer = answer_for(corpus, "How long must batch records be retained?", passages, extra_citations=5)

    assert (
        answer.answer == "Batch records must be retained for at least one year after the expiry date of the batch. [1]"
    )
    assert [c.quote for c in answer.citations] == [
        "Batch records must be retained for at least one year after the expiry date of the batch.",
        "Electronic records must be retained with an audit trail for the same period.",
    ]


def test_a_citation_outside_the_lead_is_quoted_up_to_max_chars_at_a_word_boundary() -> None:
    corpus = Corpus()
    sentence = (
        "The contamination control strategy should cover all critical control points across the facility, "
        "including premises, equipment, utilities, personnel, raw materials and monitoring systems."
    )
    corpus.add(make_record("annex1"), sentence)
    corpus.add(make_record("q9"), RISK)
    passages = [
        corpus.passage("q9", "Quality risk", "lifecycle."),
        corpus.passage("annex1", "The contamination", "systems."),
    ]

    answer = answer_for(corpus, "What is quality risk management?", passages, quote_max_chars=60, extra_citations=1)

    quote = answer.citations[1].quote
    assert quote == "The contamination control strategy should cover all critical"
    assert verify_quote(quote, [sentence])
    lead = answer_for(corpus, "What should the contamination control strategy cover?", passages[1:], quote_max_chars=60)
    assert lead.citations[0].quote == sentence  # a lead span is quoted whole: the quote is what the lead says


def _two_page_corpus() -> tuple[Corpus, Passage]:
    corpus = Corpus()
    corpus.add(
        make_record("annex1", url="https://example.org/annex1.pdf#section-8"),
        "Page one is about premises.",
        "Cleaning agents must be validated for their\neffectiveness.",
        "Aseptic processing requires a high\nstandard of environmental control. Gowning is",
        "qualified for each operator. Sterile products must be filled in Grade A zones with unidirectional airflow.",
    )
    return corpus, corpus.passage("annex1", "Aseptic processing", "unidirectional airflow.")


def test_a_quote_on_the_second_page_of_a_two_page_chunk_cites_that_page() -> None:
    corpus, passage = _two_page_corpus()
    assert passage.chunk.pages == [3, 4]

    answer = answer_for(corpus, "Where must sterile products be filled?", [passage])

    citation = answer.citations[0]
    assert citation.quote == "Sterile products must be filled in Grade A zones with unidirectional airflow."
    assert citation.pages == (4,)
    assert citation.url == "https://example.org/annex1.pdf#page=4"


def test_a_quote_crossing_the_page_break_cites_both_pages() -> None:
    corpus, passage = _two_page_corpus()

    answer = answer_for(corpus, "Is gowning qualified for each operator?", [passage])

    citation = answer.citations[0]
    assert citation.quote == (
        "Gowning is qualified for each operator. Sterile products must be filled in Grade A zones with "
        "unidirectional airflow."
    )
    assert citation.pages == (3, 4)
    assert citation.url == "https://example.org/annex1.pdf#page=3"


def test_a_citation_failing_verification_is_dropped_and_markers_renumbered(
    corpus: Corpus, caplog: pytest.LogCaptureFixture
) -> None:
    stored = dict(corpus.docs)
    stored["cfr211"] = ParsedDocument("cfr211", (QUALITY_UNIT.replace("documented", "recorded"),))

    with caplog.at_level(logging.WARNING, logger="kb.answer"):
        answer = build_answer(
            "Who must certify a batch before release?",
            three_passages(corpus),
            page_text=lambda doc_id, page: stored[doc_id].pages[page - 1],
            settings=AnswerSettings(extra_citations=5),
            corpus_snapshot="snap-1",
            evidence_ok=True,
        )

    assert answer.answer == f"{CERTIFY_SPAN} [1]"
    assert [(c.marker, c.doc_id) for c in answer.citations] == [(1, "annex16"), (2, "q9")]
    assert "cfr211#p1-c0" in caplog.text


def test_without_evidence_the_answer_names_the_closest_documents(corpus: Corpus) -> None:
    passages = three_passages(corpus)
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


def test_a_proposed_value_no_passage_states_is_said_and_refused(corpus: Corpus) -> None:
    answer = build_answer(
        "How many vials must the master cell bank hold - is 200 the minimum?",
        three_passages(corpus),
        page_text=corpus.page_text,
        settings=AnswerSettings(),
        corpus_snapshot="snap-1",
        evidence_ok=True,
        unstated=("200",),
    )

    assert answer.status == "no_evidence" and answer.citations == () and answer.unstated_values == ("200",)
    assert answer.answer.startswith(
        "No indexed passage states the value this question proposes (200), so the corpus cannot confirm it. "
        "Closest documents: Title of annex16 (annex16)"
    )


def test_an_asked_period_no_passage_states_is_said_and_refused(corpus: Corpus) -> None:
    answer = build_answer(
        "How many days does the agency have to review the protocol?",
        three_passages(corpus),
        page_text=corpus.page_text,
        settings=AnswerSettings(),
        corpus_snapshot="snap-1",
        evidence_ok=True,
        unstated=(ASKED_PERIOD,),
    )

    assert answer.status == "no_evidence" and answer.unstated_values == (ASKED_PERIOD,)
    assert answer.answer.startswith(
        "The question asks for a period of time and no indexed passage states one, so the corpus cannot give it. "
        "Closest documents:"
    )


def test_superseded_and_draft_status_are_carried_into_citations() -> None:
    corpus = Corpus()
    corpus.add(make_record("old", status="superseded", superseded_by="new"), CERTIFY)
    corpus.add(make_record("new", status="draft"), QUALITY_UNIT)
    passages = [
        corpus.passage("old", "1.1 Certification", "five years."),
        corpus.passage("new", "The quality control", "distribution."),
    ]

    answer = answer_for(
        corpus, "Who must certify a batch before release?", passages, span_ratio=0, other_document_span_ratio=0
    )

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
    corpus = Corpus()
    corpus.add(make_record("pv"), STAGES_PAGE)
    passage = corpus.passage("pv", "Process validation involves", "of each stage.", score=0.9)
    answer = answer_for(corpus, "What are the three stages of process validation?", [passage])
    assert answer.answer == (
        "This guidance describes process validation activities in three stages. "
        "• Stage 1 – Process Design: the commercial process is defined during this stage. "
        "• Stage 2 – Process Qualification: the process design is evaluated during this stage. "
        "• Stage 3 – Continued Process Verification: ongoing assurance is gained during routine production. "
        "This guidance describes activities typical of each stage. [1]"
    )
    assert answer.citations[0].quote == answer.answer.removesuffix(" [1]")
    assert verify_quote(answer.citations[0].quote, [STAGES_PAGE])


def test_a_table_is_never_quoted(corpus: Corpus) -> None:
    table = (
        "Table 1: Maximum permitted total particle concentration for classification\n"
        "Grade\nMaximum limits for total particle\n≥ 0.5 µm/m3\nat rest in operation\n"
        "A 3 520 3 520 Not specified\nB 3 520 352 000 Not specified\nC 352 000 3 520 000 2 930 29 300\n\n"
        "Cleanroom classification limits for grade A and grade B particle concentration are given in the table."
    )
    corpus.add(make_record("annex1"), table)
    answer = answer_for(
        corpus, "grade B particle concentration limits", [corpus.passage("annex1", "Table 1", "table.")]
    )
    assert [c.quote for c in answer.citations] == [
        "Cleanroom classification limits for grade A and grade B particle concentration are given in the table."
    ]


def test_a_low_confidence_answer_says_so_before_its_lead(corpus: Corpus) -> None:
    answer = build_answer(
        "Who must certify a batch before release?",
        three_passages(corpus),
        page_text=corpus.page_text,
        settings=AnswerSettings(),
        corpus_snapshot="snap-1",
        evidence_ok=True,
        confidence="low",
    )
    assert answer.status == "answered" and answer.confidence == "low"
    assert answer.answer.startswith("Low confidence: these are the closest passages in the indexed corpus")
    assert answer.citations


def test_a_sentence_interrupted_by_a_footnote_is_not_quoted_past_it() -> None:
    corpus = Corpus()
    page = (
        "Sponsors must give FDA access to all records and to the systems that hold them during the inspection, and\n"
        "6 See the Investigations Operations Manual, section 8.6, for the inspection procedure.\n"
        "Inspected sites must also keep a list of the computer systems used for each study."
    )
    corpus.add(make_record("bimo"), page)
    passage = corpus.passage("bimo", "Sponsors", "each study.")

    answer = answer_for(
        corpus, "Must sponsors give FDA access to records and systems during the inspection?", [passage]
    )

    assert "6 See" not in answer.answer and all("6 See" not in c.quote for c in answer.citations)
    assert answer.answer == "Inspected sites must also keep a list of the computer systems used for each study. [1]"
