"""Turn core results into JSON and into rich terminal output. No retrieval or formatting logic of citations here."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
from collections.abc import Sequence
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from api.render_checkpoints import checklist_footnoted, print_checklist
from kb.catalog import DocumentStatus
from kb.models import Answer, Citation, Passage

__all__ = [
    "answer_json",
    "answer_markdown",
    "search_json",
    "documents_json",
    "print_answer",
    "print_passages",
    "print_documents",
    "feedback_json",
    "feedback_csv",
    "print_feedback",
]

_BADGES = {"draft": "DRAFT", "superseded": "SUPERSEDED"}


def answer_json(answer: Answer) -> dict[str, Any]:
    payload = dataclasses.asdict(answer)
    payload["citations"] = [_citation_json(c) for c in answer.citations]
    payload["closest_documents"] = list(answer.closest_documents)
    return payload


def answer_markdown(answer: Answer) -> str:
    """The answer as Markdown with footnotes: what chat clients show, and what the web page copies."""
    parts, notes = [], []
    if answer.checklist is not None:
        lines, notes = checklist_footnoted(answer.checklist, first_footnote=len(answer.citations) + 1)
        parts += ["From the checkpoint map:", "", *lines, "From the documents:", ""]
    body = re.sub(r"\[(\d+)\]", r"[^\1]", answer.answer)
    if answer.status == "no_evidence" and answer.closest_documents:
        body += "\n\nClosest documents: " + ", ".join(answer.closest_documents)
    parts.append(body)
    cited = [
        f"[^{c.marker}]: {c.title} ({c.reference}){_badge(c.status, c.doc_type)}{_version(c.version_note)}, "
        f"§ {c.section or '-'}, p. {', '.join(map(str, c.pages))}: “{c.quote}” {c.url}"
        for c in answer.citations
    ]
    return "\n".join(parts) + ("\n\n" + "\n".join(cited + notes) if cited or notes else "") + "\n"


def _citation_json(citation: Citation) -> dict[str, Any]:
    payload = dataclasses.asdict(citation)
    payload["pages"] = list(citation.pages)
    return payload


def search_json(query: str, passages: Sequence[Passage]) -> dict[str, Any]:
    return {
        "query": query,
        "passages": [
            {
                "chunk_id": p.chunk.chunk_id,
                "doc_id": p.chunk.doc_id,
                "title": p.document.title,
                "status": p.document.status,
                "section": p.chunk.section,
                "section_title": p.chunk.section_title,
                "pages": p.chunk.pages,
                "text": p.chunk.text,
                "score": p.score,
                "dense_similarity": p.dense_similarity,
                "keyword_score": p.keyword_score,
            }
            for p in passages
        ],
    }


def documents_json(rows: Sequence[DocumentStatus]) -> list[dict[str, Any]]:
    return [
        {**dataclasses.asdict(r.record), "present": r.present, "indexed": r.indexed, "chunks": r.chunks} for r in rows
    ]


INTERNAL_BADGE = "INTERNAL LESSON: not regulatory guidance"


def _version(note: str) -> str:
    return f" ({note})" if note else ""


def _badge(status: str, doc_type: str = "") -> str:
    marks = [_BADGES[status]] if status in _BADGES else []
    marks += [INTERNAL_BADGE] if doc_type == "internal_lesson" else []
    return "".join(f" [{m}]" for m in marks)


def print_answer(answer: Answer, console: Console) -> None:
    if answer.checklist is not None:
        console.print(Text("From the checkpoint map", style="bold reverse"))
        print_checklist(answer.checklist, console)
        console.print()
        console.print(Text("From the documents", style="bold reverse"))
    low = answer.confidence == "low"
    style = "yellow" if answer.status != "answered" or low else "green"
    title = f"{answer.status}, low confidence" if low else answer.status
    console.print(Panel(Text(answer.answer), title=Text(title, style=style), title_align="left"))
    for c in answer.citations:
        pages = ", ".join(map(str, c.pages))
        section = f"§ {c.section} {c.section_title}".strip() if c.section or c.section_title else "§ (front matter)"
        head = Text(f"[{c.marker}] {c.title}{_badge(c.status, c.doc_type)}", style="bold")
        meta = Text(f"{c.reference} · {c.agency} · {section} · p. {pages}", style="dim")
        lines = [head, meta] + ([Text(c.version_note, style="yellow")] if c.version_note else [])
        console.print(Group(*lines, Text(f"“{c.quote}”"), Text(c.url, style="blue underline")))
        console.print()
    if answer.closest_documents:
        console.print("Closest documents: " + ", ".join(answer.closest_documents), style="dim")


def print_passages(passages: Sequence[Passage], console: Console) -> None:
    for rank, p in enumerate(passages, start=1):
        pages = "-".join(map(str, sorted({p.chunk.first_page, p.chunk.last_page})))
        console.print(
            Text(
                f"{rank}. {p.chunk.doc_id}{_badge(p.document.status, p.document.doc_type)} "
                f"§ {p.chunk.section} p. {pages}",
                style="bold",
            ),
            Text(f"   score {p.score:.4f}", style="dim"),
        )
        console.print(Text(p.chunk.text.strip()[:600]), style="")
        console.print()


def print_documents(rows: Sequence[DocumentStatus], console: Console) -> None:
    table = Table("id", "status", "version", "agency", "pages", "chunks", "file")
    for r in rows:
        where = "indexed" if r.indexed else ("present" if r.present else "missing")
        if not r.record.available_offline:
            where = "not offline"
        cells = (r.record.id, r.record.status, r.record.version_note, r.record.agency)
        table.add_row(*cells, str(r.pages or ""), str(r.chunks or ""), where)
    console.print(table)


def feedback_json(rows: Sequence[Any]) -> list[dict[str, Any]]:
    return [dataclasses.asdict(r) for r in rows]


def feedback_csv(rows: Sequence[Any]) -> str:
    buffer = io.StringIO()
    columns = ["created", "rating", "user", "comment", "question", "answer", "status", "citations", "corpus_snapshot"]
    writer = csv.DictWriter(buffer, fieldnames=[*columns, "source", "answer_id"], lineterminator="\n")
    writer.writeheader()
    for row in rows:
        record = dataclasses.asdict(row)
        record["citations"] = "; ".join(f"{c['doc_id']} p. {c['pages']}" for c in row.citations)
        writer.writerow(record)
    return buffer.getvalue()


def print_feedback(rows: Sequence[Any], console: Console) -> None:
    table = Table("when", "rating", "user", "question", "citations", "snapshot")
    for r in rows:
        when = dt.datetime.fromtimestamp(r.created, dt.UTC).strftime("%Y-%m-%d %H:%M")
        cited = ", ".join(f"{c['doc_id']} p. {','.join(map(str, c['pages']))}" for c in r.citations)
        table.add_row(when, r.rating, r.user, r.question, cited, r.corpus_snapshot)
    console.print(table if rows else "no feedback yet")
