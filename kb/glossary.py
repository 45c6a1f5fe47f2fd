"""Domain glossary: acronyms spelled out for retrieval, and domain terms the corpus never mentions.

"CPV trending" is searched as "CPV trending (continued process verification)", so BM25 and the
embedding see the words the guidance uses. A question naming a glossary concept that occurs nowhere
in the indexed text (CAR-T, AAV, hospital exemption while only ICH/FDA general guidance is indexed)
is about documents regkb does not have; the answer step then asks for stronger evidence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from kb.errors import ConfigError

__all__ = ["GlossaryTerm", "Glossary", "load_glossary"]


@dataclass(frozen=True)
class GlossaryTerm:
    term: str
    forms: tuple[str, ...]
    # Manifest ids of the documents that address the concept specifically (the EMA/CAT and FDA CBER
    # guidance for CAR-T, AAV, ...): named in an answer when no indexed document addresses it.
    covered_by: tuple[str, ...] = ()

    @property
    def surfaces(self) -> tuple[str, ...]:
        return (self.term, *self.forms)


def _pattern(surface: str) -> re.Pattern[str]:
    # Hyphens and spaces are interchangeable ("CAR-T", "CAR T"); two-letter acronyms match only in
    # capitals so "is", "pv" in prose or "IB" vs "ib" stay apart from words.
    body = r"[\s-]+".join(re.escape(part) for part in re.split(r"[\s-]+", surface.strip()))
    flags = 0 if len(surface) <= 2 and surface.isupper() else re.IGNORECASE
    return re.compile(rf"(?<![\w-]){body}(?![\w-])", flags)


def _word_stream(text: str) -> str:
    """The text's words, space-separated and space-padded, so " a b " in it means the words a, b in a row."""
    return f" {' '.join(_WORD.findall(text))} "


_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Glossary:
    terms: tuple[GlossaryTerm, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_patterns", {t.term: [_pattern(s) for s in t.surfaces] for t in self.terms})

    def mentioned(self, text: str) -> list[GlossaryTerm]:
        patterns = self._patterns  # type: ignore[attr-defined]
        return [t for t in self.terms if any(p.search(text) for p in patterns[t.term])]

    def without_subjects(self, text: str) -> str:
        """`text` without the ATMP subjects (terms with `covered_by` documents: CAR-T, AAV, LVV, autologous)."""
        patterns = self._patterns  # type: ignore[attr-defined]
        for term in self.terms:
            if term.covered_by:
                for pattern in patterns[term.term]:
                    text = pattern.sub(" ", text)
        return " ".join(text.split())

    def expand(self, question: str) -> str:
        """The question with the spelled-out form of each acronym it uses and does not spell out."""
        additions = [
            t.forms[0] for t in self.mentioned(question) if t.forms and not _pattern(t.forms[0]).search(question)
        ]
        return f"{question} ({'; '.join(additions)})" if additions else question

    def absent_from(self, texts: Iterable[str]) -> set[str]:
        """Terms none of whose surfaces occurs in the texts (the indexed corpus)."""
        # One pass turns the corpus into a stream of words; each surface is then a substring test of its
        # own words at C speed (a regex per surface over 1.3 M characters took 1.5 s at every start-up).
        cased = _word_stream("\n".join(texts))
        lowered = cased.lower()

        def occurs(term: GlossaryTerm) -> bool:
            for surface in term.surfaces:
                needle = _word_stream(surface)
                exact = len(surface) <= 2 and surface.isupper()
                if (needle in cased) if exact else (needle.lower() in lowered):
                    return True
            return False

        return {t.term for t in self.terms if not occurs(t)}

    def naming(self, terms: Iterable[GlossaryTerm], texts: Iterable[str]) -> list[set[str]]:
        """For each text, the terms (by name) it names in any surface: the rules of `mentioned`, at C speed,
        with each text turned into its word stream once whatever the number of terms."""
        needles = [(t.term, _word_stream(s), len(s) <= 2 and s.isupper()) for t in terms for s in t.surfaces]
        named = []
        for text in texts:
            cased = _word_stream(text)
            lowered = cased.lower()
            named.append({term for term, n, exact in needles if ((n in cased) if exact else (n.lower() in lowered))})
        return named


def load_glossary(path: Path) -> Glossary:
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: the glossary cannot be read ({exc}); fix it or set REGKB_GLOSSARY_PATH") from exc
    terms = []
    for index, entry in enumerate((raw or {}).get("terms") or []):
        if not isinstance(entry, dict) or not str(entry.get("term") or "").strip():
            raise ConfigError(f"{path}: entry {index} needs a term")
        forms = tuple(str(f) for f in entry.get("forms") or [])
        terms.append(GlossaryTerm(str(entry["term"]), forms, tuple(str(d) for d in entry.get("covered_by") or [])))
    return Glossary(tuple(terms))
