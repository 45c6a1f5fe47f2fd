"""Text cleaning for extracted PDF pages: small helpers, each doing one thing, composed by `clean_pages`.

Every helper works on one page at a time (or reads all pages only to learn what repeats), so text
never moves from one page to another and a chunk's page numbers stay true. Line structure is kept,
one line per text line, because heading detection reads lines.

The split-word helpers (`Vocabulary`, `count_split_signatures`, `repair_splits`) serve the PDF
parser: pypdf sometimes breaks a word in two ("li fecycle"); the document's own words tell us
which adjacent fragments are really one word.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "Vocabulary",
    "build_vocabulary",
    "count_split_signatures",
    "repair_splits",
    "collapse_padding",
    "strip_line_numbers",
    "line_number_run",
    "is_page_number",
    "repeated_edge_lines",
    "remove_headers_footers",
    "join_hyphenated",
    "hyphenation_vocabulary",
    "collapse_blank_lines",
    "clean_pages",
]

_EDGE_PUNCT = ",.;:!?\"'()[]“”‘’*"
_ALPHA = re.compile(r"[^\W\d_]+")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]+")
_LEADING_INT = re.compile(r"^\s*(\d{1,4})(?=\s|$)")
_TRAILING_INT = re.compile(r"(?:^|(?<=\s))(\d{1,4})\s*$")  # the ICH Step 2 drafts number lines in the right margin
_ROMAN = re.compile(r"(?i)(?=[ivxl])(xl|l?x{0,3})(ix|iv|v?i{0,3})")  # "iv", "xii"; not "civil" or "ill"
_PAGE_NUMBER = re.compile(r"(?i)(page\s+)?\d{1,4}(\s+of\s+\d{1,4})?|[-–—]\s*\d{1,4}\s*[-–—]")

# A line recurring at the top or bottom of at least this share of pages (and on 3 pages or more) is
# a running header or footer. ICH E6(R2) alternates two title variants: the rarer one is on 18 of 66
# pages (27%), so the share must stay below that; section headings never recur on 3 page tops.
_REPEAT_SHARE = 0.2
_REPEAT_MIN_PAGES = 3
_RUN_PAGES = 4  # a cover, title page and first page repeat the title on 3 alternate pages (BIMO draft)
_EDGE_LINES = 4  # header/footer zone: a 2-line header plus a page number fits with room to spare

# A page counts as line-numbered (Part 11, BIMO draft) when one increasing run of leading integers
# covers this share of its non-empty lines and is this long. Numbered pages in the corpus score 20+
# lines and 40%+ (long footnotes dilute the share); the best other page is a 1-7 list in ICH E6 (30%).
_NUMBERED_SHARE = 0.35
_NUMBERED_MIN_LINES = 10
_MAX_LINE_NUMBER_STEP = 10  # numbers on empty lines can be dropped by extraction: 289, 291, ...


# --- split words -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    """Word counts of one document: `words` counts every whole-word occurrence; `standalone` leaves
    out the occurrences that sit next to a token with which they form another word of the document
    ("li" in "li fecycle"), so a fragment seen only inside such splits has a standalone count of 0."""

    words: Counter[str]
    standalone: Counter[str]

    def is_split(self, *tokens: str) -> bool:
        """True when adjacent `tokens` ("li", "fecycle") are most likely one word broken apart: joined
        they make a word of the document, and one of them is a fragment (see `_is_fragment`).
        A lower-to-upper case change at the break ("a N ew") is a word boundary."""
        parts = _split_key(tokens)
        if not parts or not self.words["".join(parts)]:
            return False
        if any(a[-1].islower() and b[0].isupper() for a, b in zip(tokens, tokens[1:], strict=False)):
            return False
        return any(self._is_fragment(part, token) for part, token in zip(parts, tokens, strict=True))

    def _is_fragment(self, part: str, token: str) -> bool:
        """A piece of a word: never on its own in the document (and not itself hyphenated), or a
        single letter other than "a" and "I" (the FDA CPG reads "o r", "t he", "r egarding")."""
        return (self.standalone[part] == 0 and "-" not in token) or (len(part) == 1 and part not in "ai")


def _split_key(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """Lower-cased alphabetic parts of adjacent tokens, or () when punctuation sits between them
    ("concepts. 8" or "(a) b" are never one word). Only the touching ends of hyphenated tokens
    count: "Over-the-C ounter" is checked as "c" + "ounter"."""
    parts = [t.lower() for t in tokens]
    parts[0] = parts[0].rsplit("-", 1)[-1].lstrip(_EDGE_PUNCT)
    parts[-1] = parts[-1].split("-", 1)[0].rstrip(_EDGE_PUNCT)
    return tuple(parts) if len(parts) > 1 and all(_ALPHA.fullmatch(p) for p in parts) else ()


def _words(token: str) -> list[str]:
    """The words of a token: "(lifecycle)," -> ["lifecycle"], "Over-the-Counter" -> ["over", "the", "counter"]."""
    return [w for w in token.strip(_EDGE_PUNCT).lower().split("-") if _ALPHA.fullmatch(w)]


def build_vocabulary(texts: Iterable[str]) -> Vocabulary:
    """Count the words of `texts` (all pages of a document, in every extraction mode)."""
    lines = [line.split() for text in texts for line in text.splitlines()]
    words = Counter(w for tokens in lines for token in tokens for w in _words(token))
    standalone: Counter[str] = Counter()
    for tokens in lines:
        paired = _paired_positions(tokens, words)
        standalone.update(w for i, token in enumerate(tokens) if i not in paired for w in _words(token))
    return Vocabulary(words, standalone)


def _paired_positions(tokens: list[str], words: Counter[str]) -> set[int]:
    """Positions of tokens that form a word of `words` with their neighbour(s): "li" "fecycle"."""
    paired: set[int] = set()
    for i in range(len(tokens)):
        for n in (2, 3):
            parts = _split_key(tuple(tokens[i : i + n]))
            if parts and len(parts) == n and words["".join(parts)]:
                paired.update(range(i, i + n))
    return paired


def count_split_signatures(text: str, vocab: Vocabulary) -> int:
    """How many adjacent token pairs of `text` look like one word broken in two."""
    lines = [line.split() for line in text.splitlines()]
    return sum(vocab.is_split(a, b) for tokens in lines for a, b in zip(tokens, tokens[1:], strict=False))


def repair_splits(text: str, vocab: Vocabulary) -> str:
    """Merge `a b` (or `a b c`) into one word where `vocab` says it is one broken word.

    Repeats until nothing changes: "Parame te rs" first becomes "Parame ters", then "Parameters".
    """
    lines = text.split("\n")
    for i, line in enumerate(lines):
        while (repaired := _repair_line(line, vocab)) != line:
            line = repaired
        lines[i] = line
    return "\n".join(lines)


def _repair_line(line: str, vocab: Vocabulary) -> str:
    parts = re.split(r"(\s+)", line)
    tokens, gaps = parts[0::2], [*parts[1::2], ""]  # gaps[i] is the whitespace after tokens[i]
    out, i = [], 0
    while i < len(tokens):
        width = _split_width(tokens[i : i + 3], vocab)
        out += ["".join(tokens[i : i + width]), gaps[i + width - 1]]
        i += width
    return "".join(out)


def _split_width(tokens: list[str], vocab: Vocabulary) -> int:
    """How many of the leading `tokens` form one broken word (1 when none do)."""
    return next((n for n in (3, 2) if len(tokens) >= n and vocab.is_split(*tokens[:n])), 1)


# --- per-page helpers ------------------------------------------------------------------------------


def collapse_padding(page: str) -> str:
    """Runs of spaces (layout-mode padding) become one space; lines are trimmed; line breaks stay."""
    lines = (_SPACES.sub(" ", line).strip() for line in page.replace("\r", "").split("\n"))
    return "\n".join(lines)


def strip_line_numbers(page: str, continues_from: int = 0, *, side: str = "leading") -> str:
    """Drop leading line numbers when the page's lines are consistently numbered (Part 11 style).

    The line numbers are the longest run of leading integers that increase in small steps; footnote
    numbers ("1 This guidance has been ...") restart low and fall outside that run. Bare numbers
    within the run's range (numbered blank lines) are dropped too. `continues_from` is the previous
    page's last line number: a page that is mostly a table (BIMO's resource guide) numbers only a
    few lines, which are recognised because they carry on from it.
    """
    return _strip_run(page, line_number_run(page, continues_from, side=side), side=side)


def _strip_run(page: str, run: list[tuple[int, int]], *, side: str = "leading") -> str:
    if not run:
        return page
    lines = page.split("\n")
    for i, _ in run:
        if side == "leading":
            lines[i] = _LEADING_INT.sub("", lines[i], count=1).lstrip()
        else:
            lines[i] = _TRAILING_INT.sub("", lines[i], count=1).rstrip()
    low, high = run[0][1], run[-1][1]
    return "\n".join("" if _is_int_between(line, low, high) else line for line in lines)


def line_number_run(page: str, continues_from: int = 0, *, side: str = "leading") -> list[tuple[int, int]]:
    """(line index, number) of the page's line numbers, or [] when its lines are not numbered.

    `side` is where the numbers sit: "leading" (Part 11, BIMO draft) or "trailing" (the ICH Q1 and Q3E
    Step 2 drafts, where pypdf puts the margin number at the end of each line: "... the stability 126").
    """
    lines = page.split("\n")
    pattern = _LEADING_INT if side == "leading" else _TRAILING_INT
    numbered = [(i, int(m.group(1))) for i, line in enumerate(lines) if (m := pattern.search(line))]
    run = _longest_number_run(numbered)
    if len(run) >= max(_NUMBERED_MIN_LINES, _NUMBERED_SHARE * sum(1 for line in lines if line.strip())):
        return run
    continued: list[tuple[int, int]] = []
    for i, n in numbered:
        if continues_from and 0 < n - (continued[-1][1] if continued else continues_from) <= _MAX_LINE_NUMBER_STEP:
            continued.append((i, n))
    return continued


def _line_numbers(page: str, continues_from: int) -> tuple[str, list[tuple[int, int]]]:
    """The side ("leading" or "trailing") whose line-number run is longer, with that run."""
    leading = line_number_run(page, continues_from, side="leading")
    trailing = line_number_run(page, continues_from, side="trailing")
    return ("trailing", trailing) if len(trailing) > len(leading) else ("leading", leading)


def _longest_number_run(numbered: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest chain of (line index, number) whose numbers rise by 1..10 from line to line."""
    best: list[list[tuple[int, int]]] = []
    for k, (_, n) in enumerate(numbered):
        options = [best[j] for j in range(k) if 0 < n - numbered[j][1] <= _MAX_LINE_NUMBER_STEP]
        best.append(max(options, key=len, default=[]) + [numbered[k]])
    return max(best, key=len, default=[])


def _is_int_between(line: str, low: int, high: int) -> bool:
    text = line.strip()
    return text.isdigit() and low <= int(text) <= high


def is_page_number(line: str) -> bool:
    """A line that holds only a page number: "3", "iv", "Page 3 of 17", "- 3 -"."""
    text = " ".join(line.split())
    return bool(_PAGE_NUMBER.fullmatch(text) or _ROMAN.fullmatch(text))


def _edge_key(line: str) -> str:
    """Compare header/footer lines with page numbers and dates masked: "Validation 12" ~ "Validation 13"."""
    return re.sub(r"\d+", "#", " ".join(line.split()))


def _edge_lines(page: str) -> list[str]:
    lines = [line for line in page.split("\n") if line.strip()]
    return lines[:_EDGE_LINES] + lines[-_EDGE_LINES:]


def repeated_edge_lines(pages: list[str]) -> set[str]:
    """Keys (see `_edge_key`) of running headers/footers: lines near the top or bottom of many pages,
    or of 4 pages in a row or on alternate pages (ICH Q3C heads each part with its own title, and
    its odd pages with the guideline title)."""
    keys = [{_edge_key(line) for line in _edge_lines(page)} - {"#"} for page in pages]
    counts = Counter(key for page_keys in keys for key in page_keys)
    needed = max(_REPEAT_MIN_PAGES, _REPEAT_SHARE * len(pages))
    runs = {
        key
        for step in (1, 2)
        for i in range(len(keys) - (_RUN_PAGES - 1) * step)
        for key in set.intersection(*keys[i : i + _RUN_PAGES * step : step])
    }
    return {key for key, n in counts.items() if n >= needed} | runs


def remove_headers_footers(pages: list[str]) -> list[str]:
    """Peel running headers/footers and one page number off the top and the bottom of every page."""
    repeated = repeated_edge_lines(pages)
    return ["\n".join(_peel(_peel(page.split("\n"), repeated)[::-1], repeated)[::-1]) for page in pages]


def _peel(lines: list[str], repeated: set[str]) -> list[str]:
    """Drop leading blank, repeated and (at most one) page-number lines, within the edge zone."""
    page_number_seen, peeled, i = False, 0, 0
    while i < len(lines) and peeled < _EDGE_LINES + 1:
        line = lines[i]
        if not line.strip() or _edge_key(line) in repeated:
            peeled += bool(line.strip())
        elif is_page_number(line) and not page_number_seen:
            page_number_seen, peeled = True, peeled + 1
        else:
            break
        i += 1
    return lines[i:]


_HYPHEN_END = re.compile(r"([^\W\d_]+)-$")
_FIRST_WORD = re.compile(r"([^\W\d_]+)(\S*)\s*")


def join_hyphenated(page: str, vocab: Vocabulary, compounds: set[str]) -> str:
    """Join a word hyphenated across a line break onto the first line.

    "manufac-\\nturing" becomes "manufacturing" when the document uses that word; a real compound
    ("risk-\\nbased") keeps its hyphen when the document writes it hyphenated elsewhere (`compounds`)
    or both parts are words of their own. When unsure, the hyphen is kept: in this corpus almost
    every line-end hyphen is a compound ("pre-announcement", "well-characterized").
    """
    lines, emptied = page.split("\n"), set()
    for i in range(len(lines) - 1):
        end, start = _HYPHEN_END.search(lines[i]), _FIRST_WORD.match(lines[i + 1])
        if not end or not start:
            continue
        a, b = end.group(1), start.group(1)
        glue = "" if _drop_hyphen(a.lower(), b.lower(), vocab, compounds) else "-"
        lines[i] = lines[i][:-1] + glue + b + start.group(2)
        lines[i + 1] = lines[i + 1][start.end() :]
        if not lines[i + 1]:
            emptied.add(i + 1)
    return "\n".join(line for i, line in enumerate(lines) if i not in emptied)


def _drop_hyphen(a: str, b: str, vocab: Vocabulary, compounds: set[str]) -> bool:
    if f"{a}-{b}" in compounds or (vocab.standalone[a] and vocab.standalone[b]):
        return False
    return bool(vocab.words[a + b])


def hyphenation_vocabulary(pages: list[str]) -> tuple[Vocabulary, set[str]]:
    """The words of the document outside line-end hyphenations ("manufac-" / "turing" would otherwise
    count as words of their own), and the hyphenated compounds it writes within a line."""
    unbroken = [re.sub(r"\S*-\n\S*", " ", page) for page in pages]
    compounds = {m.group(0).lower() for page in unbroken for m in re.finditer(r"[^\W\d_]+-[^\W\d_]+", page)}
    return build_vocabulary(unbroken), compounds


def collapse_blank_lines(page: str) -> str:
    """Runs of blank lines become one blank line; the page loses leading and trailing blank lines."""
    return re.sub(r"\n{3,}", "\n\n", page).strip("\n")


def clean_pages(raw_pages: list[str]) -> list[str]:
    """Clean extracted pages: padding, line numbers, running headers/footers, hyphenation, blank lines.

    Returns one string per input page, in order; a page without text comes back as "".
    """
    pages, last_line_number = [], 0
    for raw in map(collapse_padding, raw_pages):
        side, run = _line_numbers(raw, last_line_number)
        pages.append(_strip_run(raw, run, side=side))
        last_line_number = run[-1][1] if run else 0
    pages = remove_headers_footers(pages)
    vocab, compounds = hyphenation_vocabulary(pages)
    return [collapse_blank_lines(join_hyphenated(page, vocab, compounds)) for page in pages]
