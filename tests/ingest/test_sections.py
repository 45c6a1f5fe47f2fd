"""Heading detection on lines copied from the corpus, false positives included, and on the real PDFs."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.parse_pdf import parse_pdf
from ingest.sections import find_headings, section_at
from kb.models import Heading, ParsedDocument

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"


def _doc(*pages: str) -> ParsedDocument:
    return ParsedDocument(doc_id="demo", pages=tuple(pages))


def _outline(doc: ParsedDocument) -> list[tuple[str, str, int]]:
    return [(h.number, h.title, h.level) for h in find_headings(doc)]


FDA_TOC = """TABLE OF CONTENTS
I. INTRODUCTION........................................ 1
II. BACKGROUND ........................................ 3
A. Process Validation and Drug Quality ........................................ 3
IV. RECOMMENDATIONS........................................ 7
1. Building and Capturing Process Knowledge and Understanding........................................ 8"""

FDA_BODY = """I. INTRODUCTION

This guidance outlines the general principles and approaches that FDA considers appropriate
elements of process validation for the manufacture of human and animal drug and biological
products.

II. BACKGROUND

In the Federal Register of May 11, 1987 (52 FR 17638), FDA issued a notice announcing the
21 CFR 211.100(a) and 211.110(a) require that drug products be produced with a high degree of
4 June 2008
A. Process Validation and Drug Quality

Effective process validation contributes significantly to assuring drug quality.

III. STATUTORY AND REGULATORY REQUIREMENTS FOR PROCESS
VALIDATION

Process validation for drugs (finished pharmaceuticals and components) is a legally enforceable
requirement under section 501(a)(2)(B) of the Act.

IV. RECOMMENDATIONS

A. General Considerations for Process Validation

B. Stage 1 ― Process Design

1. Building and Capturing Process Knowledge and Understanding

2. Establishing a Strategy for Process Control

Process control can be implemented in two ways when:

1. When the product attribute is not readily measurable due to limitations of sampling or
detectability (e.g., viral clearance or microbial contamination), or
2. When intermediates and products cannot be highly characterized and well-defined quality

C. Stage 2 ― Process Qualification

The plan should consider the following:
1. the studies or tests to use,
2. the criteria appropriate to assess outcomes,

1. Design of a Facility and Qualification of Utilities and Equipment

a. Reference standards

The purity of reference standards used to prepare calibrators and QCs can affect the study data."""


@pytest.mark.unit
def test_fda_outline_numbers_from_context_and_skips_lists_toc_citations_and_dates() -> None:
    assert _outline(_doc(FDA_TOC, FDA_BODY)) == [
        ("I", "INTRODUCTION", 1),
        ("II", "BACKGROUND", 1),
        ("II.A", "Process Validation and Drug Quality", 2),
        ("III", "STATUTORY AND REGULATORY REQUIREMENTS FOR PROCESS VALIDATION", 1),
        ("IV", "RECOMMENDATIONS", 1),
        ("IV.A", "General Considerations for Process Validation", 2),
        ("IV.B", "Stage 1 ― Process Design", 2),
        ("IV.B.1", "Building and Capturing Process Knowledge and Understanding", 3),
        ("IV.B.2", "Establishing a Strategy for Process Control", 3),
        ("IV.C", "Stage 2 ― Process Qualification", 2),
        ("IV.C.1", "Design of a Facility and Qualification of Utilities and Equipment", 3),
        ("IV.C.1.a", "Reference standards", 4),
    ]


@pytest.mark.unit
def test_heading_start_is_the_offset_of_the_heading_line() -> None:
    doc = _doc(FDA_TOC, FDA_BODY)
    starts = {h.number: h.start for h in find_headings(doc)}
    assert doc.text[starts["IV.B.1"] :].startswith("1. Building and Capturing Process Knowledge")
    assert doc.page_at(starts["I"]) == 2


@pytest.mark.unit
def test_letter_i_after_h_is_a_letter_not_a_roman_numeral() -> None:
    # FDA IND phase 1 guidance, section III.
    body = "\n".join(
        ["III. CLARIFICATIONS OF PRESENT IND REGULATIONS"]
        + [f"{letter}. Heading {letter}\nNo clarifications." for letter in "ABCDEFGH"]
        + ["I. 21 CFR 312.23(a)(10), (11) and (b), (c), (d), and (e) :", "No clarifications.", "IV. REFERENCES"]
    )
    numbers = [number for number, _, _ in _outline(_doc("I. INTRODUCTION\nText.\nII. BACKGROUND\nText.\n" + body))]
    assert numbers[-3:] == ["III.H", "III.I", "IV"]


@pytest.mark.unit
def test_reference_list_items_are_not_headings() -> None:
    page = """I. INTRODUCTION
Text.
II. REFERENCES
A. Food and Drug Administration, Center for Drug Evaluation and Research,
1. Glossary of Computerized System and Software Development Terminology (Division of
Field Investigations, Office of Regional Operations, Office of Regulatory Affairs, FDA 1995)
2. General Principles of Software Validation"""
    assert _outline(_doc(page)) == [("I", "INTRODUCTION", 1), ("II", "REFERENCES", 1)]


Q10_PAGE_5 = """PHARMACEUTICAL QUALITY SYSTEM

1. PHARMACEUTICAL QUALITY SYSTEM

1.1 Introduction
This document establishes a new ICH tripartite guideline describing a model for an
effective quality management system for the pharmaceutical industry.

1.2 Scope
This guideline applies to the systems supporting the development and manufacture of"""

Q10_PAGE_6 = """1.3 Relationship of ICH Q10 to Regional GMP Requirements, ISO
Standards and ICH Q7
Regional GMP requirements, the ICH Q7 Guideline, “Good Manufacturing Practice
Guide for Active Pharmaceutical Ingredients”, and ISO quality management system

1.5.1 Achieve Product Realisation
To establish, implement and maintain a system that allows the delivery of products
2.10 Quality should be the responsibility of all persons involved in manufacturing.
2.1 Clinical trials should be conducted in accordance with the ethical principles that have
their origin in the Declaration of Helsinki.
1. Releasing or rejecting all APIs. Releasing or rejecting intermediates for use
outside the control of the manufacturing company;
0.0 1.0 2.0 3.0 4.0 5.0
1.5 mg/kg body weight
3. Reviewing completed batch production and laboratory control records of critical
process steps before release of the API for distribution;

2. MANAGEMENT RESPONSIBILITY
2.1 Management Commitment
(a) Senior management has the ultimate responsibility

3. CONTINUAL IMPROVEMENT OF PROCESS PERFORMANCE AND
PRODUCT QUALITY
3.1 Lifecycle Stage Goals
3.2 Pharmaceutical Quality System Elements
3.2.1 Process Performance and Product Quality Monitoring System
Pharmaceutical companies should plan and execute a system for the monitoring of process"""


@pytest.mark.unit
def test_ich_decimal_outline_joins_wrapped_titles_and_skips_numbered_paragraphs() -> None:
    assert _outline(_doc(Q10_PAGE_5, Q10_PAGE_6)) == [
        ("1", "PHARMACEUTICAL QUALITY SYSTEM", 1),
        ("1.1", "Introduction", 2),
        ("1.2", "Scope", 2),
        ("1.3", "Relationship of ICH Q10 to Regional GMP Requirements, ISO Standards and ICH Q7", 2),
        ("1.5.1", "Achieve Product Realisation", 3),
        ("2", "MANAGEMENT RESPONSIBILITY", 1),
        ("2.1", "Management Commitment", 2),
        ("3", "CONTINUAL IMPROVEMENT OF PROCESS PERFORMANCE AND PRODUCT QUALITY", 1),
        ("3.1", "Lifecycle Stage Goals", 2),
        ("3.2", "Pharmaceutical Quality System Elements", 2),
        ("3.2.1", "Process Performance and Product Quality Monitoring System", 3),
    ]


@pytest.mark.unit
def test_table_of_contents_title_decides_a_wrapped_title() -> None:
    # ICH Q9 Annex II: a sub-title follows the heading on the next line; the contents list says where
    # the title ends. ICH Q8: a wrapped title that continues in lower case.
    toc = """TABLE OF CONTENTS
1. INTRODUCTION ........................................ 1
2.3 Risk Assessment: Linking Material Attributes and Process Parameters to Drug
Product CQAs ........................................ 11
Annex II: Potential Applications ....................... 19
II.2 Quality Risk Management as Part of Regulatory Operations ........ 20"""
    body = """1. INTRODUCTION
2. ELEMENTS OF PHARMACEUTICAL DEVELOPMENT
2.2 Critical Quality Attributes
2.3 Risk Assessment: Linking Material Attributes and Process Parameters
to Drug Product CQAs
Risk assessment is a valuable science-based process used in quality risk management
Annex II: Potential Applications
II.2 Quality Risk Management as Part of Regulatory Operations
Inspection and assessment activities
• To assist with resource allocation including, for example, inspection planning"""
    assert _outline(_doc(toc, body)) == [
        ("1", "INTRODUCTION", 1),
        ("2", "ELEMENTS OF PHARMACEUTICAL DEVELOPMENT", 1),
        ("2.2", "Critical Quality Attributes", 2),
        ("2.3", "Risk Assessment: Linking Material Attributes and Process Parameters to Drug Product CQAs", 2),
        ("Annex II", "Potential Applications", 1),
        ("II.2", "Quality Risk Management as Part of Regulatory Operations", 2),
    ]


@pytest.mark.unit
def test_annexes_appendices_and_named_sections() -> None:
    page = """1. INTRODUCTION
Text of the introduction.
GLOSSARY
Annex 1

Potential Opportunities to Enhance Science and Risk Based Regulatory
Approaches *
*Note: This annex reflects potential opportunities to enhance regulatory approaches.
1. Comply with GMPs Compliance – status quo
ANNEX I
Annex I: Risk Management Methods and Tools
I.1 Basic Risk Management Facilitation Methods
APPENDIX 1. LIST OF SOLVENTS INCLUDED IN THE GUIDELINE
Appendix 3. Summaries of the toxicity data that were used to establish limits are published in
APPENDIX A Glossary of Terms
Appendix 1
Differing Approaches to Pharmaceutical Development
REFERENCES
1. Connelly JC, Hasegawa R, McArdle JV, Tucker ML. ICH Guideline Residual Solvents."""
    assert _outline(_doc(page)) == [
        ("1", "INTRODUCTION", 1),
        ("Glossary", "Glossary", 1),
        ("Annex 1", "Potential Opportunities to Enhance Science and Risk Based Regulatory Approaches", 1),
        ("Annex I", "", 1),
        ("Annex I", "Risk Management Methods and Tools", 1),
        ("I.1", "Basic Risk Management Facilitation Methods", 2),
        ("Appendix 1", "LIST OF SOLVENTS INCLUDED IN THE GUIDELINE", 1),
        ("Appendix A", "Glossary of Terms", 1),
        ("Appendix 1", "Differing Approaches to Pharmaceutical Development", 1),
        ("References", "References", 1),
    ]


@pytest.mark.unit
def test_parts_restart_the_numbering_one_level_down() -> None:
    # ICH Q8(R2): Part I and Part II (the annex) each number from 1.
    page = """PART I :
PHARMACEUTICAL DEVELOPMENT
1. INTRODUCTION
1.1 Objective of the Guideline
PART II :
PHARMACEUTICAL DEVELOPMENT - ANNEX
1. INTRODUCTION
This guideline is an annex to ICH Q8 Pharmaceutical Development."""
    doc = _doc(page)
    assert _outline(doc) == [
        ("Part I", "PHARMACEUTICAL DEVELOPMENT", 1),
        ("1", "INTRODUCTION", 2),
        ("1.1", "Objective of the Guideline", 3),
        ("Part II", "PHARMACEUTICAL DEVELOPMENT - ANNEX", 1),
        ("1", "INTRODUCTION", 2),
    ]
    assert section_at(find_headings(doc), len(doc.text) - 1) == ("1", "INTRODUCTION", ("Part II", "1"))


@pytest.mark.unit
def test_titles_lose_footnote_numbers_and_take_the_part_before_a_colon() -> None:
    page = """I. INTRODUCTION
Text.
II. DISCUSSION
A. Approach to Specific Part 11 Requirements
1. Validation
2. Audit Trail
3. Legacy Systems7
Text."""
    assert _outline(_doc(page))[-1] == ("II.A.3", "Legacy Systems", 3)
    q6a = """1. INTRODUCTION
2. GENERAL CONCEPTS
3. GUIDELINES
3.1 Specifications: Definition and Justification
3.3 Specific Tests / Criteria
3.3.2 New Drug Products
3.3.2.1 The following tests are applicable to tablets (coated and uncoated) and hard
capsules.
3.3.2.2 Oral liquids: One or more of the following specific tests will normally be
applicable to oral liquids and to powders intended for reconstitution as oral liquids."""
    assert _outline(_doc(q6a))[-3:] == [
        ("3.3", "Specific Tests / Criteria", 2),
        ("3.3.2", "New Drug Products", 3),
        ("3.3.2.2", "Oral liquids", 4),
    ]


@pytest.mark.unit
def test_section_at_returns_the_enclosing_path() -> None:
    headings = [
        Heading("IV", "RECOMMENDATIONS", 1, 100),
        Heading("IV.A", "General Considerations", 2, 200),
        Heading("IV.A.1", "Building Knowledge", 3, 300),
        Heading("IV.B", "Stage 1", 2, 400),
        Heading("Glossary", "Glossary", 1, 500),
    ]
    assert section_at(headings, 50) == ("", "", ())
    assert section_at(headings, 100) == ("IV", "RECOMMENDATIONS", ("IV",))
    assert section_at(headings, 350) == ("IV.A.1", "Building Knowledge", ("IV", "IV.A", "IV.A.1"))
    assert section_at(headings, 450) == ("IV.B", "Stage 1", ("IV", "IV.B"))
    assert section_at(headings, 10_000) == ("Glossary", "Glossary", ("Glossary",))


# --- the real corpus (integration) -----------------------------------------------------------------


@pytest.mark.integration
def test_process_validation_outline() -> None:
    doc = parse_pdf(CORPUS / "fda" / "fda-process-validation-general-principles-2011.pdf", "fda-pv")
    headings = find_headings(doc)
    assert [(h.number, h.title) for h in headings if h.number.startswith("IV")] == [
        ("IV", "RECOMMENDATIONS"),
        ("IV.A", "General Considerations for Process Validation"),
        ("IV.B", "Stage 1 ― Process Design"),
        ("IV.B.1", "Building and Capturing Process Knowledge and Understanding"),
        ("IV.B.2", "Establishing a Strategy for Process Control"),
        ("IV.C", "Stage 2 ― Process Qualification"),
        ("IV.C.1", "Design of a Facility and Qualification of Utilities and Equipment"),
        ("IV.C.2", "Process Performance Qualification"),
        ("IV.C.3", "PPQ Protocol"),
        ("IV.C.4", "PPQ Protocol Execution and Report"),
        ("IV.D", "Stage 3 ― Continued Process Verification"),
    ]
    top_level = ["I", "II", "III", "IV", "V", "VI", "VII", "Glossary", "References"]
    assert [h.number for h in headings if h.level == 1] == top_level
    ppq = next(h for h in headings if h.number == "IV.C.3")
    assert doc.page_at(ppq.start) == 15
    assert section_at(headings, ppq.start + 50) == ("IV.C.3", "PPQ Protocol", ("IV", "IV.C", "IV.C.3"))


@pytest.mark.integration
def test_q10_outline() -> None:
    doc = parse_pdf(CORPUS / "ich" / "ich-q10-pharmaceutical-quality-system-2008.pdf", "ich-q10")
    headings = {h.number: h for h in find_headings(doc)}
    assert headings["1.3"].title == "Relationship of ICH Q10 to Regional GMP Requirements, ISO Standards and ICH Q7"
    assert (headings["3.2.1"].title, headings["3.2.1"].level) == (
        "Process Performance and Product Quality Monitoring System",
        3,
    )
    assert doc.page_at(headings["1.3"].start) == 6  # the body heading, not the table of contents entry
    assert list(headings) == [
        *("1", "1.1", "1.2", "1.3", "1.4", "1.5", "1.5.1", "1.5.2", "1.5.3", "1.6", "1.6.1", "1.6.2", "1.7", "1.8"),
        *("2", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8"),
        *("3", "3.1", "3.1.1", "3.1.2", "3.1.3", "3.1.4", "3.2", "3.2.1", "3.2.2", "3.2.3", "3.2.4"),
        *("4", "4.1", "4.2", "4.3", "5", "Annex 1", "Annex 2"),
    ]
