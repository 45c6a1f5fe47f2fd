"""Whether the retrieved passages can answer a question, and how confidently.

Evidence is judged on what the question asks, not on the situation it describes (kb.question): in
"We make an allogeneic NK-cell product in small lots; how many PPQ batches ...?" the passages must show
PPQ and batches, not NK cells. An acronym counts as shown when the passage spells it out ("PPQ" or
"process performance qualification"), and a domain term no indexed document mentions is context, never
by itself a reason to refuse: when the ask names one, the best passage must only be closer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from kb.glossary import Glossary
from kb.models import Confidence, Passage
from kb.question import (
    ReadQuestion,
    asks_period,
    proposed_values,
    read_question,
    states_period,
    states_unit,
    states_value,
    without_own_product,
)
from kb.settings import AnswerSettings
from kb.text import content_terms

__all__ = ["Wanted", "wanted_terms", "term_coverage", "assess_confidence", "unstated_values", "ASKED_PERIOD"]

_EVIDENCE_PASSAGES = 3
# What `unstated_values` gives for an ask for a period of time ("how long", "how many days") that no
# passage answers with one.
ASKED_PERIOD = "a period of time"
_SIMILARITY_SHARE = 0.7  # of the relevance; the rest is term coverage
# Words that shape an ask without naming its subject ("how many ... do we need", "what is expected").
_ASK_WORDS = re.compile(
    r"\bhow (?:many|much|long|often|frequently|soon)\b|\b(?:need|needs|needed|required?|requirements?|expected|"
    r"want|wants|exactly|actually|really|ok|okay|anything|something|else|enough|specifically|guidance|guideline|"
    r"use|get|take|make|go|goes|set|keep|still|just|well)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Wanted:
    """The terms evidence must show; each item is met by any one of its alternatives (all terms of it)."""

    items: tuple[tuple[frozenset[str], ...], ...]

    def coverage(self, found: set[str]) -> float:
        if not self.items:
            return 0.0
        return sum(any(alt <= found for alt in item) for item in self.items) / len(self.items)


def wanted_terms(
    question: str | ReadQuestion, glossary: Glossary | None = None, *, ignore: Sequence[str] = ()
) -> Wanted:
    """The ask's distinct content terms, glossary acronyms with their spelled-out forms as alternatives;
    the terms of the glossary entries in `ignore` (subjects the corpus lacks), in any of their forms, are left out."""
    reading = question if isinstance(question, ReadQuestion) else read_question(question)
    ask = _ASK_WORDS.sub(" ", reading.ask)
    items: dict[str, tuple[frozenset[str], ...]] = {}
    skipped: set[str] = set()
    for entry in glossary.mentioned(ask) if glossary else []:
        own = content_terms(entry.term)
        if entry.term in ignore:
            skipped.update(t for surface in entry.surfaces for t in content_terms(surface))
            continue
        alternatives = tuple(frozenset(content_terms(s)) for s in entry.surfaces if content_terms(s))
        for term in own:
            items.setdefault(term, alternatives)
    for term in content_terms(ask):
        if term not in skipped and term not in items:
            items[term] = (frozenset([term]),)
    return Wanted(tuple(items.values()))


def term_coverage(
    question: str | ReadQuestion | Wanted, passages: Sequence[Passage], glossary: Glossary | None = None
) -> float:
    """Share of the ask's terms found in the passages (text, section and document titles)."""
    wanted = question if isinstance(question, Wanted) else wanted_terms(question, glossary)
    found: set[str] = set()
    for p in passages:
        found.update(content_terms(f"{p.document.reference} {p.document.title} {p.chunk.section_title} {p.chunk.text}"))
    return wanted.coverage(found)


def assess_confidence(
    question: str | ReadQuestion,
    passages: Sequence[Passage],
    settings: AnswerSettings,
    *,
    absent_terms: Sequence[str] = (),
    unaddressed_terms: Sequence[str] = (),
    glossary: Glossary | None = None,
) -> Confidence | None:
    """ "high" when the best passage is close enough (`min_dense_similarity`; skipped when dense retrieval did
    not run) and the top 3 cover the ask's terms (`min_term_coverage`); None (no_evidence) when nothing
    indexed is relevant: the relevance 0.7 x similarity + 0.3 x coverage under `relevant_score`, or the ask
    naming a glossary term no indexed text mentions (`absent_terms`: RCL, hospital exemption) with the best
    passage under `absent_term_similarity`, or one no indexed document addresses (`unaddressed_terms`, kb.coverage:
    CAR-T, LVV) under `unaddressed_term_similarity`; "low" otherwise. Both kinds of term are context for
    the coverage: the passages need not show them.

    On the dev questions (old and hard style, evals/reports/history.md) the mix separates answerable
    from unanswerable questions better than either signal alone (AUC 0.84), and its floor is set where
    false refusals stay under 5%: a near-miss question is then answered with low confidence.
    """
    if not passages:
        return None
    reading = question if isinstance(question, ReadQuestion) else read_question(question)
    # Without a glossary to tell where a term sits, every one counts as asked about.
    named = None if glossary is None else {t.term for t in glossary.mentioned(without_own_product(reading.ask))}
    asked_absent = [t for t in absent_terms if named is None or t in named]
    asked_unaddressed = [t for t in unaddressed_terms if named is None or t in named]
    ignored = [*absent_terms, *unaddressed_terms]
    coverage = term_coverage(wanted_terms(reading, glossary, ignore=ignored), passages[:_EVIDENCE_PASSAGES])
    similarity = passages[0].dense_similarity
    if similarity is None:
        relevance, close = coverage, True
    else:
        relevance = _SIMILARITY_SHARE * similarity + (1 - _SIMILARITY_SHARE) * coverage
        needed = max(
            settings.absent_term_similarity if asked_absent else -1.0,
            settings.unaddressed_term_similarity if asked_unaddressed else -1.0,
        )
        close = similarity >= needed
    if relevance < settings.relevant_score or not close:
        return None
    similar = similarity is None or similarity >= settings.min_dense_similarity
    return "high" if similar and coverage >= settings.min_term_coverage else "low"


def unstated_values(question: str | ReadQuestion, passages: Sequence[Passage]) -> tuple[str, ...]:
    """The values the ask proposes ("is it 10 CFU/100 mL?", "RPN > 100", "quarterly or once a year?") when
    the passages neither state one of them in its unit (kb.question.states_value: "10 CFU/10 mL" or "10 years"
    do not state 10 CFU/100 mL) nor give another value in the same unit; () otherwise.

    A near miss often turns on a number the guidance does not give (an RPN threshold, a number of cell
    bank vials, a review frequency): the passages about the subject are relevant, but none can confirm or
    correct the value, so the honest answer is that the corpus does not settle it. A passage that states
    one of the values ("annually" for "quarterly, or is once a year enough?"), or speaks of the unit asked
    about ("0.36-0.54 m/s" for "is 0.45 m/s required?", "the number of batches" for "are 3 batches
    enough?"), answers the question.

    An ask for a period ("how long until the recommendation?", "how many days does the agency have?")
    that no passage answers with one ("15 working days", "1 year after expiry") gives `ASKED_PERIOD`: the
    passages describe the procedure but not its clock.
    """
    reading = question if isinstance(question, ReadQuestion) else read_question(question)
    ask = without_own_product(reading.ask)
    proposed = proposed_values(ask)
    texts = [p.chunk.text for p in passages]
    if not proposed:
        return (ASKED_PERIOD,) if asks_period(ask) and not any(map(states_period, texts)) else ()
    if any(states_value(t, v) or states_unit(t, v.unit) for v in proposed for t in texts):
        return ()
    return tuple(f"{v.value} {v.unit}".strip() if v.unit != "frequency" else v.value for v in proposed)
