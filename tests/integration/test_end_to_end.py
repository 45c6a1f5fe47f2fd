"""The real pipeline end to end: questions whose document, section and page were checked by reading."""

from __future__ import annotations

import re

import pytest
from pypdf import PdfReader

from ingest.chunk import SPECIAL_TOKENS, embedding_text
from kb.errors import FilterError
from kb.filters import Filters
from kb.knowledge_base import open_knowledge_base
from kb.quotes import verify_quote
from tests.conftest import SHARED_CORPUS

pytestmark = pytest.mark.integration

FILES = {
    "fda-process-validation-2011": "fda/fda-process-validation-general-principles-2011.pdf",
    "fda-ind-phase1-1995": "fda/fda-ind-phase1-content-format-1995.pdf",
    "fda-part11-2003": "fda/fda-part11-electronic-records-scope-2003.pdf",
    "ich-q10-2008": "ich/ich-q10-pharmaceutical-quality-system-2008.pdf",
}


def _squeezed(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _on_pdf_page(quote: str, doc_id: str, page: int) -> bool:
    """Independent of regkb's cleaning: the quote's letters, in order, on the PDF page as pypdf reads it."""
    pdf_page = PdfReader(SHARED_CORPUS / FILES[doc_id]).pages[page - 1]
    modes = (pdf_page.extract_text(), pdf_page.extract_text(extraction_mode="layout"))
    # Part 11 numbers its lines; drop a leading number from each line before comparing.
    return any(_squeezed(quote) in _squeezed(re.sub(r"(?m)^\s*\d{1,3}\s", "", raw)) for raw in modes)


def test_the_whole_corpus_ingests(first_ingest):
    lessons = [d for d in first_ingest.added if d.startswith("lesson-")]
    assert (len(first_ingest.added), len(lessons), first_ingest.skipped) == (51, 14, [])  # 37 PDFs + 14 lessons
    assert first_ingest.chunks_embedded > 1000


def test_every_chunk_fits_the_model_window(real_kb):
    tokenizer, limit = real_kb.embedder, real_kb.settings.chunking.chunk_tokens
    too_long = [c.chunk_id for c in real_kb.chunks.values() if tokenizer.count_tokens(c.text) > limit]
    assert too_long == []
    max_tokens = real_kb.settings.embedding.max_tokens
    over = [
        c.chunk_id
        for c in real_kb.chunks.values()
        if tokenizer.count_tokens(embedding_text(c, real_kb.records[c.doc_id], tokenizer, max_tokens)) + SPECIAL_TOKENS
        > max_tokens
    ]
    assert over == []


def test_three_stages_of_process_validation(real_kb):
    answer = real_kb.ask("What are the three stages of process validation?")
    assert answer.status == "answered"
    first = answer.citations[0]
    assert (first.doc_id, first.section, first.pages) == ("fda-process-validation-2011", "II.B", (7,))
    assert first.section_title == "Approach to Process Validation"
    assert first.url == "https://www.fda.gov/media/71021/download#page=7"
    assert "three stages" in first.quote
    assert _on_pdf_page(first.quote, first.doc_id, 7)


def test_every_returned_quote_is_on_its_pages(real_kb):
    for question in (
        "What are the three stages of process validation?",
        "Does FDA intend to enforce audit trail requirements under Part 11?",
        "What is the role of management review in the pharmaceutical quality system?",
    ):
        for c in real_kb.ask(question).citations:
            assert verify_quote(c.quote, [real_kb.page_text(c.doc_id, p) for p in c.pages]), (question, c.chunk_id)


def test_phase1_ind_cmc_question_cites_the_cmc_section(real_kb):
    answer = real_kb.ask("What chemistry, manufacturing and controls information should a Phase 1 IND contain?")
    cmc = [c for c in answer.citations if c.doc_id == "fda-ind-phase1-1995" and c.section == "III.F"]
    assert cmc, [(c.doc_id, c.section, c.pages) for c in answer.citations]
    assert cmc[0].pages[0] in (6, 7, 8, 9)
    assert _on_pdf_page(cmc[0].quote, "fda-ind-phase1-1995", cmc[0].pages[0])
    assert not any("......" in c.quote for c in answer.citations)  # the table of contents is not evidence


def test_part11_audit_trail_enforcement_discretion(real_kb):
    answer = real_kb.ask("Does FDA intend to enforce audit trail requirements under Part 11?")
    sections = {(c.doc_id, c.section, c.pages) for c in answer.citations}
    assert ("fda-part11-2003", "III.C.2", (9,)) in sections
    audit = next(c for c in answer.citations if c.section == "III.C.2")
    assert _on_pdf_page(audit.quote, "fda-part11-2003", 9)


def test_q10_management_review(real_kb):
    first = real_kb.ask("What is the role of management review in the pharmaceutical quality system?").citations[0]
    assert (first.doc_id, first.section) in {("ich-q10-2008", "2.6"), ("ich-q10-2008", "4.1")}
    assert _on_pdf_page(first.quote, "ich-q10-2008", first.pages[0])


@pytest.mark.parametrize(
    "question",
    [
        "What does EudraLex Part IV say about hospital exemption?",
        "How long must CAR-T patients be followed up for delayed adverse events?",
        "What replication competent lentivirus testing is required for a lentiviral vector?",
    ],
)
def test_questions_the_corpus_cannot_answer(real_kb, question):
    answer = real_kb.ask(question)
    assert answer.status == "no_evidence", [(c.doc_id, c.quote) for c in answer.citations]
    assert answer.citations == () and len(answer.closest_documents) >= 1


def test_a_question_only_a_document_not_indexed_answers_names_it_with_its_url(real_kb):
    answer = real_kb.ask("EU GMP Part IV for ATMPs: can a closed system be operated in a grade D room?")
    assert answer.status == "no_evidence" and answer.citations == ()
    assert answer.offline_documents[:1] == ("eudralex-v4-part4-atmp-gmp-2017",)
    assert answer.answer.startswith("The question asks about a document that is not in the indexed corpus:")
    assert "https://health.ec.europa.eu/" in answer.answer


def test_a_value_the_guidance_does_not_give_is_not_confirmed(real_kb):
    answer = real_kb.ask("FMEA RPN threshold above which mitigation is mandatory under Q9(R1) - is it RPN > 100?")
    assert (answer.status, answer.unstated_values) == ("no_evidence", ("100",))
    # The value named in the guidance is confirmed: Q1A(R2) gives 12 months of long-term data.
    stated = real_kb.ask("Q1A(R2) registration stability: is 12 months of long-term data needed at submission?")
    assert stated.status == "answered" and stated.unstated_values == ()


def test_a_superseded_document_with_its_successor_indexed_answers_only_when_asked(real_kb):
    question = "quality risk management process risk assessment risk control"
    default = real_kb.search(question, k=10)
    assert default and not any(p.document.status == "superseded" for p in default)
    assert default[0].document.id == "ich-q9-r1-2023"
    asked = real_kb.search(question, k=10, filters=Filters(status=("superseded",)))
    assert {p.document.id for p in asked} == {"ich-q9-2005"}
    named = real_kb.search("What did the 2005 Q9 say about " + question, k=3)
    assert named[0].document.id == "ich-q9-2005"
    answer = real_kb.ask("Under the 2005 Q9, what did risk review involve?")
    first = answer.citations[0]
    assert (first.doc_id, first.status, first.superseded_by) == ("ich-q9-2005", "superseded", "ich-q9-r1-2023")
    assert (
        first.version_note
        == "Superseded by ICH Q9(R1), Step 4, 18 January 2023 (minor corrections 26 January 2023 and 15 January 2025)"
    )


def test_a_question_on_quality_risk_management_naming_no_version_cites_q9r1(real_kb):
    answer = real_kb.ask("How formal does quality risk management have to be?")
    assert answer.status == "answered"
    assert {c.doc_id for c in answer.citations} & {"ich-q9-r1-2023"}
    assert "ich-q9-2005" not in {c.doc_id for c in answer.citations}


def test_q3c_r8_named_gets_r8_and_unnamed_gets_r9(real_kb):
    old = real_kb.search("Q3C(R8) residual solvents class 2 limits", k=5)
    assert old[0].document.id == "ich-q3c-r8-2021"
    current = real_kb.search("residual solvents class 2 limits", k=10)
    assert "ich-q3c-r8-2021" not in {p.document.id for p in current}
    assert "ich-q3c-r9-2024" in {p.document.id for p in current}


def test_filters_apply_inside_both_retrievers(real_kb):
    passages = real_kb.search("validation of analytical procedures", k=10, filters=Filters(agency=("ICH",)))
    assert passages and {p.document.agency for p in passages} == {"ICH"}
    only = real_kb.search("batch records", k=5, filters=Filters(doc_id=("ich-q7-2000",)))
    assert {p.chunk.doc_id for p in only} == {"ich-q7-2000"}


def test_unknown_doc_id_filter_is_a_clear_error(real_kb):
    with pytest.raises(FilterError, match="no indexed document has doc id 'no-such-doc'"):
        real_kb.search("anything", filters=Filters(doc_id=("no-such-doc",)))


def test_overlapping_chunks_are_not_returned_together(real_kb):
    passages = real_kb.search("process performance qualification PPQ protocol", k=10)
    for i, a in enumerate(passages):
        for b in passages[i + 1 :]:
            assert a.chunk.doc_id != b.chunk.doc_id or a.chunk.end <= b.chunk.start or b.chunk.end <= a.chunk.start


def test_reopened_index_gives_the_same_results(real_kb, real_settings):
    question = "How should an OOS result be retested?"
    again = open_knowledge_base(real_settings)
    assert [p.chunk.chunk_id for p in again.search(question)] == [p.chunk.chunk_id for p in real_kb.search(question)]
