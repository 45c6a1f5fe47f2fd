"""`regkb eval`: the gold set through the production path, beside the baselines, in one run."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from evals.gold import GoldQuestion, load_gold
from evals.metrics import QuestionScore, score_question
from evals.systems import Evidence, System, SystemAnswer
from ingest.pipeline import ingest_corpus
from kb.glossary import Glossary
from kb.knowledge_base import KnowledgeBase, open_knowledge_base
from kb.manifest import load_manifest
from kb.quotes import verify_quote
from kb.settings import Settings

__all__ = ["RegkbSystem", "EvalRun", "run_eval", "retrieval_variant"]


class RegkbSystem:
    """regkb as users get it: `ask` for the answer (timed), `search` for the ranked evidence."""

    def __init__(self, kb: KnowledgeBase, name: str = "regkb") -> None:
        self.kb = kb
        self.name = name

    def answer(self, question: str) -> SystemAnswer:
        began = time.perf_counter()
        answer = self.kb.ask(question)
        latency = (time.perf_counter() - began) * 1000
        evidence = tuple(
            Evidence(p.chunk.doc_id, tuple(p.chunk.pages), p.chunk.text) for p in self.kb.search(question, k=10)
        )
        citations = tuple(Evidence(c.doc_id, c.pages, c.quote) for c in answer.citations)
        verified = sum(verify_quote(c.text, [self.kb.page_text(c.doc_id, p) for p in c.pages]) for c in citations)
        shown = tuple(c.id for c in answer.checklist.checkpoints) if answer.checklist else ()
        checkpoints = shown if self.kb.checkpoint_map is not None else None
        return SystemAnswer(
            evidence,
            citations,
            answer.status,
            latency,
            verified,
            len(citations),
            checkpoints,
            text=answer.answer,
            confidence=answer.confidence,
        )


def retrieval_variant(kb: KnowledgeBase, *, plain: bool = False, **overrides: float) -> KnowledgeBase:
    """The same index and answer path with other retrieval settings (e.g. one ranking switched off).

    `plain` also drops the domain glossary (no acronym expansion, no absent-term rule), so a baseline
    is the bare ranking over the same chunks rather than regkb's query handling with one ranking off.
    """
    retrieval = kb.settings.retrieval.model_copy(update=overrides)
    variant = dataclasses.replace(kb, settings=kb.settings.model_copy(update={"retrieval": retrieval}))
    if not plain:
        return variant
    return dataclasses.replace(
        variant, glossary=Glossary(()), absent_terms={}, unaddressed_terms={}, checkpoint_map=None
    )


@dataclass(frozen=True)
class EvalRun:
    scores: dict[str, list[QuestionScore]]  # system name -> one score per question
    corpus_snapshot: str
    seconds: float


def run_eval(
    settings: Settings,
    *,
    questions: Sequence[GoldQuestion] | None = None,
    baselines: bool = True,
    progress: bool | None = None,
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> EvalRun:
    began = time.perf_counter()
    show = sys.stderr.isatty() if progress is None else progress
    ingest_corpus(settings, progress=show)
    kb = open_knowledge_base(settings)
    systems = _systems(kb, settings, baselines, show, log)
    questions = list(questions if questions is not None else load_gold())
    for question in questions[:3]:  # warm-up, so latency reflects a running service
        for system in systems:
            system.answer(question.question)
    scores = {}
    for system in systems:
        log(f"eval: {system.name} on {len(questions)} questions")
        scores[system.name] = [score_question(q, system.answer(q.question)) for q in questions]
    return EvalRun(scores, kb.corpus_snapshot, round(time.perf_counter() - began, 1))


def _systems(
    kb: KnowledgeBase, settings: Settings, baselines: bool, show: bool, log: Callable[[str], None]
) -> list[System]:
    systems: list[System] = [RegkbSystem(kb)]
    if not baselines:
        return systems
    from evals.baselines import build_langchain_baseline

    log("eval: building the LangChain recipe baseline")
    records = [r for r in load_manifest(settings.manifest_path) if r.available_offline and r.file]
    recipe = build_langchain_baseline(
        records, settings.corpus_path, kb.embedder, persist_dir=settings.data_dir / "baseline-langchain", progress=show
    )
    return systems + [
        RegkbSystem(retrieval_variant(kb, plain=True, dense_weight=0.0), "bm25-only"),
        RegkbSystem(retrieval_variant(kb, plain=True, keyword_weight=0.0), "dense-only"),
        recipe,
    ]


def write_question_log(run: EvalRun, path: Path) -> None:
    """One line per system and question: what the metrics saw, for finding what to fix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:
        for system, scores in run.scores.items():
            for s in scores:
                row = {"system": system, "id": s.question.id, "split": s.question.split, "kind": s.question.kind}
                out.write(json.dumps({**row, **s.values, "latency_ms": round(s.latency_ms, 1)}) + "\n")
