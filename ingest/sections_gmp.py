"""Headings of the European Commission's EU GMP annexes (EudraLex Volume 4, Annexes 1, 11 and 15).

These annexes are cited by numbered paragraph ("Annex 1, 9.32"), not by titled subsection:

    Principle                                  <- named section before the numbered ones
    9 Environmental & process monitoring       <- section ("1 Scope" in Annex 1, "1. ORGANISING ..." in 15)
    Aseptic process simulation (APS) ...       <- unnumbered sub-title, followed by a paragraph
    9.32 Periodic verification of the ...      <- numbered paragraph, a sentence, not a title

Sections and sub-titles start new chunks; a numbered paragraph only names the text that follows it
(`Heading.splits` is False), so short paragraphs share a chunk and every quote still gets the
paragraph it comes from. The document's own "Annex 1" title line is not a section of it, and the
document map (Annex 1, page 3) lists sections without being one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from kb.models import Heading

__all__ = ["is_gmp_annex", "gmp_annex_headings"]

_SECTION = re.compile(r"^(?P<number>[1-9]\d?)\.?\s+(?P<title>[A-Z].*)$")
_PARAGRAPH = re.compile(r"^(?P<section>[1-9]\d?)\.(?P<paragraph>\d{1,3})\.?\s+(?P<text>\S.*)$")
_NAMED = frozenset({"principle", "scope", "general", "glossary", "definitions", "project phase", "operational phase"})
_MAP_TITLES = frozenset({"document map", "contents", "table of contents"})
_ANNEX_TITLE = re.compile(r"\bAnnex\s+\d{1,2}\b")
_GMP_MARKERS = ("EudraLex", "Good Manufacturing Practice")
_FRONT_PAGES = 2
_MAX_TITLE_WORDS = 12
_MAX_PARAGRAPH_STEP = 3  # a paragraph number may skip a missed or split line or two
_SENTENCE_WORDS = frozenset({"should", "must", "shall", "is", "are", "be", "was", "were", "may"})


class Line(Protocol):
    """A stripped text line with its offset in the document text and its 0-based page index."""

    @property
    def text(self) -> str: ...

    @property
    def start(self) -> int: ...

    @property
    def page(self) -> int: ...


def is_gmp_annex(lines: Sequence[Line]) -> bool:
    """An EU GMP annex names EudraLex or the GMP guidelines and itself as "Annex N" on its first pages."""
    front = " ".join(line.text for line in lines if line.page < _FRONT_PAGES)
    return any(marker in front for marker in _GMP_MARKERS) and bool(_ANNEX_TITLE.search(front))


def gmp_annex_headings(lines: Sequence[Line]) -> list[Heading]:
    """Named sections, numbered sections, sub-titles and numbered paragraphs, in reading order."""
    skipped = _map_pages(lines)
    headings: list[Heading] = []
    section, paragraph, title = 0, 0, ""
    skip_until = -1  # the wrapped second line of a section title
    for i, line in enumerate(lines):
        text = line.text
        if not text or line.page in skipped or i <= skip_until:
            continue
        if (m := _SECTION.match(text)) and int(m["number"]) in (section + 1, section + 2) and _is_title(m["title"]):
            section, paragraph = int(m["number"]), 0
            title = _wrapped(m["title"], lines, i)
            skip_until = i + 1 if title != m["title"] else i
            headings.append(Heading(number=str(section), title=title, level=1, start=line.start))
        elif (m := _PARAGRAPH.match(text)) and int(m["section"]) == section and _next_paragraph(paragraph, m):
            paragraph = int(m["paragraph"])
            number = f"{section}.{paragraph}"
            headings.append(Heading(number=number, title=title, level=3, start=line.start, splits=False))
        elif text.lower() in _NAMED and (section == 0 or text.lower() == "glossary"):
            title = text.title() if text.isupper() else text
            headings.append(Heading(number=title, title=title, level=1, start=line.start))
        elif section and _is_title(text) and _followed_by_paragraph(lines, i, section):
            title = text
            headings.append(Heading(number=str(section), title=title, level=2, start=line.start))
    return headings


def _map_pages(lines: Sequence[Line]) -> set[int]:
    return {line.page for line in lines if line.text.lower() in _MAP_TITLES}


def _is_title(text: str) -> bool:
    """Short, no sentence verb, no sentence end: "Premises", "Closed systems", "ORGANISING AND PLANNING"."""
    words = text.split()
    if not words or len(words) > _MAX_TITLE_WORDS or text[-1] in ".,;:" or not text[0].isupper():
        return False
    return not any(word.lower() in _SENTENCE_WORDS for word in words)


def _wrapped(title: str, lines: Sequence[Line], i: int) -> str:
    """An upper-case title wraps in upper case: "ORGANISING AND PLANNING FOR QUALIFICATION AND" / "VALIDATION"."""
    following = lines[i + 1].text if i + 1 < len(lines) else ""
    if title.isupper() and following.isupper() and len(following.split()) <= 4 and not _SECTION.match(following):
        return f"{title} {following}"
    return title


def _next_paragraph(previous: int, match: re.Match[str]) -> bool:
    return previous < int(match["paragraph"]) <= previous + _MAX_PARAGRAPH_STEP


def _followed_by_paragraph(lines: Sequence[Line], i: int, section: int) -> bool:
    """A sub-title is a line of its own that the next numbered paragraph of the same section follows."""
    following = next((line.text for line in lines[i + 1 : i + 3] if line.text), "")
    m = _PARAGRAPH.match(following)
    return m is not None and int(m["section"]) == section
