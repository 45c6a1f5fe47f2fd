"""The per-question metrics on hand-made answers, and the hard portion of the gold set."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.gold import GoldQuestion, GoldRef, load_gold
from evals.metrics import score_question, summarise
from evals.systems import Evidence, SystemAnswer

pytestmark = pytest.mark.unit

QUESTION = GoldQuestion(
    id="x-01",
    question="How many PPQ batches?",
    kind="procedure",
    gold=(GoldRef("fda-pv", (12,)),),
    nuggets=("a number of batches", "justified by the manufacturer"),
    split="dev",
)


def _answer(evidence, citations=(), text="", status="answered") -> SystemAnswer:
    return SystemAnswer(tuple(evidence), tuple(citations), status, 10.0, text=text)


def test_page_hit_at_1_needs_the_gold_page_first():
    first = _answer([Evidence("fda-pv", (12,), "x"), Evidence("q7", (3,), "y")])
    second = _answer([Evidence("fda-pv", (11,), "x"), Evidence("fda-pv", (12,), "y")])
    assert score_question(QUESTION, first).values["page_hit@1"] == 1.0
    assert score_question(QUESTION, second).values["page_hit@1"] == 0.0
    assert score_question(QUESTION, second).values["page_hit@5"] == 1.0


def test_answer_nugget_recall_counts_only_what_the_user_sees():
    evidence = [Evidence("fda-pv", (12,), "a number of batches, justified by the manufacturer")]
    quoted = _answer(evidence, [Evidence("fda-pv", (12,), "A number of batches is needed.")], text="See [1].")
    in_text = _answer(evidence, [], text="Justified by the manufacturer, and a number of batches.")
    scores = score_question(QUESTION, quoted).values
    assert scores["nugget_recall@5"] == 1.0 and scores["answer_nugget_recall"] == 0.5
    assert score_question(QUESTION, in_text).values["answer_nugget_recall"] == 1.0
    refused = score_question(QUESTION, _answer(evidence, status="no_evidence")).values
    assert refused["answer_nugget_recall"] == 0.0 and refused["false_refusal_rate"] == 1.0
    assert summarise([score_question(QUESTION, quoted)]).values["answer_nugget_recall"] == 0.5


def test_a_hard_file_is_a_portion_of_its_own(tmp_path: Path):
    item = "- {id: %s, question: 'Q?', kind: definition, gold: [{doc: d, pages: [1]}], nuggets: [n]}\n"
    (tmp_path / "old.yaml").write_text(item % "o-1")
    (tmp_path / "hard_test.yaml").write_text(item % "h-1")
    splits = {q.id: q.split for q in load_gold(tmp_path)}
    assert splits["h-1"] == "hard" and splits["o-1"] in ("dev", "test")


def test_confidence_is_scored_by_whether_its_answers_cite_a_gold_page():
    right = [Evidence("fda-pv", (12,), "q")]
    wrong = [Evidence("q7", (3,), "q")]
    high = score_question(QUESTION, SystemAnswer(tuple(right), tuple(right), "answered", 1.0, confidence="high"))
    low = score_question(QUESTION, SystemAnswer(tuple(wrong), tuple(wrong), "answered", 1.0, confidence="low"))
    baseline = score_question(QUESTION, SystemAnswer(tuple(right), tuple(right), "answered", 1.0))
    assert high.values["high_confidence_precision"] == 1.0 and "low_confidence_precision" not in high.values
    assert low.values["low_confidence_precision"] == 0.0
    assert not {k for k in baseline.values if "confidence" in k}
