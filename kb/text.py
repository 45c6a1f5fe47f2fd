"""Word tokens for matching a question against passages: lowercase, stopwords out, Snowball-stemmed.

Shared by evidence assessment and sentence scoring so both count "the same word" the same way.
Acronyms survive the stopword list: "IT" (information technology) and "US" are content in a
regulatory question even though "it" and "us" are not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

__all__ = ["STOPWORDS", "word_tokens", "content_terms", "stem_words"]

# Dotted numbers ("211.100", "3.2.1") stay whole: they name a section, and split they would match
# every other number. Everything else is a run of letters and digits ("Q9", "ATMP", "2001").
_TOKEN = re.compile(r"\d+(?:\.\d+)+|[^\W_]+")
_ACRONYM = re.compile(r"[A-Z][A-Z0-9]+")

STOPWORDS: frozenset[str] = frozenset(
    """
    a about above after again against all also am an and any are as at be been before being between both
    but by can could did do does doing done during each either for from further had has have having he
    her here hers him his how i if in into is it its itself just may me might more most must my no nor
    not of off on once only or other our ours out over own per please same shall she should so some such
    than that the their theirs them then there these they this those through to too under until up upon
    us very was we were what when where whether which while who whom why will with within would you your
    yours according regarding say says tell explain describe
    """.split()  # noqa: SIM905 - a word list reads better as text than as quoted items
)


def word_tokens(text: str) -> list[str]:
    """Lowercase word tokens; single letters are dropped (initials, list letters, the "o" bullet)."""
    return [t.lower() for t in _TOKEN.findall(text) if len(t) > 1 or t.isdigit()]


def content_terms(text: str, *, stem: bool = True) -> list[str]:
    """Word tokens minus stopwords (acronyms kept), stemmed unless `stem` is False; order kept."""
    terms = [
        t.lower()
        for t in _TOKEN.findall(text)
        if (len(t) > 1 or t.isdigit()) and (t.lower() not in STOPWORDS or _ACRONYM.fullmatch(t))
    ]
    return stem_words(terms) if stem else terms


def stem_words(words: Iterable[str]) -> list[str]:
    """Snowball (Porter 2) English stems of lowercase words; dotted numbers pass through unchanged."""
    words = list(words)
    return [w if "." in w else s for w, s in zip(words, _stemmer().stemWords(words), strict=True)]


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")
