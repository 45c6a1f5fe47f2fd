"""Heading styles of the third staging's documents, on lines copied from their extracted text.

One test per style: EU GMP annexes (named sections, numbered sections, sub-titles, numbered paragraphs
that name text without splitting it), ICH Q12's four-level decimals and bare upper-case sections, ICH
Q2(R2)'s numbered annexes, ICH Q5A(R2)'s annexes, the ICH Q1 draft's "A3-4.1" annex sections, ICH
Q12 Annexes' "Annex IA" labels, and ICH Q5B's title-case roman outline.
"""

from __future__ import annotations

import pytest

from ingest.sections import find_headings, section_at
from kb.models import ParsedDocument

pytestmark = pytest.mark.unit


def _doc(*pages: str) -> ParsedDocument:
    return ParsedDocument(doc_id="demo", pages=tuple(pages))


def _outline(doc: ParsedDocument) -> list[tuple[str, str, int, bool]]:
    return [(h.number, h.title, h.level, h.splits) for h in find_headings(doc)]


ANNEX1_FRONT = """The Rules Governing Medicinal Products in the European Union
Volume 4 EU Guidelines for Good Manufacturing Practice for Medicinal Products for
Human and Veterinary Use

Annex 1

Manufacture of Sterile Medicinal Products"""

ANNEX1_MAP = """Document map
Section Number General overview
1. Scope Includes additional areas (other than sterile products) where the
general principles of the annex can be applied.
2. Principle General principles as applied to the manufacture of sterile
products."""

ANNEX1_BODY = """1 Scope

The manufacture of sterile products covers a wide range of sterile product types (active substance,
excipient, primary packaging material and finished dosage form).

2 Principle

2.1 The manufacture of sterile products is subject to special requirements in order to minimize risks of
microbial, particulate and endotoxin/pyrogen contamination. The following key areas should be
considered:"""

ANNEX1_APS = """9 Environmental & process monitoring

General

9.1 The site's environmental and process monitoring programme forms part of the overall CCS and is
used to monitor the controls designed to minimize the risk of microbial and particle contamination.

9.2 Microorganisms detected in the grade A and grade B areas should be identified to species level
and the potential impact of such microorganisms on product quality (for each batch implicated) and
overall state of control should be evaluated.

Aseptic process simulation (APS) (also known as media fill)

9.3 Periodic verification of the effectiveness of the controls in place for aseptic processing should
include an APS using a sterile nutrient media and/or surrogate in place of the product.

9.4 The APS should imitate as closely as possible the routine aseptic manufacturing process and
include all the critical manufacturing steps."""


def test_eu_gmp_annex_sections_subtitles_and_paragraphs() -> None:
    doc = _doc(ANNEX1_FRONT, ANNEX1_MAP, ANNEX1_BODY, ANNEX1_APS)
    # The document's own "Annex 1" and the document map are not sections; "9.1" jumps from "2.1"
    # because the sample skips sections 3-8, so only paragraphs of the current section count.
    assert _outline(doc) == [
        ("1", "Scope", 1, True),
        ("2", "Principle", 1, True),
        ("2.1", "Principle", 3, False),
    ]
    body = _doc(ANNEX1_FRONT, "1 Scope\n\nText.\n\n" + "\n\n".join(f"{n} Section {n}" for n in range(2, 9)), ANNEX1_APS)
    outline = _outline(body)
    aps = "Aseptic process simulation (APS) (also known as media fill)"
    assert outline[-7:] == [
        ("9", "Environmental & process monitoring", 1, True),
        ("9", "General", 2, True),
        ("9.1", "General", 3, False),
        ("9.2", "General", 3, False),
        ("9", aps, 2, True),
        ("9.3", aps, 3, False),
        ("9.4", aps, 3, False),
    ]
    headings = find_headings(body)
    offset = body.text.index("include an APS using")
    assert section_at(headings, offset)[:2] == ("9.3", "Aseptic process simulation (APS) (also known as media fill)")
    assert section_at(headings, body.text.index("include all the critical"))[0] == "9.4"
    # A paragraph number that jumps far ahead is a figure or a wrapped cross-reference, not the next one.
    jump = _doc(ANNEX1_FRONT, "1 Scope\n\n1.1 Text of the first paragraph.\n\n1.45 ml of the medium was used.")
    assert [h[0] for h in _outline(jump)] == ["1", "1.1"]
    # "General" inside a numbered section is a sub-title (above), not a new top-level section.
    assert ("General", "General", 1, True) not in outline


ANNEX15 = """EudraLex
Volume 4
EU Guidelines for
Good Manufacturing Practice for
Medicinal Products for Human and Veterinary Use
Annex 15: Qualification and Validation

Principle
This Annex describes the principles of qualification and validation which are applicable
to the facilities, equipment, utilities and processes used for the manufacture of medicinal
products.

General
A quality risk management approach should be applied throughout the lifecycle of a
medicinal product.

1. ORGANISING AND PLANNING FOR QUALIFICATION AND
VALIDATION
1.1. All qualification and validation activities should be planned and take the life cycle of
facilities, equipment, utilities, process and product into consideration.

1.2. Qualification and validation activities should only be performed by suitably trained
personnel who follow approved procedures."""


def test_eu_gmp_annex15_named_sections_wrapped_titles_and_dotted_paragraphs() -> None:
    assert _outline(_doc(ANNEX15)) == [
        ("Principle", "Principle", 1, True),
        ("General", "General", 1, True),
        ("1", "ORGANISING AND PLANNING FOR QUALIFICATION AND VALIDATION", 1, True),
        ("1.1", "ORGANISING AND PLANNING FOR QUALIFICATION AND VALIDATION", 3, False),
        ("1.2", "ORGANISING AND PLANNING FOR QUALIFICATION AND VALIDATION", 3, False),
    ]


ANNEX11 = """EudraLex
The Rules Governing Medicinal Products in the European Union
Volume 4
Good Manufacturing Practice
Medicinal Products for Human and Veterinary Use
Annex 11: Computerised Systems

Principle
This annex applies to all forms of computerised systems used as part of a GMP regulated
activities.

General
1. Risk Management
Risk management should be applied throughout the lifecycle of the computerised system
taking into account patient safety, data integrity and product quality.

9. Audit Trails
Consideration should be given, based on a risk assessment, to building into the system the
creation of a record of all GMP-relevant changes and deletions (a system generated "audit
trail")."""


def test_eu_gmp_annex11_numbered_sections_without_paragraphs() -> None:
    # Sections 2-8 are left out of the sample; a section number may skip one, not seven.
    outline = _outline(_doc(ANNEX11))
    assert outline == [
        ("Principle", "Principle", 1, True),
        ("General", "General", 1, True),
        ("1", "Risk Management", 1, True),
    ]
    full = _doc(ANNEX11.replace("9. Audit Trails", "2. Personnel\nText.\n\n3. Audit Trails"))
    assert [h[0] for h in _outline(full)] == ["Principle", "General", "1", "2", "3"]


Q12 = """1 INTRODUCTION
1.1 Objectives
This guideline provides a framework to facilitate the management of post-approval Chemistry,
Manufacturing and Controls (CMC) changes in a more predictable and efficient manner.
2 CATEGORISATION OF POST-APPROVAL CMC CHANGES
A risk-based categorisation system may be accomplished by having the principles
3 ESTABLISHED CONDITIONS (ECS)
3.1 Introduction
ECs are legally binding information considered necessary to assure product quality.
3.2 ECs in the Regulatory Submission
3.2.1 ECs Definition
3.2.3 Identification of ECs
3.2.3.1 Identification of ECs for the Manufacturing Process
The manufacturing process description in Module 3 should be sufficiently detailed.
20 rpm Design Space consisting of 15 rpm
2 Also referred to as "traditional" in ICH Q11."""


def test_ich_q12_bare_upper_case_sections_and_four_level_decimals() -> None:
    assert [(n, lvl) for n, _, lvl, _ in _outline(_doc(Q12))] == [
        ("1", 1),
        ("1.1", 2),
        ("2", 1),
        ("3", 1),
        ("3.1", 2),
        ("3.2", 2),
        ("3.2.1", 3),
        ("3.2.3", 3),
        ("3.2.3.1", 4),
    ]


Q2R2 = """For further details, see ICH Q14.
4 GLOSSARY
ACCURACY
The accuracy of an analytical procedure expresses the closeness of agreement between the
value which is accepted either as a conventional true value or as an accepted reference value
and the value or set of values measured. (ICH Q2)
5 REFERENCES
ICH Q10 Pharmaceutical Quality System
ICH Q14 Analytical Procedure Development
6 ANNEX 1: SELECTION OF VALIDATION TESTS 1
Figure 2: Examples of relevant validation tests based on the objective of the analytical procedure 2
7 ANNEX 2: ILLUSTRATIVE EXAMPLES FOR ANALYTICAL TECHNIQUES
The tables in this annex provide examples."""


def test_ich_q2r2_numbered_annexes_are_sections() -> None:
    body = "1 INTRODUCTION\nText.\n2 GENERAL CONSIDERATIONS\nText.\n3 VALIDATION TESTS\nText.\n"
    assert [(n, t) for n, t, _, _ in _outline(_doc(body + Q2R2))][3:] == [
        ("4", "GLOSSARY"),
        ("5", "REFERENCES"),
        ("6", "ANNEX 1: SELECTION OF VALIDATION TESTS"),
        ("7", "ANNEX 2: ILLUSTRATIVE EXAMPLES FOR ANALYTICAL TECHNIQUES"),
    ]


Q5A = """10 REFERENCES
ICH Q5D Derivation and Characterisation of Cell Substrates
ANNEX 1: THE CHOICE OF VIRUSES FOR VIRAL CLEARANCE STUDIES
1.1 Examples of Useful "Model" Viruses
Non-specific "model" viruses representing a range of physico-chemical structures.
ANNEX 6: GENETICALLY ENGINEERED VIRAL VECTORS AND VIRAL VECTOR-DERIVED PRODUCTS
The scope of this guideline includes viral vectors."""


def test_ich_q5ar2_annexes_hold_their_own_decimal_sections() -> None:
    outline = _outline(_doc("1 INTRODUCTION\nText.\n" + "\n".join(f"{n} SECTION" for n in range(2, 10)), Q5A))
    assert [(n, lvl) for n, _, lvl, _ in outline[-4:]] == [("10", 1), ("Annex 1", 1), ("1.1", 2), ("Annex 6", 1)]
    assert outline[-1][1] == "GENETICALLY ENGINEERED VIRAL VECTORS AND VIRAL VECTOR-DERIVED PRODUCTS"


Q1_ANNEX3 = """18 ANNEXES
A3-1 INTRODUCTION
This annex provides guidance on the stability of advanced therapy medicinal products.
A3-4 STARTING MATERIALS AND STABILITY
A3-4.1 Cell and Viral Banks
Cell banks and viral banks used as starting materials should be stored under defined conditions.
A3-5 ESTABLISHMENT OF SHELF LIFE"""


def test_ich_q1_draft_annex_sections() -> None:
    body = "1 INTRODUCTION\nText.\n" + "\n".join(f"{n} SECTION" for n in range(2, 18))
    outline = _outline(_doc(body, Q1_ANNEX3))
    assert [(n, lvl) for n, _, lvl, _ in outline[-5:]] == [
        ("18", 1),
        ("A3-1", 1),
        ("A3-4", 1),
        ("A3-4.1", 2),
        ("A3-5", 1),
    ]


def test_a_cross_reference_to_an_annex_in_running_text_is_not_a_heading() -> None:
    text = """1 INTRODUCTION
Annex 2 , Section A2-1 - Statistical Evaluation of Stability Data from Single or Multi-factor Study
2 SCOPE
Text."""
    assert [n for n, *_ in _outline(_doc(text))] == ["1", "2"]


Q12_ANNEXES = """ANNEX I: ILLUSTRATIVE EXAMPLES
Annex IB: Identification of Established Conditions for the Manufacturing Process
Annex IC: Identification of Established Conditions for Analytical Procedures
The following example is provided for illustrative purposes.
Annex ID: PACMP Example 1
ANNEX II: STRUCTURED APPROACH TO ANALYTICAL PROCEDURE CHANGES"""


def test_ich_q12_annexes_lettered_annex_labels() -> None:
    assert [n for n, *_ in _outline(_doc(Q12_ANNEXES))] == ["Annex I", "Annex IB", "Annex IC", "Annex ID", "Annex II"]


Q5B = """I. Introduction
This document is concerned with the analysis of the expression construct in cells.
II. Rationale for Analysis of the Expression Construct
The purpose of analysing the expression construct is to establish that the correct coding sequence.
III. Characterisation of the Expression System
A. Expression Construct and Cell Clone Used to Develop the Master Cell Bank (MCB)
B. Cell Bank System
IV. Conclusion"""


def test_ich_q5b_title_case_roman_outline() -> None:
    assert [n for n, *_ in _outline(_doc(Q5B))] == ["I", "II", "III", "III.A", "III.B", "IV"]
