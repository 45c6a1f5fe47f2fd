"""Chunking with a word-counting tokenizer: window limits, section boundaries, offsets, small pieces."""

from __future__ import annotations

import pytest

from ingest.chunk import SPECIAL_TOKENS, chunk_document, embedding_text
from ingest.sections import find_headings
from kb.models import DocumentRecord, Heading, ParsedDocument
from kb.settings import ChunkingSettings
from tests.fakes import FakeEmbedder

pytestmark = pytest.mark.unit

TOKENIZER = FakeEmbedder()  # one token per word
SETTINGS = ChunkingSettings(chunk_tokens=40, overlap_tokens=5)
RECORD = DocumentRecord(
    id="doc",
    title="A guidance",
    agency="FDA",
    jurisdiction="US",
    doc_type="guidance",
    reference="REF 1",
    version="1",
    status="final",
    url="https://www.fda.gov/x",
)


def _sentences(prefix: str, n: int) -> str:
    return " ".join(f"{prefix} sentence number {i} says something useful here." for i in range(n))


def _doc(pages: list[str]) -> ParsedDocument:
    return ParsedDocument(doc_id="doc", pages=tuple(pages))


def _headings(doc: ParsedDocument, *names: tuple[str, str]) -> list[Heading]:
    return [
        Heading(number, title, number.count(".") + 1, doc.text.index(f"{number} {title}")) for number, title in names
    ]


def test_chunks_never_exceed_the_window_and_are_exact_slices():
    doc = _doc(["1. INTRODUCTION\n" + _sentences("alpha", 30), _sentences("beta", 25)])
    chunks = chunk_document(doc, _headings(doc, ("1.", "INTRODUCTION")), TOKENIZER, SETTINGS)
    assert len(chunks) > 5
    for c in chunks:
        assert TOKENIZER.count_tokens(c.text) <= SETTINGS.chunk_tokens
        assert doc.text[c.start : c.end] == c.text
        assert (c.first_page, c.last_page) == (doc.page_at(c.start), doc.page_at(c.end - 1))
    assert [c.chunk_id for c in chunks] == [f"doc#p{c.first_page}-c{i}" for i, c in enumerate(chunks)]
    assert chunks[-1].last_page == 2


def test_chunks_do_not_cross_section_boundaries():
    text = "1.1 Scope\n" + _sentences("scope", 6) + "\n1.2 Definitions\n" + _sentences("definition", 6)
    doc = _doc([text])
    headings = _headings(doc, ("1.1", "Scope"), ("1.2", "Definitions"))
    chunks = chunk_document(doc, headings, TOKENIZER, SETTINGS)
    boundary = headings[1].start
    assert all(c.end <= boundary or c.start >= boundary for c in chunks)
    assert {c.section for c in chunks if c.start >= boundary} == {"1.2"}
    assert {c.section_title for c in chunks if c.end <= boundary} == {"Scope"}


def test_heading_with_no_body_folds_into_the_next_section():
    text = "IV. RECOMMENDATIONS\nA. General\n" + _sentences("general", 3)
    doc = _doc([text])
    chunks = chunk_document(doc, _headings(doc, ("IV.", "RECOMMENDATIONS"), ("A.", "General")), TOKENIZER, SETTINGS)
    assert chunks[0].text.startswith("IV. RECOMMENDATIONS\nA. General")


def test_a_stray_short_piece_joins_its_neighbour():
    # Paragraphs of 40 words: the splitter (aiming at 40 - 5 reserved) leaves the heading on its own.
    text = "2. QUALITY\n\n" + "\n\n".join(_sentences(f"para{i}", 5)[:-1] + "." for i in range(3))
    doc = _doc([text])
    chunks = chunk_document(doc, _headings(doc, ("2.", "QUALITY")), TOKENIZER, SETTINGS)
    assert chunks[0].text.startswith("2. QUALITY\n\npara0 sentence number 0")
    assert all(c.text != "2. QUALITY" for c in chunks)


def test_table_of_contents_is_not_chunked():
    toc = "TABLE OF CONTENTS\nI. INTRODUCTION ........................ 1\nII. BACKGROUND ........................ 2\n"
    doc = _doc([toc, "I. INTRODUCTION\n" + _sentences("intro", 4)])
    chunks = chunk_document(doc, find_headings(doc), TOKENIZER, SETTINGS)
    assert chunks and all("......" not in c.text for c in chunks)


def test_table_of_contents_lines_without_page_numbers_are_not_chunked():
    # Real lines of the ICH Q12 and Q1 (Step 2) tables of contents as pypdf reads them: the page numbers
    # are lost, or the appendix is paged "A1-1"; a line of dots is a chunk of its own in word pieces.
    toc = (
        "TABLE OF CONTENTS\n"
        "4 POST-APPROVAL CHANGE MANAGEMENT PROTOCOL (PACMP) .................\n"
        "4.1 Definition of a PACMP " + "." * 85 + " 15\n"
        "4.3 Elements of a PACMP " + "." * 87 + "\n"
        "ANNEX 1 REDUCED STABILITY PROTOCOL DESIGN " + "." * 71 + " A1-1\n"
    )
    doc = _doc([toc, "4. POST-APPROVAL CHANGE MANAGEMENT PROTOCOL\n" + _sentences("pacmp", 4)])
    chunks = chunk_document(doc, find_headings(doc), TOKENIZER, SETTINGS)
    assert chunks and all("....." not in c.text for c in chunks)
    assert any("pacmp sentence" in c.text for c in chunks)


def test_embedding_text_prefix_is_cut_to_fit_the_model():
    doc = _doc(["1. INTRODUCTION\n" + _sentences("alpha", 30)])
    chunk = chunk_document(doc, _headings(doc, ("1.", "INTRODUCTION")), TOKENIZER, SETTINGS)[0]
    text = embedding_text(chunk, RECORD, TOKENIZER, max_tokens=50)
    assert text.endswith(chunk.text) and text.startswith("REF 1 1.")
    assert TOKENIZER.count_tokens(text) + SPECIAL_TOKENS <= 50
    no_room = TOKENIZER.count_tokens(chunk.text) + SPECIAL_TOKENS
    assert embedding_text(chunk, RECORD, TOKENIZER, max_tokens=no_room) == chunk.text


def test_numbered_paragraphs_name_text_without_splitting_it() -> None:
    # An EU GMP annex: short numbered paragraphs share a chunk, and each quote finds its own paragraph.
    page = (
        "9 Environmental & process monitoring\n\n"
        "9.1 The monitoring programme forms part of the overall CCS.\n\n"
        "9.2 Microorganisms detected in grade A should be identified to species level.\n\n"
        "9.3 Periodic verification of aseptic processing should include an APS."
    )
    doc = _doc([page])
    starts = {n: doc.text.index(f"{n} ") for n in ("9.1", "9.2", "9.3")}
    headings = [Heading("9", "Environmental & process monitoring", 1, 0)] + [
        Heading(n, "Environmental & process monitoring", 3, s, splits=False) for n, s in starts.items()
    ]
    chunks = chunk_document(doc, headings, TOKENIZER, SETTINGS)
    assert len(chunks) == 1
    chunk = chunks[0]
    assert (chunk.section, chunk.paragraphs) == ("9", tuple((s, n) for n, s in starts.items()))
    assert chunk.section_at(chunk.text.index("Periodic verification")) == "9.3"
    assert chunk.section_at(chunk.text.index("Microorganisms")) == "9.2"
    assert chunk.section_at(0) == "9"
