"""Cleaning helpers, one behaviour each, on lines copied from the corpus."""

from __future__ import annotations

import re

import pytest

from ingest.clean import (
    build_vocabulary,
    clean_pages,
    collapse_blank_lines,
    collapse_padding,
    count_split_signatures,
    hyphenation_vocabulary,
    is_page_number,
    join_hyphenated,
    remove_headers_footers,
    repair_splits,
    repeated_edge_lines,
    strip_line_numbers,
)

# ICH Q10 default-mode extraction (split words) and the same passage elsewhere in the document.
Q10_SPLIT = "throughout the product li fecycle. The ICH Q7 Gu ideline does not explicitly addre ss all stages"
Q10_WHOLE = "The lifecycle of a product. This Guideline and ICH Q7 address quality. Guideline text on lifecycle."


@pytest.mark.unit
def test_collapse_padding_keeps_line_breaks() -> None:
    page = "         A.        Process Validation and Drug Quality\n\nEffective process   contributes  "
    assert collapse_padding(page) == "A. Process Validation and Drug Quality\n\nEffective process contributes"


@pytest.mark.unit
def test_collapse_padding_joins_layout_gap_inside_sentence() -> None:
    assert collapse_padding("initiative en                    titled “Pharma") == "initiative en titled “Pharma"


@pytest.mark.unit
def test_vocabulary_counts_standalone_words_apart_from_split_fragments() -> None:
    vocab = build_vocabulary([Q10_SPLIT, Q10_WHOLE])
    assert (vocab.words["lifecycle"], vocab.standalone["li"], vocab.standalone["fecycle"]) == (2, 0, 0)
    assert vocab.standalone["the"] > 0


@pytest.mark.unit
def test_split_signatures_count_broken_words() -> None:
    vocab = build_vocabulary([Q10_SPLIT, Q10_WHOLE])
    assert count_split_signatures(Q10_SPLIT, vocab) == 3
    assert count_split_signatures(Q10_WHOLE, vocab) == 0


@pytest.mark.unit
def test_repair_splits_merges_fragments_that_form_a_document_word() -> None:
    vocab = build_vocabulary([Q10_SPLIT, Q10_WHOLE])
    assert repair_splits(Q10_SPLIT, vocab) == (
        "throughout the product lifecycle. The ICH Q7 Guideline does not explicitly address all stages"
    )


@pytest.mark.unit
def test_repair_splits_keeps_two_real_words() -> None:
    # "into" is a word of the document, but "in" and "to" both occur on their own: no merge.
    text = "put it in to the tank. Mix into water. Go to it, in time."
    assert repair_splits(text, build_vocabulary([text])) == text


@pytest.mark.unit
def test_repair_splits_joins_words_broken_in_three() -> None:
    # FDA bioanalytical method validation, layout mode: "Parame te rs", "Re comme ndations".
    text = "B. Bioanalytical Parame te rs of CCs\nValidation Re comme ndations\nparameters and recommendations"
    assert repair_splits(text, build_vocabulary([text])).split("\n")[:2] == [
        "B. Bioanalytical Parameters of CCs",
        "Validation Recommendations",
    ]


@pytest.mark.unit
def test_repair_splits_ignores_a_case_change_and_punctuation_between_tokens() -> None:
    # "a N ew" must give "a New", not "aN ew"; "concepts. 8" is a footnote mark, not a split.
    text = "submitted in a N ew Drug Application. New and an. concepts. 8 This"
    expected = "submitted in a New Drug Application. New and an. concepts. 8 This"
    assert repair_splits(text, build_vocabulary([text])) == expected


@pytest.mark.unit
def test_repair_splits_mends_the_end_of_a_hyphenated_token() -> None:
    text = "A. Over-the-C ounter Products\nover-the-counter"
    assert repair_splits(text, build_vocabulary([text])).split("\n")[0] == "A. Over-the-Counter Products"


PART11_PAGE = """Contains Nonbinding Recommendations
 1 Guidance for Industry1
 2 Part 11, Electronic Records; Electronic Signatures —
 3 Scope and Application
 4
 5
 6
 7 This guidance represents the Food and Drug Administration's (FDA's) current thinking on this topic. It
 8 does not create or confer any rights for or on any person and does not operate to bind FDA or the public.
 9 You can use an alternative approach if the approach satisfies the requirements of the applicable statutes
10 and regulations.
11
12
13
16 I. INTRODUCTION
17
18 This guidance is intended to describe the Food and Drug Administration's (FDA's) current
1 This guidance has been prepared by the Office of Compliance in the Center for Drug Evaluation
2 62 FR 13430
1"""


@pytest.mark.unit
def test_strip_line_numbers_removes_part11_numbers_and_keeps_footnotes() -> None:
    lines = strip_line_numbers(collapse_padding(PART11_PAGE)).split("\n")
    assert lines[:4] == [
        "Contains Nonbinding Recommendations",
        "Guidance for Industry1",
        "Part 11, Electronic Records; Electronic Signatures —",
        "Scope and Application",
    ]
    assert "I. INTRODUCTION" in lines
    assert lines[-3:] == [
        "1 This guidance has been prepared by the Office of Compliance in the Center for Drug Evaluation",
        "2 62 FR 13430",
        "",  # numbered blank lines and the page number "1", inside the line-number range, are blanked
    ]
    assert not any(line.strip().isdigit() for line in lines)


@pytest.mark.unit
def test_strip_line_numbers_leaves_a_numbered_list_alone() -> None:
    # ICH E6(R2) 7.5: a 1-7 list is not line numbering.
    page = "\n".join(["- Signature Page (optional)"] + [f"{n} Section {n}" for n in range(1, 8)] + ["NB: References"])
    assert strip_line_numbers(page) == page


@pytest.mark.unit
def test_strip_line_numbers_continues_the_previous_pages_numbering() -> None:
    # BIMO draft page 15: a table page numbers only its first lines, after 317 on page 14.
    page = "40 Links in this column were last accessed: May 28, 2024.\n11\n318 RESOURCE GUIDE\n319\nBIMO Program"
    expected = "40 Links in this column were last accessed: May 28, 2024.\n11\nRESOURCE GUIDE\n\nBIMO Program"
    assert strip_line_numbers(page, continues_from=317) == expected
    assert strip_line_numbers(page) == page


@pytest.mark.unit
@pytest.mark.parametrize("line", ["3", "17", "iv", "xii", "Page 3 of 17", "page 4", "- 3 -", "– 12 –", "  7  "])
def test_is_page_number_accepts_page_number_lines(line: str) -> None:
    assert is_page_number(line)


@pytest.mark.unit
@pytest.mark.parametrize("line", ["3.2.1", "1. INTRODUCTION", "21 CFR 211.100", "Annex 1", "civil", "ill", "2008 June"])
def test_is_page_number_rejects_other_lines(line: str) -> None:
    assert not is_page_number(line)


FDA_PAGES = [
    "Contains Nonbinding Recommendations\n\nII. BACKGROUND\nIn the Federal Register of May 11, 1987\n3",
    "Contains Nonbinding Recommendations\nA. Process Validation and Drug Quality\nEffective process validation\n4",
    "Contains Nonbinding Recommendations\nStage 1 – Process Design: The commercial manufacturing process\n5",
    "Contains Nonbinding Recommendations\nTable 1\n25\n40\n6",
]


@pytest.mark.unit
def test_repeated_edge_lines_finds_the_running_header() -> None:
    assert repeated_edge_lines(FDA_PAGES) == {"Contains Nonbinding Recommendations"}


@pytest.mark.unit
def test_remove_headers_footers_strips_header_and_one_page_number_per_edge() -> None:
    cleaned = remove_headers_footers(FDA_PAGES)
    assert cleaned[0] == "II. BACKGROUND\nIn the Federal Register of May 11, 1987"
    assert cleaned[3] == "Table 1\n25\n40"  # table cells above the page number stay


@pytest.mark.unit
def test_remove_headers_footers_catches_headers_on_alternate_pages() -> None:
    # ICH Q3C puts "Impurities: Guideline for Residual Solvents" on odd pages only (18% of them).
    bodies = ["Residual solvents", "Class 1", "Class 2", "Class 3", "Options", "Limits", "Glossary", "Appendix"]
    header = "Impurities: Guideline for Residual Solvents"
    pages = [f"{header}\n{n}\n{body}" if n % 2 else f"{n}\n{body}" for n, body in enumerate(bodies, start=1)]
    pages += [f"PDE for Cumene\n{n}\nThe text of page {n}" for n in range(9, 60)]
    assert remove_headers_footers(pages)[:8] == bodies


@pytest.mark.unit
def test_remove_headers_footers_roman_and_page_of_footers() -> None:
    pages = ["Preface text\ni", "Contents\nii", "Body\nPage 3 of 17", "More body\n- 4 -"]
    assert remove_headers_footers(pages) == ["Preface text", "Contents", "Body", "More body"]


@pytest.mark.unit
def test_join_hyphenated_drops_a_soft_hyphen_when_the_word_exists() -> None:
    pages = ["validation of the manufac-\nturing process", "manufacturing is done"]
    assert join_hyphenated(pages[0], *hyphenation_vocabulary(pages)) == "validation of the manufacturing\nprocess"


@pytest.mark.unit
def test_join_hyphenated_keeps_a_compound_written_elsewhere() -> None:
    pages = ["science and risk-\nbased approaches", "a risk-based approach"]
    assert join_hyphenated(pages[0], *hyphenation_vocabulary(pages)) == "science and risk-based\napproaches"


@pytest.mark.unit
def test_join_hyphenated_keeps_the_hyphen_between_two_words() -> None:
    # BIMO draft: "pre-\nannouncement"; "pre" and "announcement" both occur on their own.
    pages = ["This pre-\nannouncement notification", "pre and post; an announcement; preannouncement"]
    assert join_hyphenated(pages[0], *hyphenation_vocabulary(pages)) == "This pre-announcement\nnotification"


@pytest.mark.unit
def test_join_hyphenated_moves_a_lone_word_up_without_leaving_a_blank_line() -> None:
    pages = ["for a very short shelf-\nlife.\nNext line", "shelf-life"]
    assert join_hyphenated(pages[0], *hyphenation_vocabulary(pages)) == "for a very short shelf-life.\nNext line"


@pytest.mark.unit
def test_collapse_blank_lines() -> None:
    assert collapse_blank_lines("\n\nA\n\n\n\nB\n\nC\n\n\n") == "A\n\nB\n\nC"


@pytest.mark.unit
def test_clean_pages_keeps_one_entry_per_page_and_never_moves_text() -> None:
    raw = [
        "Pharmaceutical Quality System\n\n1.1      Introduction\nThis document establishes a new ICH tri-\n",
        "",
        "Pharmaceutical Quality System\n\n\n\n\n1.2      Scope\nThis guideline applies\n\n   2",
        "Pharmaceutical Quality System\nquality risk management\n3",
    ]
    assert clean_pages(raw) == [
        "1.1 Introduction\nThis document establishes a new ICH tri-",
        "",
        "1.2 Scope\nThis guideline applies",
        "quality risk management",
    ]


# ICH Q1 Step 2 draft (2025), PDF page 10, as pypdf extracts it: the margin line number ends each line.
Q1_DRAFT_PAGE = """studies to support excursions or modelling). Formal and supportive stability studies and their purposes 118
are described in various sections of this guideline. In addition to formal stability studies, guidance is 119
provided on studies that inform stability knowledge and product understanding (refer to Section 2 – 120
Development Studies Under Stressed and Forced Conditions). These development studies are 121
introduced in Section 2 because some of this information is utilised to develop the primary stability 122
protocol and the validation of stability-indicating methodologies. 123
The guideline discusses strategies for protocol design within Section 3 - Stability Protocol Design to 124
Section 7 - Storage Conditions. The recommendations in these sections are applicable to primary 125
stability studies. However, the principles of protocol design are intended to apply to any stability 126
protocol (e.g., commitment, ongoing and product lifecycle stability studies, including those to support 127
changes). 128
129
3.1 General Principles 130"""  # noqa: E501 - real lines of the PDF, margin numbers included


@pytest.mark.unit
def test_clean_pages_strips_trailing_line_numbers_of_the_ich_drafts() -> None:
    lines = clean_pages([Q1_DRAFT_PAGE])[0].split("\n")
    assert (
        lines[0]
        == "studies to support excursions or modelling). Formal and supportive stability studies and their purposes"
    )
    assert lines[2].endswith("(refer to Section 2 –")  # "Section 2" at a line end is text, "120" was the number
    assert lines[-1] == "3.1 General Principles"
    assert not any(re.search(r"\s1[1-3]\d$", line) for line in lines)


@pytest.mark.unit
def test_trailing_numbers_that_do_not_run_are_kept() -> None:
    page = "Store at 25 °C for 6\nmonths, then at 40 °C for 3\nA table row 12\nAnother row 7"
    assert clean_pages([page])[0] == page
