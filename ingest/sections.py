"""Section headings of a parsed guidance document, and the section enclosing any character offset.

Two outline styles occur in this corpus:

* FDA guidances: "IV. RECOMMENDATIONS" > "A. General Considerations ..." > "1. Building ..." >
  "a. Reference standards", numbered here "IV", "IV.A", "IV.A.1", "IV.A.1.a" from the outline context;
* ICH guidelines (and FDA's CPG): "1. INTRODUCTION" > "1.1 Objective" > "3.2.1 ...", numbered as printed.

Both also have "PART I:", "Annex 1", "APPENDIX A ..." and unnumbered "GLOSSARY" / "REFERENCES" headings.

Numbered list items and numbered paragraphs look like headings, so a candidate line must also fit the
outline (its number follows the previous heading's) and read like a title (short, no sentence verb
or sentence end, not continued in lower case on the next line). The table of contents is skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.sections_gmp import gmp_annex_headings, is_gmp_annex
from kb.models import Heading, ParsedDocument

__all__ = ["find_headings", "section_at"]

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("part", re.compile(r"^PART\s+(?P<label>[IVX]{1,4})\s*:?\s*(?P<title>.*)$")),
    (
        "annex",
        re.compile(
            r"^(?P<word>Annex|ANNEX|Appendix|APPENDIX|Attachment|ATTACHMENT)\s+(?P<label>[IVX]{1,4}[A-F]?|\d{1,2}|[A-Z])"
            r"(?!\w|\.\d)\s*[:.\-–—]?\s*(?P<title>.*)$"
        ),
    ),
    # "3.2.1 Title", "1.1. Title" (ICH Q1A), "I.1 Title" (Q9 annexes), "A2.1 Title" (Q3C appendices)
    ("decimal", re.compile(r"^(?P<label>(?:[IVX]{1,4}|A\d{1,2}|[1-9]\d?)(?:\.\d{1,2}){1,4})\.?\s+(?P<title>\S.*)$")),
    # "A3-4.1 Cell and Viral Banks": sections of the ICH Q1 draft's annexes, numbered by annex
    ("annex_section", re.compile(r"^(?P<label>A\d-\d{1,2}(?:[.\-]\d{1,2}){0,4})\s+(?P<title>\S.*)$")),
    ("roman", re.compile(r"^(?P<label>[IVX]{1,5})\.\s+(?P<title>\S.*)$")),
    ("upper", re.compile(r"^(?P<label>[A-Z])\.\s+(?P<title>\S.*)$")),
    ("arabic", re.compile(r"^(?P<label>[1-9]\d?)\.\s+(?P<title>\S.*)$")),
    # "1 INTRODUCTION" without the period (ICH Q2(R2), Q12): upper case only, so "20 rpm" or
    # "26 October 1993" never qualify.
    ("bare", re.compile(r"^(?P<label>[1-9]\d?)\s+(?P<title>[A-Z][^a-z]*[A-Z][^a-z]*)$")),
    ("lower", re.compile(r"^(?P<label>[a-z])\.\s+(?P<title>\S.*)$")),
    (
        "named",
        re.compile(
            r"^(?P<title>(?i:glossary|references|introduction|background|policy|definitions|abbreviations"
            r"|bibliography|preamble))\s*:?$"
        ),
    ),
)
_REFERENCE_TITLES = {"references", "bibliography"}
_NAMED_TITLES = {"glossary", "references", "bibliography", "definitions", "abbreviations"}

# Words that make a line a sentence rather than a title ("2.1 Clinical trials should be conducted ...").
_SENTENCE_VERBS = frozenset({"should", "must", "shall", "will", "may", "can", "could", "would"}) | frozenset(
    {"is", "are", "was", "were", "has", "have", "does", "do"}
)
# A mixed-case title never ends on one of these; a line that does is cut mid-sentence.
_DANGLING_WORDS = frozenset(
    {"a", "an", "the", "of", "and", "or", "to", "in", "for", "with", "by", "on", "at", "from", "as"}
)
_MAX_TITLE_WORDS = 18
_MAX_TITLE_CHARS = 160
_WRAPPED_LINE_CHARS = 45  # a heading only wraps when its first line is long; body lines run 70-100 chars
_MAX_CONTINUATION_WORDS = 6

# Table of contents: entries end in dot leaders ("1.2 Scope ........ 1"), sometimes in a bare page number.
# The page may be a label such as "A2-1" (ICH Q1 draft annexes).
_LEADER = re.compile(r"(?:\.\s?){4,}\s*(?:[A-Z]\d{0,2}-)?\d*\s*$|…\s*\d*\s*$")
_ENDS_WITH_PAGE = re.compile(r"[A-Za-z)]\s+\d{1,3}$")
_TOC_MIN_LEADERS = 3


@dataclass(frozen=True)
class _Line:
    text: str  # stripped
    start: int  # offset of the line in ParsedDocument.text
    page: int  # 0-based page index


@dataclass(frozen=True)
class _Candidate:
    kind: str
    label: str
    title: str
    word: str = ""  # "Annex", "Appendix" or "Attachment" for kind "annex"


def _document_lines(doc: ParsedDocument) -> list[_Line]:
    lines = []
    for page_index, (page, start) in enumerate(zip(doc.pages, doc.page_starts, strict=True)):
        offset = start
        for line in page.split("\n"):
            lines.append(_Line(line.strip(), offset, page_index))
            offset += len(line) + 1
    return lines


def _toc_line_indexes(lines: list[_Line]) -> set[int]:
    """Indexes of table-of-contents lines: on a page with dot leaders, everything from the top of the
    page down to its last entry; a page whose table runs on to the next page is skipped whole."""
    skipped: set[int] = set()
    previous: list[int] = []  # non-blank line indexes of the previous page, when it held a table
    for page in sorted({line.page for line in lines}):
        indexes = [i for i, line in enumerate(lines) if line.page == page and line.text]
        leaders = [i for i in indexes if _LEADER.search(lines[i].text)]
        entries = [i for i in indexes if i in leaders or _ENDS_WITH_PAGE.search(lines[i].text)]
        continued = bool(previous and leaders and len(entries) * 2 >= len(indexes))
        if continued:
            skipped.update(previous)
        if len(leaders) >= _TOC_MIN_LEADERS or continued:
            skipped.update(i for i in indexes if i <= entries[-1])
            previous = indexes
        else:
            previous = []
    return skipped


def _toc_titles(lines: list[_Line], toc: set[int]) -> dict[str, list[str]]:
    """Normalised titles listed in the table of contents, by label ("1.3" -> ["relationshipofichq10..."])."""
    entries: list[tuple[str, str]] = []
    for i in sorted(toc):
        text, leaders = _LEADER.subn("", lines[i].text)
        text = text.strip() if leaders else re.sub(r"\s+\d{1,3}$", "", lines[i].text)  # the page number
        candidate = _parse(text)
        if candidate:  # a named or part entry ends the previous entry but is not looked up by label
            entries.append(("" if candidate.kind in ("named", "part") else candidate.label, candidate.title))
        elif entries and text:
            entries[-1] = (entries[-1][0], f"{entries[-1][1]} {text}")
    titles: dict[str, list[str]] = {}
    for label, title in filter(lambda entry: entry[0], entries):
        titles.setdefault(label, []).append(_normal(title))
    return titles


def _normal(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def _parse(text: str) -> _Candidate | None:
    for kind, pattern in _PATTERNS:
        if m := pattern.match(text):
            if kind == "named" and not (text.isupper() or text.istitle()):
                return None
            groups = m.groupdict()
            return _Candidate(kind, groups.get("label") or "", groups["title"].strip(), groups.get("word") or "")
    return None


# --- titles ----------------------------------------------------------------------------------------


def _tidy(title: str) -> str:
    """Drop a trailing colon, footnote mark or footnote number: "Legacy Systems7" -> "Legacy Systems"."""
    title = re.sub(r"(?<=[a-z])\d{1,2}$", "", title.strip())
    if len(title.split()) >= 3:  # "ANNEX 1: SELECTION OF VALIDATION TESTS 1" (ICH Q2(R2)): a footnote mark
        title = re.sub(r"(?<=[A-Z]{3})\s\d$", "", title)
    return re.sub(r"[\s:*†‡]+$", "", title)


def _balanced(text: str) -> bool:
    return text.count("(") == text.count(")") and text.count("[") == text.count("]")


def _looks_like_title(title: str, next_line: str) -> bool:
    """A title is short, starts in upper case, has no sentence verb, no sentence end and no open
    bracket, and the line after it does not carry on the sentence in lower case."""
    words = title.split()
    if not title or len(words) > _MAX_TITLE_WORDS or len(title) > _MAX_TITLE_CHARS or _LEADER.search(title):
        return False
    # "Annex 2 , Section A2-1 - Statistical ..." is a cross-reference in running text, not a heading.
    if not title[0].isalnum() or title[0].islower() or title[-1] in ".,;" or ";" in title or not _balanced(title):
        return False
    if any(word in _SENTENCE_VERBS for word in words) or (not title.isupper() and words[-1] in _DANGLING_WORDS):
        return False
    return not next_line[:1].islower()


def _continues_title(title: str, line: str, known: list[str]) -> bool:
    """Whether `line` is the wrapped rest of `title` ("1.3 Relationship of ... ISO" / "Standards and ICH Q7").

    The table of contents decides when it lists the heading (with or without this line); otherwise
    the title must be unfinished: an open bracket, an upper-case title wrapping in upper case, or a
    long line wrapping a few words.
    """
    if any(k.startswith(_normal(f"{title} {line}")) for k in known):
        return True
    if _normal(title) in known or _normal(title) in _NAMED_TITLES:
        return False  # "4 GLOSSARY" followed by the first term, "ACCURACY" (ICH Q2(R2))
    if not line or _parse(line) or not (line[0].isupper() or line[0].isdigit()) or title[-1] in ".?!:":
        return False
    if not _balanced(title):
        return True
    if line[-1] in ".,;:":
        return False
    if title.isupper():
        return line.isupper() and len(line.split()) <= 2 * _MAX_CONTINUATION_WORDS
    return len(title) >= _WRAPPED_LINE_CHARS and len(line.split()) <= _MAX_CONTINUATION_WORDS


def _full_title(lines: list[_Line], i: int, title: str, known: list[str]) -> tuple[str, int]:
    """The title begun on line `i` with any wrapped continuation, and the index of its last line.

    A Part or Annex line without a title ("Annex 1") takes the next non-blank line as its title.
    """
    if not title:
        j = next((k for k in range(i + 1, min(i + 3, len(lines))) if lines[k].text), None)
        if j is None or _parse(lines[j].text) or not _looks_like_title(_tidy(lines[j].text), ""):
            return "", i
        title, i = lines[j].text, j
    for _ in range(2):
        if i + 1 < len(lines) and lines[i + 1].text and _continues_title(title, lines[i + 1].text, known):
            title, i = f"{title} {lines[i + 1].text}", i + 1
    return _tidy(title), i


def _usable_title(
    lines: list[_Line], i: int, candidate: _Candidate, toc_titles: dict[str, list[str]]
) -> tuple[str, int] | None:
    """(title, index of its last line) when the candidate's title reads like one, else None.

    A title listed in the table of contents is taken as it is. "Oral liquids: One or more of the
    following tests ..." yields "Oral liquids" (ICH Q6A runs a paragraph on after such sub-titles).
    """
    if candidate.kind == "named":
        return candidate.title.title(), i
    known = toc_titles.get(candidate.label, [])
    title, last = _full_title(lines, i, candidate.title, known)
    next_line = lines[last + 1].text if last + 1 < len(lines) else ""
    # A cross-reference in running text can repeat a listed title, but it ends like a sentence.
    listed = _normal(title) in known and title[-1] not in ".;,"
    if listed or (candidate.kind in ("part", "annex") and not candidate.title):
        return title, last
    if _looks_like_title(title, next_line):
        return title, last
    head = _title_before_colon(title)
    return (head, i) if head else None


def _title_before_colon(title: str) -> str:
    """The short title before a colon ("Oral liquids: One or more of the following tests ..."), or ""."""
    head, colon, _ = title.partition(": ")
    words = head.split()
    if not colon or len(words) > _MAX_CONTINUATION_WORDS or words[0].lower() in _DANGLING_WORDS | {"note"}:
        return ""
    return head if _looks_like_title(head, "") else ""


# --- outline ---------------------------------------------------------------------------------------


def _roman(label: str) -> int:
    values = [{"I": 1, "V": 5, "X": 10}[c] for c in label]
    return sum(-v if v < nxt else v for v, nxt in zip(values, [*values[1:], 0], strict=True))


def _follows(previous: int, current: int) -> bool:
    """The next number in a list, allowing one missed number; a list starts at 1 ("A", "a")."""
    return current == 1 if previous == 0 else previous < current <= previous + 2


def _decimal_tuple(label: str) -> tuple[int, ...]:
    first, *rest = label.split(".")
    head = _roman(first) if first[0] in "IVX" else int(first.lstrip("A"))
    return (head, *map(int, rest))


def _successors(last: tuple[int, ...]) -> set[tuple[int, ...]]:
    """Numbers that may follow `last` in a decimal outline (one number may have been missed)."""
    if not last:
        return {(a,) for a in (1, 2)} | {(a, b) for a in (1, 2) for b in (0, 1, 2)}
    nexts = {(*last[:k], last[k] + step) for k in range(len(last)) for step in (1, 2)}
    return nexts | {(*last, child) for child in (0, 1, 2)} | {(*n, 1) for n in nexts}


@dataclass
class _Outline:
    """Where the reader is in the document's outline, so that a candidate's number can be checked
    against the previous heading's and given its full form ("1." under "IV.A" is "IV.A.1")."""

    fda: bool  # roman > capital letter > arabic > lower-case letter; otherwise decimal numbering
    fda_labels: list[str] = field(default_factory=lambda: [""] * 4)
    fda_values: list[int] = field(default_factory=lambda: [0] * 4)
    last_decimal: tuple[int, ...] = ()
    in_part: bool = False  # Q3C and Q8 have parts: "PART I" > "1. INTRODUCTION" > "1.1 ..."
    in_annex: bool = False  # an annex holds "I.1" subsections, not "1." list rows
    references: tuple[int, ...] | None = None  # set inside a references section (its own number)

    def place(self, candidate: _Candidate, title: str) -> tuple[str, int] | None:
        """(number, level) when the candidate fits the outline (which it then advances), else None."""
        if candidate.kind in ("named", "part", "annex"):
            placed: tuple[str, int] | None = self._place_named(candidate)
        elif candidate.kind == "annex_section":
            self.last_decimal, self.in_annex = (), True
            placed = candidate.label, len(re.findall(r"[.\-]", candidate.label))  # "A3-4.1" is level 2
        elif self.references is not None and not self._leaves_references(candidate):
            return None  # numbered entries of a reference list
        else:
            placed = self._place_fda(candidate) if self.fda else self._place_decimal(candidate)
        if placed is None:
            return None
        number, level = placed
        is_reference_list = title.lower() in _REFERENCE_TITLES
        self.references = (self.last_decimal if candidate.kind != "named" else ()) if is_reference_list else None
        return number, level + int(self.in_part and candidate.kind != "part")

    def _place_named(self, candidate: _Candidate) -> tuple[str, int] | None:
        if candidate.kind == "named":
            # "Introduction" in title case inside a numbered section is a sub-title (ICH E6 7.3.5),
            # not a new top-level section; in upper case, or outside numbered sections, it is one.
            inside_numbered = any(self.fda_values) or bool(self.last_decimal)
            return None if inside_numbered and not candidate.title.isupper() else (candidate.title.title(), 1)
        self.last_decimal, self.fda_values = (), [0] * 4
        self.in_part = self.in_part or candidate.kind == "part"
        self.in_annex = candidate.kind == "annex"
        if candidate.kind == "part":
            return f"Part {candidate.label}", 1
        return f"{candidate.word.title()} {candidate.label}", 1

    def _leaves_references(self, candidate: _Candidate) -> bool:
        if self.fda:
            return candidate.kind == "roman"
        if not self.references or candidate.kind not in ("decimal", "arabic", "bare"):
            return False
        return len(_decimal_tuple(candidate.label)) == len(self.references)

    def _place_decimal(self, candidate: _Candidate) -> tuple[str, int] | None:
        if candidate.kind not in ("decimal", "arabic", "bare") or (self.in_annex and candidate.kind != "decimal"):
            return None
        number = _decimal_tuple(candidate.label)
        if number not in _successors(self.last_decimal):
            return None
        self.last_decimal = number
        return candidate.label, len(number)

    def _place_fda(self, candidate: _Candidate) -> tuple[str, int] | None:
        depth, value = self._fda_depth_and_value(candidate)
        values = self.fda_values
        if depth is None or (depth > 0 and not values[0]) or (depth == 3 and not values[2]):
            return None
        if not (_follows(values[depth], value) or (depth == 0 and not values[0] and value == 2)):
            return None
        self.fda_labels[depth:] = [candidate.label] + [""] * (3 - depth)
        self.fda_values[depth:] = [value] + [0] * (3 - depth)
        used = [label for label in self.fda_labels[: depth + 1] if label]
        return ".".join(used), len(used)

    def _fda_depth_and_value(self, candidate: _Candidate) -> tuple[int | None, int]:
        kind, label = candidate.kind, candidate.label
        is_next_letter = len(label) == 1 and _follows(self.fda_values[1], ord(label) - 64)
        if kind == "roman" and self.fda_values[0] and is_next_letter:
            kind = "upper"  # "I." after "H." is a letter, not a roman numeral
        depths = {"roman": 0, "upper": 1, "arabic": 2, "lower": 3}
        if kind not in depths:
            return None, 0
        value = _roman(label) if kind == "roman" else int(label) if kind == "arabic" else ord(label.upper()) - 64
        return depths[kind], value


def _is_fda_style(candidates: list[_Candidate]) -> bool:
    """FDA guidances open with "I. INTRODUCTION"-style roman headings in upper case; ICH Q5B (1995) uses
    the same outline in title case ("I. Introduction" > "A. Expression Construct ..."), with no decimals."""
    romans = {c.label for c in candidates if c.kind == "roman" and c.title.isupper()}
    if len(romans) >= 2:
        return True
    any_case = {c.label for c in candidates if c.kind == "roman"}
    return {"I", "II", "III"} <= any_case and not any(c.kind == "decimal" for c in candidates)


# --- headings --------------------------------------------------------------------------------------


def find_headings(doc: ParsedDocument) -> list[Heading]:
    """Section headings of `doc` in reading order; `start` is the heading line's offset in `doc.text`."""
    lines = _document_lines(doc)
    if is_gmp_annex(lines):
        return gmp_annex_headings(lines)
    toc = _toc_line_indexes(lines)
    toc_titles = _toc_titles(lines, toc)
    candidates = {i: c for i, line in enumerate(lines) if i not in toc and (c := _parse(line.text))}
    outline = _Outline(fda=_is_fda_style(list(candidates.values())))
    headings: list[Heading] = []
    skip_until = -1  # the last line of the previous heading's wrapped title
    for i, candidate in candidates.items():
        found = _usable_title(lines, i, candidate, toc_titles) if i > skip_until else None
        placed = outline.place(candidate, found[0]) if found else None
        if found and placed:
            headings.append(Heading(number=placed[0], title=found[0], level=placed[1], start=lines[i].start))
            skip_until = found[1]
    return headings


def section_at(headings: list[Heading], offset: int) -> tuple[str, str, tuple[str, ...]]:
    """(number, title, path) of the section holding `offset`; path lists the enclosing headings'
    numbers from the top level down, e.g. ("IV", "IV.A", "IV.A.1"). ("", "", ()) before the first."""
    stack: list[Heading] = []
    for heading in headings:
        if heading.start > offset:
            break
        stack = [h for h in stack if h.level < heading.level] + [heading]
    if not stack:
        return "", "", ()
    return stack[-1].number, stack[-1].title, tuple(h.number for h in stack)
