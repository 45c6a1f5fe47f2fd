"""Extractive answers: verbatim spans of the passages that answer, each followed by a checkable citation.

Nothing is generated. Every sentence is scored by the ask's content terms it contains (kb.question:
the asker's context counts for less), each weighted by an IDF estimated over the passages' own
sentences (a term in every sentence says nothing), plus a small bonus for the passage's retrieval rank
and one for the shape the question type asks for (a number for "how many", a lead-in for "what must X
contain"). The lead is one to `lead_spans` spans, best first, one per passage: the passage's best
sentence with what follows it in its section (whole sentences, or a lead-in's list items), each its own
paragraph under its own citation, so text of different documents is never run together. A passage the
lead does not use is cited (only with `extra_citations`) by its best sentence. Every quote is checked
against the stored page text before it is returned.
"""

from __future__ import annotations

import logging
import math
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cache

from kb.coverage import CoverageGap
from kb.evidence import ASKED_PERIOD
from kb.models import Answer, Chunk, Citation, Confidence, ParsedDocument, Passage
from kb.question import ReadQuestion, read_question
from kb.quotes import looks_tabular, normalise_ws, split_units, table_regions, verify_quote
from kb.settings import AnswerSettings
from kb.text import content_terms

__all__ = ["build_answer", "no_evidence_answer"]

logger = logging.getLogger(__name__)

PageText = Callable[[str, int], str]

NO_EVIDENCE_TEXT = "No passage in the indexed corpus answers this closely enough."
LOW_CONFIDENCE_TEXT = (
    "Low confidence: these are the closest passages in the indexed corpus, and they may not answer the "
    "question directly."
)
# Rank 1 gets 0.2, rank 2 0.1: the lead prefers the better-ranked passage unless another holds a clearly
# better sentence (on the dev questions 0.1 gave more nuggets and fewer citations on a gold page, 0.3 the
# reverse; history.md).
_RANK_BONUS = 0.2
_MIN_LEAD_WORDS = 6  # shorter units are headings, labels or list stubs, not answers
_DUPLICATE_JACCARD = 0.8  # overlapping chunks repeat sentences, sometimes cut differently
_ENDS_SENTENCE = re.compile(r"[.?!:;]['\"’”)\]]*$")
# A paragraph number opening a span ("12.41 ", "5.2. ", "(a) ", "iii. ") is a label, not lead text.
_PARAGRAPH_NUMBER = re.compile(r"\s*(?:\d+(?:\.\d+)*\.?|\([a-z0-9]{1,4}\)|[a-z]\)|[ivx]{1,5}\.)\s+(?=[A-Z(])")
# A footnote opening a line inside a sentence: "... that information), and\n6 See “Bioresearch ...".
_FOOTNOTE = re.compile(r"(?<=[^.:;?!\s])[ \t]*\n[ \t]*\d{1,2}[ \t]+(?=[A-Z“\"])")
# A footnote of its own: a sentence opening a line with its note number ("29 See section 704(a)(5)(D) of the
# FD&C Act."), printed below the body text of the page.
_FOOTNOTE_LINE = re.compile(r"(?:^|(?<=\n))[ \t]*\d{1,2}[ \t]+(?=[A-Z\u201c\"])")
_CONTEXT_WEIGHT = 0.3  # a context term ("NK-cell" in "We make an NK-cell product; ...") counts for less
_SHAPE_BONUS = 0.15
# The sentence shape each question type asks for (kb.question): a number for "how many", a lead-in or
# "should include" for "what must X contain", a scope statement for "does X apply", and so on.
_SHAPES: dict[str, re.Pattern[str]] = {
    "quantity": re.compile(r"\d|\b(?:one|two|three|four|five|six|ten|twelve|at least|minimum|maximum)\b", re.I),
    "contents": re.compile(r":$|\b(?:should|must|shall|would|can) (?:include|contain|address|describe|cover)", re.I),
    "definition": re.compile(r"\b(?:is defined as|means|refers to|is the|are the)\b|:", re.I),
    "timing": re.compile(r"\b(?:before|prior to|during|after|until|at the time|phase|stage)\b", re.I),
    "scope": re.compile(r"\b(?:appl(?:y|ies|icable)|scope|not intended|does not|exclud\w*|cover\w*)\b", re.I),
}


# A further lead span counts as near the lead when it is on the pages of the first span's or the first
# passage's chunk or one page either side (kb/answer.py _lead_spans).
_NEARBY_PAGES = 1


@dataclass(frozen=True)
class _Sentence:
    rank: int  # the passage's position in the retrieval order
    index: int  # position among the units of the passage's chunk
    start: int  # offsets into the chunk text
    end: int
    text: str  # whitespace-normalised
    terms: frozenset[str]
    heading: bool
    eligible: bool  # may lead: a whole sentence of at least _MIN_LEAD_WORDS words
    fragment: bool = False  # cut by the chunk boundary: never quoted as a sentence
    score: float = 0.0
    matches: int = 0  # question terms it contains
    bullet: bool = False


@dataclass(frozen=True)
class _Draft:
    rank: int
    quote: str
    pages: tuple[int, ...]
    in_lead: bool
    start: int = 0  # offset of the quote in its chunk's text: it names the paragraph cited


def build_answer(
    question: str,
    passages: Sequence[Passage],
    *,
    page_text: PageText,
    settings: AnswerSettings,
    corpus_snapshot: str,
    evidence_ok: bool,
    confidence: Confidence = "high",
    gap: CoverageGap | None = None,
    unstated: Sequence[str] = (),
) -> Answer:
    """An answer from `passages` (best first), or the no_evidence answer when `evidence_ok` is False or
    the question proposes values none of the passages states (`unstated`, kb.evidence.unstated_values).
    A "low" confidence answer says so before its lead; a `gap` (subjects no indexed document addresses)
    is stated before it too, with the documents that would address them.

    `page_text(doc_id, page)` returns the stored text of a 1-based page; quotes are verified against it.
    """
    if not evidence_ok or not passages or unstated:
        return no_evidence_answer(question, passages, corpus_snapshot, gap, unstated)
    reading = read_question(question)
    groups = _score(reading, [_sentences(rank, p.chunk) for rank, p in enumerate(passages)])
    pages = cache(page_text)  # each stored page is read once per answer, however many quotes it checks
    excluded: set[int] = set()
    while True:  # a passage whose quote fails verification is dropped and the lead picked again
        lead = _lead_spans(groups, excluded, passages, settings)
        drafts = _draft_citations(passages, groups, lead, excluded, pages, settings.quote_max_chars)
        failed = {rank for rank in range(len(passages)) if rank not in excluded} - {d.rank for d in drafts}
        if not failed:
            break
        excluded |= failed
    if not drafts:
        logger.warning("no quote could be verified against the stored pages; answering no_evidence")
        return no_evidence_answer(question, passages, corpus_snapshot, gap)
    # Passages that gave no lead sentence are cited only up to `extra_citations` (default none): on the
    # dev questions, citing all five top passages put 1 in 3 citations on a gold page, citing the lead's 1 in 2.
    ordered = [d for d in drafts if d.in_lead] + [d for d in drafts if not d.in_lead][: settings.extra_citations]
    markers = {d.rank: n for n, d in enumerate(ordered, start=1)}
    # One paragraph per span: sentences of different documents are never run together.
    text = "\n\n".join(f"{s.text} [{markers[s.rank]}]" for s in lead)
    if gap is not None:
        text = f"{gap.statement(answered=True)}\n\n{text}"
    if confidence == "low":
        text = f"{LOW_CONFIDENCE_TEXT} {text}"
    citations = tuple(_citation(markers[d.rank], passages[d.rank], d) for d in ordered)
    return Answer(
        question=question,
        status="answered",
        answer=text,
        citations=citations,
        corpus_snapshot=corpus_snapshot,
        confidence=confidence,
        not_addressed=_not_addressed(gap),
        offline_documents=_offline_documents(gap),
    )


def no_evidence_answer(
    question: str,
    passages: Sequence[Passage],
    corpus_snapshot: str,
    gap: CoverageGap | None = None,
    unstated: Sequence[str] = (),
) -> Answer:
    documents = {p.document.id: p.document for p in passages}
    names = [f"{doc.title} ({doc.id})" for doc in documents.values()]
    if gap is not None and gap.named:  # only the named documents can answer: say that first
        text = gap.statement(answered=False)
    else:
        text = _unstated_statement(unstated) if unstated else NO_EVIDENCE_TEXT
    if names:
        text = f"{text} Closest documents: {', '.join(names)}."
    if gap is not None and not gap.named:
        text = f"{text} {gap.statement(answered=False)}"
    return Answer(
        question=question,
        status="no_evidence",
        answer=text,
        citations=(),
        corpus_snapshot=corpus_snapshot,
        closest_documents=tuple(documents),
        unstated_values=tuple(unstated),
        not_addressed=_not_addressed(gap),
        offline_documents=_offline_documents(gap),
    )


def _unstated_statement(values: Sequence[str]) -> str:
    if tuple(values) == (ASKED_PERIOD,):
        return "The question asks for a period of time and no indexed passage states one, so the corpus cannot give it."
    named = ", ".join(values)
    said = "the value" if len(values) == 1 else "any of the values"
    them = "it" if len(values) == 1 else "them"
    return f"No indexed passage states {said} this question proposes ({named}), so the corpus cannot confirm {them}."


def _not_addressed(gap: CoverageGap | None) -> tuple[str, ...]:
    return gap.terms if gap is not None else ()


def _offline_documents(gap: CoverageGap | None) -> tuple[str, ...]:
    return tuple(d.id for d in gap.offline_documents) if gap is not None else ()


def _sentences(rank: int, chunk: Chunk) -> list[_Sentence]:
    units = split_units(chunk.text)
    tables = table_regions(chunk.text, units)
    sentences: list[_Sentence] = []
    for table in tables:  # a table is cited by its caption line, which reads on the page as it is quoted
        caption = normalise_ws(chunk.text[table.start : table.caption_end])
        terms = frozenset(content_terms(caption))
        sentences.append(_Sentence(rank, 0, table.start, table.caption_end, caption, terms, True, False))
    for index, unit in enumerate(units):
        if any(t.start <= unit.start < t.end or unit.start <= t.start < unit.end for t in tables):
            continue  # the table's cells and header, in extraction order
        note = _FOOTNOTE.search(chunk.text, unit.start, unit.end)
        if note:  # a page's footnotes interrupt a sentence that goes on on the next page: cut it there
            unit = replace(unit, end=note.start())
        text = normalise_ws(chunk.text[unit.start : unit.end])
        # The chunker cuts inside sentences (overlap, window limit): a first sentence starting in
        # lowercase or a last one without final punctuation is a fragment.
        fragment = bool(note) or (
            unit.kind == "sentence"
            and ((index == 0 and text[0].islower()) or (index == len(units) - 1 and not _ENDS_SENTENCE.search(text)))
        )
        # A footnote is no lead and ends a span: it is read apart from the body text it follows.
        fragment = fragment or (unit.kind == "sentence" and bool(_FOOTNOTE_LINE.match(chunk.text, unit.start)))
        heading = unit.kind == "heading"
        if looks_tabular(chunk.text[unit.start : unit.end]):
            continue  # flattened table cells never become a quote (see kb.quotes.looks_tabular)
        eligible = not heading and not fragment and len(text.split()) >= _MIN_LEAD_WORDS
        terms = frozenset(content_terms(text))
        sentences.append(
            _Sentence(
                rank,
                0,
                unit.start,
                unit.end,
                text,
                terms,
                heading,
                eligible,
                fragment=fragment,
                bullet=unit.kind == "bullet",
            )
        )
    ordered = sorted(sentences, key=lambda s: s.start)
    return [replace(s, index=i) for i, s in enumerate(ordered)]


def _score(reading: ReadQuestion, groups: list[list[_Sentence]]) -> list[list[_Sentence]]:
    """Each sentence's IDF-weighted share of the ask's terms (the context's count for _CONTEXT_WEIGHT),
    plus the rank bonus and, when it has the shape the question type asks for, _SHAPE_BONUS."""
    asked = set(content_terms(reading.ask))
    weight = {t: _CONTEXT_WEIGHT for t in content_terms(reading.context)} | dict.fromkeys(asked, 1.0)
    wanted = set(weight)
    everything = [s for group in groups for s in group]
    df = Counter(t for s in everything for t in s.terms & wanted)
    n = len(everything)
    idf = {t: weight[t] * math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in wanted}
    total = sum(idf.values()) or 1.0
    shape = _SHAPES.get(reading.kind)

    def scored(s: _Sentence) -> _Sentence:
        hits = s.terms & wanted
        coverage = sum(idf[t] for t in hits) / total
        bonus = _SHAPE_BONUS if shape is not None and shape.search(s.text) else 0.0
        return replace(s, score=coverage + bonus + _RANK_BONUS / (1 + s.rank), matches=len(hits & asked))

    return [[scored(s) for s in group] for group in groups]


def _lead_spans(
    groups: list[list[_Sentence]], excluded: set[int], passages: Sequence[Passage], settings: AnswerSettings
) -> list[_Sentence]:
    """Up to `lead_spans` spans, best first, one per passage: the best sentence of the passage with the
    sentences (or list items) that follow it in its section. A further passage leads only when its best
    sentence scores at least `span_ratio` of the best one, or `other_document_span_ratio` when it is far
    from the lead: from another document than the first span's and the first passage's, or from the same
    document more than a page away from both. On the dev questions such spans were the least often on a
    gold page (a further citation of another document 11 in 43, of a far page of the same document 20 in
    96, of a nearby page 43 in 65): citation precision on the hard-style dev questions 0.633 -> 0.655 for
    an unchanged answer nugget recall (evals/reports/history.md)."""
    pool = sorted(
        (s for group in groups for s in group if s.eligible and s.rank not in excluded),
        key=lambda s: (-s.score, s.rank, s.start),
    )
    pool = [s for s in pool if s.matches] or pool[:1]
    if not pool:  # nothing but headings and table captions: the best of them, not grown
        rest = [s for group in groups for s in group if s.rank not in excluded]
        return sorted(rest, key=lambda s: (-s.score, s.rank, s.start))[:1]
    spans: list[_Sentence] = []
    for s in pool:
        if len(spans) == settings.lead_spans or s.score < settings.span_ratio * pool[0].score:
            break
        if any(o.rank == s.rank for o in spans) or any(_near_duplicate(s, o) for o in spans):
            continue
        chunk = passages[s.rank].chunk
        leading = (passages[0].chunk, passages[spans[0].rank].chunk) if spans else ()
        distant = spans and not any(_nearby(chunk, c) for c in leading)
        if distant and s.score < settings.other_document_span_ratio * pool[0].score:
            continue
        spans.append(_grow(s, groups[s.rank], passages[s.rank].chunk, settings.span_chars, settings.span_back_chars))
    return spans


def _nearby(a: Chunk, b: Chunk) -> bool:
    """Same document, pages at most one apart."""
    return a.doc_id == b.doc_id and min(abs(x - y) for x in a.pages for y in b.pages) <= _NEARBY_PAGES


def _grow(s: _Sentence, group: list[_Sentence], chunk: Chunk, max_chars: int, back_chars: int) -> _Sentence:
    """The sentence extended over what follows it in the same section (whole sentences up to `max_chars`,
    or, after a lead-in, its list items up to twice that) and over the sentences before it in the section
    up to `back_chars` (the lead-in or premise a best sentence often continues: on the dev questions
    answer nugget recall 0.415 -> 0.509 at 400 characters); a leading paragraph number is left out."""
    section = chunk.section_at(s.start)
    end = s.end
    listing = False
    for unit in group[s.index + 1 :]:
        if unit.heading or unit.fragment or chunk.section_at(unit.start) != section:
            break
        listing = listing or unit.bullet
        limit = 2 * max_chars if listing else max_chars
        if len(normalise_ws(chunk.text[s.start : unit.end])) > limit:
            break
        end = unit.end
    start = s.start
    for unit in reversed(group[: s.index]):
        if unit.heading or unit.fragment or chunk.section_at(unit.start) != section:
            break
        if len(normalise_ws(chunk.text[unit.start : s.start])) > back_chars:
            break
        start = unit.start
    number = _PARAGRAPH_NUMBER.match(chunk.text, start, end)
    if number and number.end() < end:
        start = number.end()
    return replace(s, start=start, end=end, text=normalise_ws(chunk.text[start:end]))


def _draft_citations(
    passages: Sequence[Passage],
    groups: list[list[_Sentence]],
    lead: list[_Sentence],
    excluded: set[int],
    pages: PageText,
    max_chars: int,
) -> list[_Draft]:
    drafts: list[_Draft] = []
    quoted = list(lead)  # quotes already taken, so an overlapping passage quotes something new
    for rank, passage in enumerate(passages):
        if rank in excluded:
            continue
        own = [s for s in lead if s.rank == rank]
        if own:
            start, end = own[0].start, own[0].end  # one span per passage, quoted whole (bounded by _grow)
            limit = max(max_chars, len(own[0].text))
        else:
            best = _best_sentence(groups[rank], quoted)
            quoted += [best] if best else []
            start, end = (best.start, best.end) if best else (0, len(passage.chunk.text))
            limit = max_chars
        located = _locate(passage.chunk, start, end, pages, limit)
        if located is None:
            logger.warning("quote from %s not found on its pages; citation dropped", passage.chunk.chunk_id)
            continue
        drafts.append(_Draft(rank, located[0], located[1], bool(own), start))
    return drafts


def _best_sentence(group: list[_Sentence], quoted: list[_Sentence]) -> _Sentence | None:
    """The passage's best sentence, avoiding repeats of quotes already taken; headings only as a last resort."""
    ranked = sorted(group, key=lambda s: (not s.eligible, s.heading, -s.score, s.start))
    fresh = [s for s in ranked if not any(_near_duplicate(s, q) for q in quoted)]
    return (fresh or ranked)[0] if ranked else None


def _near_duplicate(a: _Sentence, b: _Sentence) -> bool:
    x, y = a.text.lower(), b.text.lower()
    if x in y or y in x:
        return True
    union = a.terms | b.terms
    return bool(union) and len(a.terms & b.terms) / len(union) >= _DUPLICATE_JACCARD


def _fit(text: str, start: int, end: int, max_chars: int) -> int:
    """End offset keeping the normalised quote within max_chars, cut after a whole word."""
    if len(normalise_ws(text[start:end])) <= max_chars:
        return end
    length, fitted = -1, start
    for word in re.finditer(r"\S+", text[start:end]):
        length += len(word.group()) + 1
        if length > max_chars:
            break
        fitted = start + word.end()
    # A single word longer than the limit (a URL) is cut inside it; the quote is still a substring.
    return fitted if fitted > start else start + max_chars


def _locate(chunk: Chunk, start: int, end: int, pages: PageText, max_chars: int) -> tuple[str, tuple[int, ...]] | None:
    """The quote at chunk.text[start:end] (fitted to max_chars) and the pages it lies on, if verified."""
    end = _fit(chunk.text, start, end, max_chars)
    quote = normalise_ws(chunk.text[start:end])
    for candidate in _page_candidates(chunk, start, end, pages):
        if verify_quote(quote, [pages(chunk.doc_id, p) for p in candidate]):
            return quote, candidate
    return None


def _page_candidates(chunk: Chunk, start: int, end: int, pages: PageText) -> Iterator[tuple[int, ...]]:
    """Pages to try, most precise first: by offset, then each page alone, then the chunk's whole range."""
    numbers = chunk.pages
    texts = [pages(chunk.doc_id, p) for p in numbers]
    separator = ParsedDocument.PAGE_SEPARATOR
    # The chunk is a slice of its pages joined as ParsedDocument joins them, so its offsets map to pages.
    base = separator.join(texts).find(chunk.text)
    if base >= 0:
        starts = [0]
        for page in texts[:-1]:
            starts.append(starts[-1] + len(page) + len(separator))
        first = bisect_right(starts, base + start) - 1
        last = bisect_right(starts, base + max(start, end - 1)) - 1
        yield tuple(numbers[first : last + 1])
    for number in numbers:
        yield (number,)
    if len(numbers) > 1:
        yield tuple(numbers)


def _citation(marker: int, passage: Passage, draft: _Draft) -> Citation:
    doc, chunk = passage.document, passage.chunk
    return Citation(
        marker=marker,
        doc_id=doc.id,
        title=doc.title,
        reference=doc.reference,
        agency=doc.agency,
        status=doc.status,
        section=chunk.section_at(draft.start),
        section_title=chunk.section_title,
        pages=draft.pages,
        quote=draft.quote,
        url=_page_url(doc.url, draft.pages[0]),
        score=passage.score,
        chunk_id=chunk.chunk_id,
        doc_type=doc.doc_type,
        jurisdiction=doc.jurisdiction,
        superseded_by=doc.superseded_by,
        version_note=doc.version_note,
    )


def _page_url(url: str, page: int) -> str:
    return f"{url.split('#', 1)[0]}#page={page}" if url else ""
