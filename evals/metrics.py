"""Scores of one system on the gold set: retrieval, evidence, citations, refusals and latency.

Per answerable question (retrieval looks at the ranked evidence, not at the answer):
    doc_hit@1, doc_hit@5  a gold document is the first / among the first five passages
    page_hit@1, page_hit@5  a gold document *and* page is the first / among the first five
    mrr@10                1 / rank of the first passage on a gold page (0 past rank 10)
    nugget_recall@5       share of the question's nuggets found in the first five passages' text
    answer_nugget_recall  share found in what the user sees: the answer text and the cited quotes (a
                          baseline, which has no answer text, shows its cited passages)
    citation_precision    share of the answer's citations whose document and page are gold
    false_refusal         the answer said no_evidence
Per unanswerable question: refusal (the answer said no_evidence).
Calibration of `confidence`, over answered questions (answerable or not):
    high_confidence_precision  share of "high" answers that cite a gold page
    low_confidence_precision   share of "low" answers that cite a gold page (should be clearly lower)
Quote fidelity: citations whose quote is on the cited page(s), over all citations checked.
Checkpoint map (systems that have one):
    checkpoint_recall     share of the expected checkpoint ids the answer's checklist shows
    checkpoint_precision  share of the checklist's checkpoint ids that were expected
    spurious_checklist    a question that expects no checkpoint got a checklist
A map-only question (expected checkpoints, no gold page) is scored on the checkpoint metrics alone.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from evals.gold import GoldQuestion
from evals.systems import Evidence, SystemAnswer
from kb.quotes import normalise_ws

__all__ = ["QuestionScore", "Summary", "score_question", "summarise", "METRICS"]

METRICS = (
    "doc_hit@1",
    "doc_hit@5",
    "page_hit@1",
    "page_hit@5",
    "mrr@10",
    "nugget_recall@5",
    "answer_nugget_recall",
    "citation_precision",
    "quote_fidelity",
    "refusal_accuracy",
    "false_refusal_rate",
    "high_confidence_precision",
    "low_confidence_precision",
    "checkpoint_recall",
    "checkpoint_precision",
    "spurious_checklist",
    "latency_p50_ms",
    "latency_p95_ms",
)
_PER_QUESTION = tuple(m for m in METRICS if m != "quote_fidelity" and not m.startswith("latency"))


@dataclass(frozen=True)
class QuestionScore:
    question: GoldQuestion
    values: dict[str, float]  # metric -> value for this question (only the metrics that apply)
    latency_ms: float
    quotes_verified: int
    quotes_checked: int


def score_question(question: GoldQuestion, answer: SystemAnswer) -> QuestionScore:
    refused = answer.status == "no_evidence"
    values: dict[str, float]
    if not question.answerable:
        values = {"refusal_accuracy": float(refused)}
    elif question.map_only:
        values = {}
    else:
        top5, top10 = answer.evidence[:5], answer.evidence[:10]
        on_gold_page = [question.is_gold_page(e.doc_id, e.pages) for e in top10]
        values = {
            "doc_hit@1": float(bool(top5) and top5[0].doc_id in question.gold_docs),
            "doc_hit@5": float(any(e.doc_id in question.gold_docs for e in top5)),
            "page_hit@1": float(bool(on_gold_page) and on_gold_page[0]),
            "page_hit@5": float(any(on_gold_page[:5])),
            "mrr@10": next((1.0 / rank for rank, hit in enumerate(on_gold_page, start=1) if hit), 0.0),
            "nugget_recall@5": _nugget_recall(question.nuggets, top5),
            "answer_nugget_recall": _nugget_recall(
                question.nuggets,
                [*answer.citations, Evidence("", (), answer.text)] if answer.text else answer.citations,
            ),
            "false_refusal_rate": float(refused),
        }
        if answer.citations:
            hits = [question.is_gold_page(c.doc_id, c.pages) for c in answer.citations]
            values["citation_precision"] = sum(hits) / len(hits)
    if answer.status == "answered" and answer.confidence in ("high", "low"):
        correct = any(question.is_gold_page(c.doc_id, c.pages) for c in answer.citations)
        values[f"{answer.confidence}_confidence_precision"] = float(correct)
    values.update(_checkpoint_scores(question.checkpoints, answer.checkpoints))
    return QuestionScore(question, values, answer.latency_ms, answer.quotes_verified, answer.quotes_checked)


def _checkpoint_scores(expected: Sequence[str], shown: Sequence[str] | None) -> dict[str, float]:
    if shown is None:
        return {}
    if not expected:
        return {"spurious_checklist": float(bool(shown))}
    scores = {"checkpoint_recall": sum(c in shown for c in expected) / len(expected)}
    if shown:
        scores["checkpoint_precision"] = sum(c in expected for c in shown) / len(shown)
    return scores


def _nugget_recall(nuggets: Sequence[str], evidence: Sequence) -> float:  # type: ignore[type-arg]
    if not nuggets:
        return 0.0
    text = normalise_ws(" ".join(e.text for e in evidence)).lower()
    return sum(normalise_ws(n).lower() in text for n in nuggets) / len(nuggets)


@dataclass(frozen=True)
class Summary:
    count: int
    values: dict[str, float | None]


def summarise(scores: Sequence[QuestionScore]) -> Summary:
    values: dict[str, float | None] = {m: _mean([s.values[m] for s in scores if m in s.values]) for m in _PER_QUESTION}
    checked = sum(s.quotes_checked for s in scores)
    values["quote_fidelity"] = sum(s.quotes_verified for s in scores) / checked if checked else None
    latencies = sorted(s.latency_ms for s in scores)
    values["latency_p50_ms"] = _percentile(latencies, 0.5)
    values["latency_p95_ms"] = _percentile(latencies, 0.95)
    return Summary(len(scores), values)


def _mean(observed: list[float]) -> float | None:
    return statistics.fmean(observed) if observed else None


def _percentile(ordered: Sequence[float], q: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
