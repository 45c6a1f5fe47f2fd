from __future__ import annotations

import pytest

from kb.quotes import looks_tabular, normalise_ws, split_sentences, split_units, table_regions, verify_quote

pytestmark = pytest.mark.unit


def _pieces(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text)]


def test_normalise_ws_collapses_newlines_tabs_and_non_breaking_spaces() -> None:
    assert normalise_ws("  The QP\n\tmust\u00a0 certify\r\n\neach batch.  ") == "The QP must certify each batch."


def test_verify_quote_ignores_whitespace_differences_and_spans_consecutive_pages() -> None:
    pages = ["Each batch must be certified by a\nQualified Person", "before release for sale."]

    assert verify_quote("Qualified   Person before\u00a0release", pages)
    assert verify_quote("certified by a Qualified Person", pages[:1])


def test_verify_quote_fails_on_altered_or_missing_text() -> None:
    pages = ["Each batch must be certified by a\nQualified Person", "before release for sale."]

    assert not verify_quote("Each batch should be certified", pages)
    assert not verify_quote("Qualified Person before release", pages[:1])
    assert not verify_quote("   ", pages)


def test_split_sentences_keeps_abbreviations_and_citations_inside_sentences() -> None:
    text = (
        "The manufacturer should apply QRM principles, e.g. those in ICH Q9. Sec. 501 of the Act applies to\n"
        "drugs made in the U.S. and abroad. Written procedures are required by 21 CFR 211.100(a). Records\n"
        "of gowning, cleaning, etc. should be kept, i.e. for each operator. See No. 5 and section 3.2.1 for\n"
        "details. Filling takes place in Grade A. The background is Grade B."
    )

    assert _pieces(text) == [
        "The manufacturer should apply QRM principles, e.g. those in ICH Q9.",
        "Sec. 501 of the Act applies to\ndrugs made in the U.S. and abroad.",
        "Written procedures are required by 21 CFR 211.100(a).",
        "Records\nof gowning, cleaning, etc. should be kept, i.e. for each operator.",
        "See No. 5 and section 3.2.1 for\ndetails.",
        "Filling takes place in Grade A.",
        "The background is Grade B.",
    ]


def test_split_sentences_makes_headings_and_bullets_units_of_their_own() -> None:
    text = (
        "3.2.1 Quality risk management\n"
        "Annex 1 requires the following:\n"
        "• a contamination control strategy;\n"
        "o periodic review of the\n"
        "strategy by the Pharmaceutical Quality System.\n"
        "The QP certifies each batch.\n"
        "\n"
        "Personnel\n"
        "Staff must be trained in aseptic practices before they\n"
        "enter Grade A areas."
    )

    units = split_units(text)

    assert [(text[u.start : u.end], u.kind) for u in units] == [
        ("3.2.1 Quality risk management", "heading"),
        ("Annex 1 requires the following:", "sentence"),
        ("a contamination control strategy;", "bullet"),
        ("periodic review of the\nstrategy by the Pharmaceutical Quality System.", "bullet"),
        ("The QP certifies each batch.", "sentence"),
        ("Personnel", "heading"),
        ("Staff must be trained in aseptic practices before they\nenter Grade A areas.", "sentence"),
    ]


def test_split_sentences_joins_a_sentence_broken_by_a_page_break() -> None:
    text = "Each batch must be certified by a\n\nQualified Person before release. Records are kept."

    assert _pieces(text) == [
        "Each batch must be certified by a\n\nQualified Person before release.",
        "Records are kept.",
    ]


def test_split_sentences_does_not_take_a_wrapped_line_for_a_heading() -> None:
    text = (
        "Water for injections is produced by distillation or an equivalent purification process.\n"
        "All batches must be certified by the\n"
        "QP before release to the market."
    )

    assert _pieces(text) == [
        "Water for injections is produced by distillation or an equivalent purification process.",
        "All batches must be certified by the\nQP before release to the market.",
    ]


def test_split_sentences_of_blank_text_is_empty() -> None:
    assert split_sentences(" \n\n ") == []


# EU GMP Annex 1 (2022), PDF page 13, Table 1 as extracted: stacked headers, then one line per row.
ANNEX1_TABLE = """Grade
Maximum limits for total particle
≥ 0.5 µm/m3
Maximum limits for total particle
≥ 5 µm/m3
at rest in operation at rest in operation
A 3 520 3 520 Not specified (a) Not specified (a)
B 3 520 352 000 Not specified (a) 2 930
C 352 000 3 520 000 2 930 29 300"""
# ICH Part 11 guidance, PDF page 10: prose with a date in it.
PART11_PROSE = """If a system has been changed since August 20, 1997, and if the changes would prevent the
system from meeting predicate rule requirements, Part 11 controls should be applied to Part 11
records and signatures pursuant to the enforcement policy expressed in this guidance."""
# Annex 1, PDF page 9, paragraph 4.14: prose with numbers.
ANNEX1_PROSE = """and/or an airflow relative to the background environment of a lower grade under all operational
conditions and should flush the area effectively. Adjacent rooms of different grades should have an
air pressure difference of a minimum of 10 Pascals (guidance value)."""


# ICH Q5E, PDF page 13: a sentence that starts late on its first line and ends early on its last.
Q5E_PROSE = """During early phases of nonclinical and clinical
studies, comparability testing is generally not as extensive as for an approved
product."""


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "tabular"), [(ANNEX1_TABLE, True), (PART11_PROSE, False), (ANNEX1_PROSE, False), (Q5E_PROSE, False)]
)
def test_flattened_tables_are_recognised_and_prose_is_not(text: str, tabular: bool) -> None:
    assert looks_tabular(text) is tabular


# ICH Q2(R2), PDF page 24, Table 3 as pypdf reads it: two columns' cells run together in one "sentence".
Q2R2_TEXT_CELLS = """Absence of relevant interference:
With product, buffer, or
appropriate matrix, and between
individual peaks of interest
Spiking with known impurities/
excipients"""
# FDA Phase 1 IND guidance, PDF page 5: the narrowest prose column of the corpus.
IND_PROSE = """In
that case, sponsors should simply state this in this section and not
attempt to develop and write detailed developmental plans that will, in all
likelihood, change considerably should the product proceed to further
development."""


@pytest.mark.unit
@pytest.mark.parametrize(("text", "tabular"), [(Q2R2_TEXT_CELLS, True), (IND_PROSE, False), (Q5E_PROSE, False)])
def test_text_only_table_cells_are_recognised_and_narrow_prose_is_not(text: str, tabular: bool) -> None:
    assert looks_tabular(text) is tabular


@pytest.mark.unit
def test_rows_of_numbers_are_a_table() -> None:
    # ICH Q3C(R9), PDF page 10: the worked example of option 2.
    rows = (
        "Component Amount in formulation Acetonitrile content Daily exposure\n"
        "Drug substance 0.3 g 800 ppm 0.24 mg\nExcipient 1 0.9 g 2000 ppm 1.80 mg\nExcipient 2 3.8 g 800 ppm 3.04 mg"
    )
    assert looks_tabular(rows)
    assert not looks_tabular("A 3 520 3 520\nB 3 520 352 000")  # two lines are not yet a table


def test_a_table_runs_from_its_caption_to_the_next_heading_or_prose_paragraph():
    text = (
        "Table 1: Maximum permitted total particle concentration\n"
        "Grade\nat rest in operation\nA 3 520 3 520\n\n"
        "Cleanroom limits for grade A and grade B are given in the table above.\n"
        "Table 2. Documentation and Reporting ........................ 28\n"
        "Table 6 should apply.\n"
        "Table IV: Application of Management Review\n"
        "Pharmaceutical Technology Commercial\n"
        "5. GLOSSARY\n"
        "Words.\n"
        "Table 1 continued.  Recommendations and Acceptance Criteria\n"
        "Stability\nElements:\n"
    )
    units = split_units(text)
    regions = table_regions(text, units)
    assert [text[r.start : r.caption_end] for r in regions] == [
        "Table 1: Maximum permitted total particle concentration",
        "Table IV: Application of Management Review",
        "Table 1 continued.  Recommendations and Acceptance Criteria",
    ]  # a table-of-contents line and a reference to a table are no captions
    assert text[regions[0].end :].startswith("Cleanroom limits")
    assert text[regions[1].end :].startswith("5. GLOSSARY")
