"""Sentences and verbatim quotes: where a sentence starts and ends, and whether a quote is really there.

A quote is an exact slice of a chunk, and a chunk an exact slice of the stored page text, so
verification passes unless something upstream is broken; it exists to catch that, and a quote that
fails it is never shown.

Sentence splitting is line-aware because PDF text is: a bullet ("•", "o", "-") or a heading line is
a unit of its own, a line break inside a sentence is not a boundary, and a blank line (paragraph or
page break) ends a unit unless the sentence visibly runs on (no final punctuation, next line
lowercase). Within a block, a boundary is ". ? !" followed by space and a capital, digit or bullet,
unless the word before the period is an abbreviation ("e.g.", "No.", "U.S.").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "TableRegion",
    "table_regions",
    "TextUnit",
    "normalise_ws",
    "verify_quote",
    "split_sentences",
    "split_units",
    "looks_tabular",
]

UnitKind = Literal["sentence", "bullet", "heading"]

_WS = re.compile(r"\s+")  # \s covers newlines, tabs and the non-breaking space (U+00A0) in str patterns
_LINE = re.compile(r"[^\n]*")
_BULLET = re.compile(r"[ \t\u00a0]*(?:[•●▪■◦‣∙·*\-–—]|o(?=[ \t]))[ \t\u00a0]+(?=\S)")
_LIST_ITEM = re.compile(r"\(?(?:[a-z]|[ivx]{1,4}|\d{1,2})\)\s|\d{1,2}\.(?:\d{1,2}\.?)*\s")
_SECTION_START = re.compile(
    r"(?:\d+(?:\.\d+)*\.?|[IVXLC]+\.(?:[A-Z]\.?)?(?:\d+\.?)*|[A-Z]\.(?:\d+\.?)*"
    r"|(?:Annex|Appendix|Chapter|Part|Section|Article|Sec\.|§)\s+[\w.]+)\s+\S",
    re.IGNORECASE,
)
_BOUNDARY = re.compile(r"[.?!]+['\"’”)\]]*(?=\s+['\"‘“(\[]?[A-Z0-9•§])")
_ENDS_UNIT = re.compile(r"[.?!:;]['\"’”)\]]*$")
_INITIALS = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")  # "U.S", "e.g", "i.e"; not "A": "Grade A." ends sentences
# Words that, before a period, never end a sentence in this corpus. "etc." is left out on purpose:
# followed by a capital it usually does end one.
_ABBREVIATIONS = frozenset(
    """
    no nos sec secs art arts fig figs ref refs vol vols para paras ch chap pp p cf vs approx incl ph eur
    dr mr mrs ms st inc ltd co corp jan feb mar apr jun jul aug sep sept oct nov dec
    """.split()  # noqa: SIM905 - a word list reads better as text than as quoted items
)
# A line ending in one of these is a sentence broken across lines, never a heading.
_RUN_ON_WORDS = frozenset(
    """
    a an and as at by for from in into of on or than that the to under with which who whose where shall
    should must may be is are will can not nor
    """.split()  # noqa: SIM905 - a word list reads better as text than as quoted items
)
_MAX_HEADING_WORDS = 15


@dataclass(frozen=True)
class TextUnit:
    """A sentence, bullet item or heading: `text[start:end]` with surrounding space (and bullet) removed."""

    start: int
    end: int
    kind: UnitKind


def normalise_ws(text: str) -> str:
    return _WS.sub(" ", text).strip()


def verify_quote(quote: str, page_texts: Sequence[str]) -> bool:
    """True when the quote, whitespace aside, occurs in the cited pages read one after another."""
    needle = normalise_ws(quote)
    return bool(needle) and needle in normalise_ws(" ".join(page_texts))


# Table rows as pypdf flattens them: mostly numbers ("B 3 520 352 000 Not specified (a) 2 930", Annex 1
# Table 1; "Drug substance 0.3 g 800 ppm 0.24 mg", Q3C). A unit of three lines or more, half of them
# such rows or with three such rows (Annex 1 stacks its column headers above them), is a table, not a
# sentence: quoting it would run cells together that the table keeps apart. Over the 37 documents this
# flags 34 units, all tables or worked formulas but one list of section numbers (E6(R2) page 2).
# Text-only cells (ICH Q2(R2) Annex 2, Q5A(R2)'s tables, E6(R2)'s essential documents) are narrow lines
# inside the unit: four lines or more, two thirds of the inner ones under 40 characters. Prose never
# wraps that short: the narrowest column in the corpus (the FDA Phase 1 IND guidance) runs about 70
# characters. Over the 37 documents this flags 280 of 16,954 sentence units, read one by one: tables,
# title pages and address blocks, and a few sentences whose extraction broke words apart ("inform |
# ation", FDA quality systems guidance), which read badly as quotes anyway.
_TABLE_MIN_LINES = 3
_CELL_MIN_LINES = 4
_CELL_MAX_CHARS = 40
_NUMBER = re.compile(r"^[<>≤≥±]?\d[\d.,%]*$")


# A table caption opening a line: "Table 1: Maximum permitted ...", "TABLE III. Application of ...", "Table 1
# continued.  Recommendations ..." (the caption repeated on each page of a long table). A
# table-of-contents entry (a run of dots) or a reference to a table ("Table 6 should apply.") is none.
_CAPTION = re.compile(
    r"(?m)^[ \t]*(?:Table|TABLE)[ \t]+(?:[IVXL]+|\d+[A-Za-z]?(?:\.\d+)*)"
    r"(?:[ \t]+\(?[Cc]ontinued\)?[ \t]*[.:]?|[ \t]*[.:])[ \t]+[A-Z(][^\n]*$"
)
_LEADER_DOTS = re.compile(r"\.{5,}")
_SECTION_HEADING = re.compile(r"(?:\d+(?:\.\d+)*\.?|[IVX]+(?:\.[A-Z0-9]+)*\.?|[A-H]\.)\s+\S")


@dataclass(frozen=True)
class TableRegion:
    start: int  # the caption's first character
    caption_end: int  # end of the caption's (first) line
    end: int  # the next heading, or the end of the text


def table_regions(text: str, units: list[TextUnit]) -> list[TableRegion]:
    """Tables of `text` as pypdf extracts them: from a caption line to the next heading. Their cells come out
    in column or row order ("Change is an inherent The change A formal change ..."), which no reader can
    find on the page, so a table is cited by its caption, never quoted."""
    regions: list[TableRegion] = []
    for caption in _CAPTION.finditer(text):
        if _LEADER_DOTS.search(caption.group()):
            continue
        start = caption.start() + len(caption.group()) - len(caption.group().lstrip())
        pairs = zip(units, [None, *units[:-1]], strict=True)  # each unit with the one before it
        ends = (u.start for u, before in pairs if u.start > caption.end() and _ends_table(text, u, before))
        end = next(ends, len(text))
        if regions and start < regions[-1].end:
            continue  # a caption inside the previous table region (a continued table)
        regions.append(TableRegion(start, caption.end(), end))
    return regions


def _ends_table(text: str, unit: TextUnit, before: TextUnit | None) -> bool:
    """A numbered section heading ("5. GLOSSARY", "IV.C.3 PPQ Protocol"; an unnumbered short line inside a
    table is a column header), or a paragraph of prose after a blank line (a whole sentence of eight words
    or more)."""
    if unit.kind == "heading":
        return bool(_SECTION_HEADING.match(text, unit.start, unit.end))
    gap = text[before.end if before else 0 : unit.start]
    body = text[unit.start : unit.end]
    prose = len(body.split()) >= 8 and body.rstrip()[-1:] in ".?!" and not looks_tabular(body)
    return before is not None and "\n\n" in gap and prose and body[:1].isupper()


def looks_tabular(text: str) -> bool:
    """True when `text` (a unit with its line breaks) is flattened table cells or rows."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if len(lines) < _TABLE_MIN_LINES:
        return False
    rows = sum(map(_is_number_row, lines))
    if rows >= _TABLE_MIN_LINES or rows * 2 >= len(lines):
        return True
    inner = lines[1:-1]
    narrow = sum(len(line) < _CELL_MAX_CHARS for line in inner)
    return len(lines) >= _CELL_MIN_LINES and narrow * 3 >= len(inner) * 2


def _is_number_row(line: str) -> bool:
    """Two numbers or more making a quarter of the tokens, and no sentence end. Prose with a date or a
    dose ("If a system has been changed since August 20, 1997, and if ...") stays below a quarter."""
    tokens = line.split()
    numbers = sum(bool(_NUMBER.match(t)) for t in tokens)
    return numbers >= 2 and numbers * 4 >= len(tokens) and line[-1] not in ".;:"


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences, bullet items and headings of `text`, in order."""
    return [(unit.start, unit.end) for unit in split_units(text)]


def split_units(text: str) -> list[TextUnit]:
    units: list[TextUnit] = []
    for start, end, kind in _blocks(text):
        if kind == "heading":
            units.append(TextUnit(start, end, kind))
        else:
            units.extend(TextUnit(s, e, kind) for s, e in _sentences(text, start, end))
    return units


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each non-blank line, with leading and trailing whitespace excluded."""
    spans = []
    for match in _LINE.finditer(text):
        line = match.group()
        if line.strip():
            start = match.start() + len(line) - len(line.lstrip())
            spans.append((start, match.start() + len(line.rstrip())))
    return spans


def _blocks(text: str) -> list[tuple[int, int, UnitKind]]:
    """Group lines into headings, bullet items and runs of text, each a (start, end, kind)."""
    lines = _lines(text)
    longest = max((end - start for start, end in lines), default=0)
    blocks: list[list] = []  # [start, end, kind], the last one still growing
    prev_ended, prev_end, prev_line = True, 0, ""
    for i, (start, end) in enumerate(lines):
        line = text[start:end]
        after_blank = text.count("\n", prev_end, start) > 1
        next_line = text[lines[i + 1][0] : lines[i + 1][1]] if i + 1 < len(lines) else None
        bullet = _BULLET.match(line)
        current = blocks[-1] if blocks and blocks[-1][2] != "heading" else None
        if bullet:
            blocks.append([start + bullet.end(), end, "bullet"])
        elif prev_ended and _is_heading(line, next_line, longest):
            blocks.append([start, end, "heading"])
        elif current is not None and _continues(current[2], line, prev_line, prev_ended, after_blank):
            current[1] = end
        else:
            blocks.append([start, end, "sentence"])
        prev_ended = blocks[-1][2] == "heading" or bool(_ENDS_UNIT.search(line))
        prev_end, prev_line = end, line
    return [(start, end, kind) for start, end, kind in blocks]


def _continues(kind: str, line: str, prev_line: str, prev_ended: bool, after_blank: bool) -> bool:
    """Whether `line` carries on the open block rather than starting a new one.

    Across a blank line (a paragraph or page break) only a visibly unfinished sentence runs on:
    "... certified by a" + blank + "Qualified Person ..." is one sentence split by a page break.
    """
    if not prev_ended:
        return not after_blank or line[0].islower() or prev_line.split()[-1].lower() in _RUN_ON_WORDS
    if after_blank or _LIST_ITEM.match(line):
        return False
    return kind == "sentence" or line[0].islower()


def _is_heading(line: str, next_line: str | None, longest: int) -> bool:
    words = line.split()
    first_letter = next((c for c in line if c.isalpha()), "")
    if _ENDS_UNIT.search(line) or line.endswith(",") or len(words) > _MAX_HEADING_WORDS:
        return False
    if next_line is not None and next_line[0].islower():
        return False
    if first_letter and (first_letter.islower() or words[-1].lower() in _RUN_ON_WORDS):
        return False
    return (
        not first_letter
        or bool(_SECTION_START.match(line))
        or line.isupper()
        or _title_case(words)
        or len(line) <= 0.6 * longest
    )


def _title_case(words: list[str]) -> bool:
    content = [w for w in words if w.lower() not in _RUN_ON_WORDS and w[0].isalpha()]
    return bool(content) and sum(w[0].isupper() for w in content) >= 0.6 * len(content)


def _sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans, cursor = [], start
    for match in _BOUNDARY.finditer(text, start, end):
        if match.group()[0] == "." and _is_abbreviation(text, cursor, match.start()):
            continue
        spans.append((cursor, match.end()))
        cursor = match.end()
    spans.append((cursor, end))
    return [trimmed for s, e in spans if (trimmed := _trim(text, s, e))[0] < trimmed[1]]


def _is_abbreviation(text: str, block_start: int, period: int) -> bool:
    words = text[block_start:period].rsplit(None, 1)
    word = words[-1].lstrip("([\"'“‘") if words else ""
    return word.lower() in _ABBREVIATIONS or bool(_INITIALS.fullmatch(word))


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
