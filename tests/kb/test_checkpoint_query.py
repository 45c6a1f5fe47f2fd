"""Which checkpoint rows a question or a set of options selects, and how references are checked."""

from __future__ import annotations

import pytest

from kb.checkpoint_map import load_checkpoint_map
from kb.checkpoint_query import build_checklist, checklist_for_question, match_question, select
from tests.kb.checkpoint_fixture import DOCUMENTS, page_text, write_map

pytestmark = pytest.mark.unit


@pytest.fixture
def cmap(tmp_path):
    return load_checkpoint_map(write_map(tmp_path), DOCUMENTS)


@pytest.mark.parametrize(
    ("question", "kind", "checkpoints", "items", "jurisdictions"),
    [
        ("What CMC information does a Phase 1 IND need?", "checkpoint", ("us-ind",), (), ("US",)),
        ("What is needed for a first-in-human trial?", "checkpoint", ("eu-cta", "us-ind"), (), ()),
        ("First-in-human requirements, EU vs US", "checkpoint", ("eu-cta", "us-ind"), (), ("EU", "US")),
        ("What potency data must the BLA include?", "checkpoint", ("us-bla",), ("potency",), ("US",)),
        ("When must the potency assay be validated?", "progression", (), ("potency",), ("EU", "US")),
        ("When must the potency assay be validated in the EU?", "progression", (), ("potency",), ("EU",)),
        ("What must be in place before the first GMP batch?", "checkpoint", ("eu-cta",), (), ()),
        ("What goes into the CTA dossier?", "checkpoint", ("eu-cta",), (), ("EU",)),
        ("CTA vs IND", "checkpoint", ("eu-cta", "us-ind"), (), ("EU", "US")),  # keyword style, no verb
        ("By when does the potency assay have to be validated?", "progression", (), ("potency",), ("EU", "US")),
    ],
)
def test_checkpoint_questions_are_recognised(cmap, question, kind, checkpoints, items, jurisdictions):
    query = match_question(question, cmap)
    assert query is not None
    assert (query.kind, query.checkpoint_ids, query.item_ids, query.jurisdictions) == (
        kind,
        checkpoints,
        items,
        jurisdictions,
    )


@pytest.mark.parametrize(
    "question",
    [
        "What is a potency assay?",  # an item, but no timing: a definition question
        "Describe the IND safety reporting timelines",  # a checkpoint, but not what it needs
        "Tell us about Phase 1",
        "How should an OOS result be investigated?",
        "Is an indication mentioned in the protocol?",  # "ind" inside words is not the IND
        "How should potency limits be set when only a few batches exist?",  # "when" as a conjunction
        "When are potency, GMP and stability tested?",  # not one item's maturity: two items at most
    ],
)
def test_other_questions_are_not_checkpoint_questions(cmap, question):
    assert match_question(question, cmap) is None


def test_a_jurisdiction_filter_narrows_and_an_ich_filter_drops_the_map(cmap):
    query = match_question("What is needed for a first-in-human trial?", cmap, jurisdictions=("EU",))
    assert query is not None and query.checkpoint_ids == ("eu-cta",)
    assert match_question("What is needed for a first-in-human trial?", cmap, jurisdictions=("ICH",)) is None


def test_select_by_options(cmap):
    checkpoints, rows = select(cmap, items=("potency",))
    assert [c.id for c in checkpoints] == ["eu-cta", "us-ind", "us-bla"]
    assert [(c.id, e.level) for c, e in rows] == [
        ("eu-cta", "quantitative"),
        ("us-ind", "quantitative"),
        ("us-bla", "validated"),
    ]
    _, rows = select(cmap, checkpoint_ids=("us-ind",), product_types=("autologous-cells",))
    assert [e.item for _, e in rows] == ["potency"]  # the quality-system row is scoped to allogeneic cells
    _, rows = select(cmap, checkpoint_ids=("us-ind",), roles=("cdmo",))
    assert [e.item for _, e in rows] == ["quality-system"]
    assert select(cmap, jurisdictions=("US",), stages=("licence",))[0][0].id == "us-bla"


def test_references_are_checked_and_offline_ones_say_so(cmap):
    checklist = checklist_for_question("What does the IND need, and the CTA?", cmap, page_text=page_text)
    assert checklist is not None
    assert checklist.jurisdictions == ("EU", "US")
    refs = {r.doc_id: r for c in checklist.checkpoints for r in c.references}
    assert (refs["local-guide"].check, refs["local-guide"].quote) == (
        "verified",
        "Phase 1 submissions should focus on safety.",
    )
    assert (refs["remote-reg"].check, refs["remote-reg"].url) == ("not_offline", "https://eur-lex.europa.eu/remote")


def test_a_quote_the_page_does_not_hold_is_withheld(cmap):
    checkpoints, rows = select(cmap, checkpoint_ids=("us-ind",))
    checklist = build_checklist(cmap, "checkpoint", checkpoints, rows, page_text=lambda doc, page: "other text")
    ref = checklist.checkpoints[0].references[0]
    assert (ref.check, ref.quote) == ("quote_not_found", None)
    unchecked = build_checklist(cmap, "checkpoint", checkpoints, rows, page_text=None)
    assert unchecked.checkpoints[0].references[0].check == "not_checked"


def test_progression_rows_carry_the_level_rank(cmap):
    checklist = checklist_for_question("When must the potency assay be validated?", cmap, page_text=page_text)
    assert checklist is not None and checklist.kind == "progression"
    assert [(r.checkpoint_id, r.level_rank, r.level_count) for r in checklist.rows] == [
        ("eu-cta", 1, 2),
        ("us-ind", 1, 2),
        ("us-bla", 2, 2),
    ]


def test_a_checkpoint_named_inside_a_longer_name_is_not_matched(tmp_path):
    from tests.kb.checkpoint_fixture import CHECKPOINTS

    data = {**CHECKPOINTS, "checkpoints": [dict(c) for c in CHECKPOINTS["checkpoints"]]}
    data["checkpoints"][1] = {**data["checkpoints"][1], "aliases": ["BLA", "Phase 1 to Phase 3"]}
    cmap = load_checkpoint_map(write_map(tmp_path, data), DOCUMENTS)
    query = match_question("What is needed going from Phase 1 to Phase 3?", cmap)
    assert query is not None and query.checkpoint_ids == ("us-bla",)
