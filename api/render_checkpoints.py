"""Checkpoint checklists as a terminal table, Markdown a team can track, CSV and JSON.

Every format carries the same rows and the same numbered references; a reference to a document that is
not available offline says so and gives its URL, because its wording was not checked against local text.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterator
from typing import Any

from rich.console import Console
from rich.text import Text

from kb.models import Checklist, ChecklistCheckpoint, ChecklistRow, MapReference

__all__ = [
    "checklist_json",
    "checklist_markdown",
    "checklist_csv",
    "print_checklist",
    "reference_line",
    "checklist_footnoted",
]

_JURISDICTION_TITLES = {"EU": "European Union", "US": "United States"}
_CHECKS = {
    "verified": "quote verified on the local text",
    "not_offline": "not available offline; not checked against local text",
    "not_checked": "local document; quote not checked (run `regkb ingest`)",
    "quote_not_found": "quote NOT found on the local page; withheld",
}
CSV_COLUMNS = (
    "jurisdiction",
    "stage",
    "checkpoint_id",
    "checkpoint",
    "requirement",
    "item",
    "maturity_level",
    "level_rank",
    "expectation",
    "owners",
    "dossier_location",
    "product_types",
    "confidence",
    "last_verified",
    "references",
    "done",
    "responsible",
    "due_date",
    "notes",
)


def checklist_json(checklist: Checklist) -> dict[str, Any]:
    payload = dataclasses.asdict(checklist)
    payload["jurisdictions"] = list(checklist.jurisdictions)
    return payload


class _Numbering:
    """Numbers references in order of first use, so every format cites [1], [2] ... alike."""

    def __init__(self, checklist: Checklist) -> None:
        self.refs: list[MapReference] = []
        # A progression shows one item across checkpoints: the checkpoints' own references would bury the item's.
        cited = [r for c in checklist.checkpoints for r in c.references] if checklist.kind == "checkpoint" else []
        for ref in cited + [r for row in checklist.rows for r in row.references]:
            if ref not in self.refs:
                self.refs.append(ref)

    def markers(self, refs: tuple[MapReference, ...]) -> str:
        return "".join(f"[{self.refs.index(r) + 1}]" for r in refs)


def reference_line(ref: MapReference) -> str:
    parts = (f"§ {ref.section}" if ref.section else "", f"p. {ref.page}" if ref.page else "")
    where = ", ".join(part for part in parts if part)
    badge = f" [{ref.status.upper()}]" if ref.status != "final" else ""
    version = f" ({ref.version_note})" if ref.version_note else ""
    head = f"{ref.title} ({ref.reference}){badge}{version}" + (f", {where}" if where else "")
    quote = f": “{ref.quote}”" if ref.quote else ""
    note = f" ({ref.note})" if ref.note else ""
    return f"{head}{quote}{note} — {_CHECKS[ref.check]} — {ref.url}"


def _groups(checklist: Checklist) -> Iterator[tuple[str, list[ChecklistCheckpoint]]]:
    for jurisdiction in checklist.jurisdictions:
        yield jurisdiction, [c for c in checklist.checkpoints if c.jurisdiction == jurisdiction]


def _rows(checklist: Checklist, checkpoint: ChecklistCheckpoint) -> list[ChecklistRow]:
    return [r for r in checklist.rows if r.checkpoint_id == checkpoint.id]


def _level(row: ChecklistRow) -> str:
    return f"{row.level_title} (level {row.level_rank} of {row.level_count})"


def checklist_markdown(checklist: Checklist) -> str:
    numbering = _Numbering(checklist)
    lines = [_markdown_title(checklist), ""]
    for jurisdiction, checkpoints in _groups(checklist):
        lines += [f"## {_JURISDICTION_TITLES.get(jurisdiction, jurisdiction)}", ""]
        for c in checkpoints:
            lines += [f"### {c.title} ({c.id}; {c.requirement}; stage: {c.stage_title})", ""]
            if checklist.kind == "checkpoint":
                when = f"*When:* {c.trigger} {numbering.markers(c.references)}".rstrip()
                lines += [when, "", f"*Procedure:* {c.procedure}", ""]
            for row in _rows(checklist, c):
                where = f" *Where:* {row.dossier}." if row.dossier else ""
                lines.append(
                    f"- [ ] **{row.item_title}**: {_level(row)}. {row.expectation}{where} "
                    f"*Owner:* {', '.join(row.owners)}. *Confidence:* {row.confidence}. "
                    f"{numbering.markers(row.references)}".rstrip()
                )
            if c.failure_modes and checklist.kind == "checkpoint":
                lines += ["", "*Typical failure modes:* " + "; ".join(c.failure_modes)]
            lines += ["", f"*Last verified:* {c.last_verified}; confidence {c.confidence}.", ""]
    lines += ["## References", ""] + [f"{n}. {reference_line(r)}" for n, r in enumerate(numbering.refs, start=1)]
    lines += ["", _CONFIDENCE_NOTE]
    return "\n".join(lines) + "\n"


_CONFIDENCE_NOTE = (
    "Confidence: V = seen in the cited source; K = established practice, wording not checked against the "
    "primary text; CHECK = to verify before relying on it."
)


def _markdown_title(checklist: Checklist) -> str:
    if checklist.kind == "progression":
        items = sorted({r.item_title for r in checklist.rows})
        return f"# Maturity across checkpoints: {', '.join(items)}"
    return "# Checkpoint checklist: " + "; ".join(c.title for c in checklist.checkpoints)


def checklist_csv(checklist: Checklist) -> str:
    numbering = _Numbering(checklist)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    titles = {c.id: c for c in checklist.checkpoints}
    for row in checklist.rows:
        c = titles[row.checkpoint_id]
        writer.writerow(
            {
                "jurisdiction": row.jurisdiction,
                "stage": c.stage_title,
                "checkpoint_id": c.id,
                "checkpoint": c.title,
                "requirement": c.requirement,
                "item": row.item_title,
                "maturity_level": row.level_title,
                "level_rank": f"{row.level_rank}/{row.level_count}",
                "expectation": row.expectation,
                "owners": ", ".join(row.owners),
                "dossier_location": row.dossier,
                "product_types": ", ".join(row.product_types) or "all",
                "confidence": row.confidence,
                "last_verified": c.last_verified,
                "references": " | ".join(f"{numbering.markers((r,))} {reference_line(r)}" for r in row.references),
            }
        )
    return buffer.getvalue()


def print_checklist(checklist: Checklist, console: Console) -> None:
    """One block per evidence row (readable at any terminal width), references listed once at the end."""
    numbering = _Numbering(checklist)
    for jurisdiction, checkpoints in _groups(checklist):
        console.print(Text(_JURISDICTION_TITLES.get(jurisdiction, jurisdiction), style="bold underline"))
        for c in checkpoints:
            console.print(Text(f"{c.title} ({c.id}; {c.requirement}; {c.stage_title})", style="bold"))
            if checklist.kind == "checkpoint":
                console.print(Text(f"When: {c.trigger} {numbering.markers(c.references)}".rstrip(), style="dim"))
            for row in _rows(checklist, c):
                console.print(Text(f"☐ {row.item_title}: {_level(row)}", style="bold"))
                console.print(Text(f"  {row.expectation}"))
                where = f"Where: {row.dossier} · " if row.dossier else ""
                meta = f"  {where}Owner: {', '.join(row.owners)} · Confidence: {row.confidence}"
                console.print(Text(f"{meta} · {numbering.markers(row.references) or 'no reference'}", style="dim"))
            console.print()
    console.print(Text("References", style="bold"))
    for n, ref in enumerate(numbering.refs, start=1):
        style = "" if ref.check == "verified" else "dim"
        console.print(Text(f"[{n}] {reference_line(ref)}", style=style))
    console.print(Text(_CONFIDENCE_NOTE, style="dim"))


def checklist_footnoted(checklist: Checklist, first_footnote: int = 1) -> tuple[list[str], list[str]]:
    """A compact checklist for chat clients: bullet lines citing Markdown footnotes, and the footnote lines."""
    numbering = _Numbering(checklist)

    def marks(refs: tuple[MapReference, ...]) -> str:
        return "".join(f"[^{numbering.refs.index(r) + first_footnote}]" for r in refs)

    lines = []
    for jurisdiction, checkpoints in _groups(checklist):
        for c in checkpoints:
            own = marks(c.references) if checklist.kind == "checkpoint" else ""
            lines.append(f"**{_JURISDICTION_TITLES.get(jurisdiction, jurisdiction)}: {c.title}** {own}".rstrip())
            lines += [
                f"- {row.item_title} ({_level(row)}): {row.expectation} {marks(row.references)}"
                for row in _rows(checklist, c)
            ]
            lines.append("")
    notes = [f"[^{n}]: {reference_line(r)}" for n, r in enumerate(numbering.refs, start=first_footnote)]
    return lines, notes
