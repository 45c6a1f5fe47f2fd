"""Version relations: which version a question names, and the note every citation carries."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kb.models import DocumentRecord
from kb.versions import names_version, version_note, with_version_notes

pytestmark = pytest.mark.unit


def _record(doc_id: str, reference: str, version: str, **fields: object) -> DocumentRecord:
    base = DocumentRecord(
        id=doc_id,
        title=doc_id,
        agency="ICH",
        jurisdiction="ICH",
        doc_type="guideline",
        reference=reference,
        version=version,
        status="final",
        url="https://database.ich.org/x.pdf",
    )
    return replace(base, **fields)  # type: ignore[arg-type]


RECORDS = {
    r.id: r
    for r in with_version_notes(
        [
            _record("q9", "ICH Q9", "Step 4, 9 November 2005", status="superseded", superseded_by="q9r1"),
            _record("q9r1", "ICH Q9(R1)", "Step 4, 18 January 2023"),
            _record("q3c8", "ICH Q3C(R8)", "Step 4, 22 April 2021", status="superseded", superseded_by="q3c9"),
            _record("q3c9", "ICH Q3C(R9)", "Step 4, 24 January 2024"),
            _record("e6r2", "ICH E6(R2)", "Step 4, 9 November 2016", status="superseded", superseded_by="e6r3"),
            _record("e6r3", "ICH E6(R3)", "Step 4, 6 January 2025", available_offline=False),
            _record("q1a", "ICH Q1A(R2)", "Step 4, 6 February 2003"),
            _record("q5c", "ICH Q5C", "Step 4, 30 November 1995"),
            _record("q1", "ICH Q1", "Step 2 draft, 11 April 2025", status="draft", will_replace=("q1a", "q5c")),
        ]
    )
}
INDEXED = {k: v for k, v in RECORDS.items() if k != "e6r3"}


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("How should quality risk management be documented?", set()),
        ("What does ICH Q9 say about formality?", {"q9r1"}),  # a bare code means the current text
        ("Under the 2005 Q9, what were the risk management tools?", {"q9"}),
        ("What did the original Q9 say about risk review?", {"q9"}),
        ("Q9 vs Q9(R1): what changed on subjectivity?", {"q9", "q9r1"}),
        ("Q9(R1) subjectivity", {"q9r1"}),
        ("Q3C(R8) limit for acetonitrile", {"q3c8"}),
        ("Q3C R9 analytical procedures", {"q3c9"}),
        ("Q3C(R8) vs Q3C(R9)", {"q3c8", "q3c9"}),
        ("residual solvents in Q3C", {"q3c9"}),
        ("What does Q99 say?", set()),
    ],
)
def test_which_version_a_question_names(question: str, named: set[str]) -> None:
    versioned = [INDEXED[i] for i in ("q9", "q9r1", "q3c8", "q3c9")]
    found = {r.id for r in versioned if names_version(question, r, INDEXED)}
    assert found == named


def test_a_bare_code_names_the_old_version_when_its_successor_is_not_indexed() -> None:
    assert names_version("What does E6 say about source documents?", INDEXED["e6r2"], INDEXED)


def test_version_notes_name_the_successor_and_what_a_draft_replaces() -> None:
    assert version_note(RECORDS["q9"], RECORDS) == "Superseded by ICH Q9(R1), Step 4, 18 January 2023"
    assert RECORDS["e6r2"].version_note == "Superseded by ICH E6(R3), Step 4, 6 January 2025 (not in the local corpus)"
    assert RECORDS["q1"].version_note == (
        "Draft, Step 2 draft, 11 April 2025: not for implementation; once final it replaces ICH Q1A(R2) and ICH Q5C"
    )
    assert RECORDS["q5c"].version_note == "Current; the ICH Q1 draft would replace it once final"
    assert (RECORDS["q9r1"].version_note, RECORDS["q3c9"].version_note) == ("", "")
