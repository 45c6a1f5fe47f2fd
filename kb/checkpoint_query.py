"""Selecting checkpoint-map rows: by options (`regkb checkpoints`) or from a question (`regkb ask`).

A question is a checkpoint question when it names a checkpoint ("Phase 1 IND", "before the first GMP
batch", "MAA") and asks what is needed, or when it names an evidence item and asks when it must be
ready ("when is process validation expected to be complete?"). The first gives the checkpoint's
checklist, the second the item's maturity progression across checkpoints; both come back grouped by
jurisdiction, both jurisdictions unless the question (or a filter) names one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from kb.checkpoint_map import Checkpoint, CheckpointMap, Expectation, Reference
from kb.errors import FilterError
from kb.models import Checklist, ChecklistCheckpoint, ChecklistRow, DocumentRecord, MapReference, RefCheck
from kb.quotes import verify_quote

__all__ = [
    "MapQuery",
    "match_question",
    "select",
    "build_checklist",
    "checklist_for_question",
    "checked_criteria",
    "checklist_for_options",
]

PageText = Callable[[str, int], "str | None"]

# Words that place a question in a jurisdiction. Acronyms match case-sensitively ("US", not "us").
_JURISDICTION_WORDS = {
    "EU": r"\b(?:EU|E\.U\.|EEA|EMA|CAT|CHMP|CTA|CTIS|IMPD|MAA|QP|PRIME)\b|(?i:\beurope(?:an)?\b|\bmember states?\b)",
    "US": r"\b(?:US|U\.S\.|USA|FDA|CBER|OTP|IND|BLA|RMAT|EOP2|CFR)\b|(?i:\bunited states\b|\bamerican\b)",
}
# "What ... need", "must ... be in place", "required before": the question asks what a checkpoint expects.
_NEEDS = re.compile(
    r"\b(?:needs?|needed|requires?|required|requirements?|expect(?:s|ed|ations?)?|must|should|checklist|ready|"
    r"readiness|in place|before|prior to|by the time|submit(?:ted)?|submission|package|include[ds]?|contain|"
    r"contents?|go(?:es)? in(?:to)?|provide|prepare|obligations?|what changes|(?:has|have) to|cmc|briefing|dossier|"
    r"vs\.?|versus|compared?|comparison|"
    r"what (?:cmc|data|information|evidence|documents?|documentation))\b",
    re.IGNORECASE,
)
# "When must ...", "at what stage", "how mature": the question asks for a progression over checkpoints.
_TIMING = re.compile(
    r"^\s*when\b|\bwhen (?:must|should|do|does|did|is|are|will|would|can|has|have|need|needs)\b|"
    r"\b(?:by when|at what (?:stage|point|phase)|which (?:stage|phase|checkpoint)|how (?:mature|far)|"
    r"progress(?:ion|ively)?|at each (?:stage|phase|checkpoint)|timing|timeline|stage by stage|phase-appropriate)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class MapQuery:
    kind: Literal["checkpoint", "progression"]
    checkpoint_ids: tuple[str, ...]
    item_ids: tuple[str, ...]
    jurisdictions: tuple[str, ...]
    product_types: tuple[str, ...]
    matched: tuple[str, ...]


def match_question(question: str, cmap: CheckpointMap, *, jurisdictions: Collection[str] = ()) -> MapQuery | None:
    """What the map should answer for this question, or None when it is not a checkpoint question.

    `jurisdictions` narrows the answer (a filter the user set); otherwise the question's own words do.
    """
    named = tuple(j for j, pattern in _JURISDICTION_WORDS.items() if re.search(pattern, question))
    wanted = tuple(j for j in ("EU", "US") if j in jurisdictions) if jurisdictions else named
    if jurisdictions and not wanted:
        return None  # filtered to ICH or internal material only: the map has nothing to add
    checkpoints = _outermost(_named(question, ((c.id, c.aliases) for c in cmap.checkpoints)))
    # Words already read as a checkpoint are not read again as an item: "GMP" in "first GMP batch"
    # names the checkpoint, not the quality-system item.
    rest = _blank(question, checkpoints.values())
    items = _named(rest, ((i.id, i.aliases) for i in cmap.items))
    types = _named(rest, ((p.id, p.aliases) for p in cmap.product_types))
    by_id = {c.id: c for c in cmap.checkpoints}
    checkpoint_ids = tuple(c for c in checkpoints if not wanted or by_id[c].jurisdiction in wanted)
    matched = tuple(sorted({m.group(0) for found in (checkpoints, items, types) for m in found.values()}))
    # A progression follows one or two items; a question listing many attributes is about something else.
    if 0 < len(items) <= 2 and not checkpoint_ids and _TIMING.search(question):
        return MapQuery("progression", (), tuple(items), wanted or ("EU", "US"), tuple(types), matched)
    if checkpoint_ids and (_NEEDS.search(question) or _TIMING.search(question)):
        return MapQuery("checkpoint", checkpoint_ids, tuple(items), wanted, tuple(types), matched)
    return None


def _named(question: str, entries: Iterable[tuple[str, tuple[str, ...]]]) -> dict[str, re.Match[str]]:
    """Ids whose aliases occur in the question, each with the longest alias match."""
    found = {}
    for entry_id, aliases in entries:
        hits = [m for alias in aliases if (m := _alias_pattern(alias).search(question))]
        if hits:
            found[entry_id] = max(hits, key=lambda m: m.end() - m.start())
    return found


def _outermost(found: dict[str, re.Match[str]]) -> dict[str, re.Match[str]]:
    """Drop a match lying inside a longer one: "Phase 1" within "Phase 1 to Phase 2" names no Phase 1 checkpoint."""

    def inside(m: re.Match[str], other: re.Match[str]) -> bool:
        return other.start() <= m.start() and m.end() <= other.end() and (other.end() - other.start()) > len(m[0])

    return {k: m for k, m in found.items() if not any(inside(m, other) for other in found.values())}


def _blank(question: str, matches: Iterable[re.Match[str]]) -> str:
    for m in matches:
        question = question[: m.start()] + " " * (m.end() - m.start()) + question[m.end() :]
    return question


@lru_cache(maxsize=2048)
def _alias_pattern(alias: str) -> re.Pattern[str]:
    """Whole-phrase pattern; acronyms ("IND", "CAR-T") keep their case, spaces and hyphens are interchangeable."""
    words = [re.escape(w) for w in re.split(r"[\s-]+", alias.strip()) if w]
    body = r"[\s-]+".join(words)
    flags = 0 if alias.upper() == alias and any(ch.isalpha() for ch in alias) else re.IGNORECASE
    return re.compile(rf"(?<![\w-]){body}(?![\w-])", flags)


_OPTIONS = ("stages", "product_types", "roles", "items", "checkpoint_ids")


def checked_criteria(cmap: CheckpointMap, *, jurisdiction: str = "both", **options: Collection[str]) -> dict[str, Any]:
    """User-given options (`stages`, `product_types`, `roles`, `items`, `checkpoint_ids`) checked against the
    map's own ids, an unknown one naming the valid choices; returned as keyword arguments for `select`."""
    if set(options) - set(_OPTIONS):
        raise TypeError(f"unknown option(s) {sorted(set(options) - set(_OPTIONS))}; use {', '.join(_OPTIONS)}")
    if jurisdiction.upper() not in ("EU", "US", "BOTH"):
        raise FilterError(f"jurisdiction {jurisdiction!r}: use EU, US or both")
    valid = {
        "stages": ("stage", [s.id for s in cmap.stages]),
        "product_types": ("product type", [p.id for p in cmap.product_types]),
        "roles": ("role", ["sponsor", "cdmo"]),
        "items": ("item", [i.id for i in cmap.items]),
        "checkpoint_ids": ("checkpoint id", [c.id for c in cmap.checkpoints]),
    }
    for name, (what, ids) in valid.items():
        unknown = [g for g in options.get(name, ()) if g not in ids]
        if unknown:
            raise FilterError(f"unknown {what} {', '.join(unknown)}; choose from {', '.join(ids)}")
    jurisdictions = () if jurisdiction.upper() == "BOTH" else (jurisdiction.upper(),)
    return {"jurisdictions": jurisdictions, **{name: tuple(options.get(name, ())) for name in _OPTIONS}}


def checklist_for_options(
    cmap: CheckpointMap, *, page_text: PageText | None, jurisdiction: str = "both", **options: Collection[str]
) -> Checklist:
    """The checklist for user-given options (`regkb checkpoints`, GET /v1/checkpoints); naming items gives
    their progression. Unknown ids and options that match no row are FilterErrors naming the fix."""
    chosen, rows = select(cmap, **checked_criteria(cmap, jurisdiction=jurisdiction, **options))
    if not rows:
        raise FilterError("no checkpoint matches these options; `regkb checkpoints --list` shows the ids")
    items = options.get("items", ())
    return build_checklist(cmap, "progression" if items else "checkpoint", chosen, rows, page_text=page_text)


def select(
    cmap: CheckpointMap,
    *,
    jurisdictions: Collection[str] = (),
    stages: Collection[str] = (),
    product_types: Collection[str] = (),
    roles: Collection[str] = (),
    items: Collection[str] = (),
    checkpoint_ids: Collection[str] = (),
) -> tuple[list[Checkpoint], list[tuple[Checkpoint, Expectation]]]:
    """Checkpoints and (checkpoint, expectation) rows matching every non-empty criterion, in map order."""
    checkpoints = [
        c
        for c in cmap.checkpoints
        if (not jurisdictions or c.jurisdiction in jurisdictions)
        and (not stages or c.stage in stages)
        and (not checkpoint_ids or c.id in checkpoint_ids)
        and _applies(c.product_types, product_types)
    ]
    rows = [
        (c, e)
        for c in checkpoints
        for e in c.evidence
        if (not items or e.item in items)
        and (not roles or set(e.owners) & set(roles))
        and _applies(e.product_types, product_types)
    ]
    if items:  # a progression: only the checkpoints that say something about the item
        checkpoints = [c for c in checkpoints if any(row[0] is c for row in rows)]
    return checkpoints, rows


def _applies(scope: Collection[str], asked: Collection[str]) -> bool:
    """An entry scoped to some product types applies when none was asked or one of them was."""
    return not scope or not asked or bool(set(scope) & set(asked))


def build_checklist(
    cmap: CheckpointMap,
    kind: Literal["checkpoint", "progression"],
    checkpoints: Iterable[Checkpoint],
    rows: Iterable[tuple[Checkpoint, Expectation]],
    *,
    page_text: PageText | None,
    matched: tuple[str, ...] = (),
) -> Checklist:
    """Resolve references against the manifest and check local quotes on the stored pages (when at hand)."""

    def resolve(refs: Iterable[Reference]) -> tuple[MapReference, ...]:
        return tuple(_resolve(ref, cmap.documents[ref.doc], page_text) for ref in refs)

    return Checklist(
        kind=kind,
        checkpoints=tuple(_checkpoint(cmap, c, resolve(c.references)) for c in checkpoints),
        rows=tuple(_row(cmap, c, e, resolve(e.references)) for c, e in rows),
        matched=matched,
    )


def checklist_for_question(
    question: str,
    cmap: CheckpointMap,
    *,
    page_text: PageText | None,
    jurisdictions: Collection[str] = (),
) -> Checklist | None:
    query = match_question(question, cmap, jurisdictions=jurisdictions)
    if query is None:
        return None
    if query.kind == "progression":
        checkpoints, rows = select(
            cmap, jurisdictions=query.jurisdictions, items=query.item_ids, product_types=query.product_types
        )
    else:
        checkpoints, rows = select(cmap, checkpoint_ids=query.checkpoint_ids, product_types=query.product_types)
        focused = [(c, e) for c, e in rows if e.item in query.item_ids]
        rows = focused or rows  # "what potency data does the IND need?" keeps the potency rows only
    if not checkpoints:
        return None
    return build_checklist(cmap, query.kind, checkpoints, rows, page_text=page_text, matched=query.matched)


def _checkpoint(cmap: CheckpointMap, c: Checkpoint, references: tuple[MapReference, ...]) -> ChecklistCheckpoint:
    return ChecklistCheckpoint(
        id=c.id,
        jurisdiction=c.jurisdiction,
        stage=c.stage,
        stage_title=cmap.stage(c.stage).title,
        title=c.title,
        requirement=c.requirement,
        trigger=c.trigger,
        procedure=c.procedure,
        confidence=c.confidence,
        last_verified=c.last_verified.isoformat(),
        references=references,
        failure_modes=c.failure_modes,
    )


def _row(cmap: CheckpointMap, c: Checkpoint, e: Expectation, references: tuple[MapReference, ...]) -> ChecklistRow:
    item = cmap.item(e.item)
    return ChecklistRow(
        checkpoint_id=c.id,
        jurisdiction=c.jurisdiction,
        stage=c.stage,
        item=item.id,
        item_title=item.title,
        level=e.level,
        level_title=item.level(e.level).title,
        level_rank=item.rank(e.level),
        level_count=len(item.levels),
        expectation=e.expectation,
        owners=e.owners,
        dossier=e.dossier,
        product_types=e.product_types,
        confidence=e.confidence,
        references=references,
    )


def _resolve(ref: Reference, record: DocumentRecord, page_text: PageText | None) -> MapReference:
    check: RefCheck
    quote = ref.quote
    if not record.available_offline:
        check = "not_offline"
    elif page_text is None or ref.page is None or (text := page_text(ref.doc, ref.page)) is None:
        check = "not_checked"
    elif verify_quote(ref.quote or "", [text]):
        check = "verified"
    else:
        check, quote = "quote_not_found", None  # never show a quote the page does not hold
    return MapReference(
        doc_id=record.id,
        title=record.title,
        reference=record.reference,
        agency=record.agency,
        status=record.status,
        url=f"{record.url}#page={ref.page}" if record.available_offline and ref.page else record.url,
        section=ref.section,
        page=ref.page,
        quote=quote,
        note=ref.note,
        check=check,
        superseded_by=record.superseded_by,
        version_note=record.version_note,
    )
