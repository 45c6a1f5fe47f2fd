"""Version relations between documents, as one line a citation carries in every renderer.

The manifest records them as data: a superseded document names its successor's id (`superseded_by`),
a draft names what it will replace once final (`will_replace`). A reviewer reading a citation must see
that "ICH Q9" is the 2005 text replaced by Q9(R1), or that the Q1 Step 2 draft is not for
implementation and would replace Q1A(R2) and Q5C, without opening the manifest.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from functools import cache

from kb.models import DocumentRecord

__all__ = ["version_note", "with_version_notes", "names_version", "names_document", "successor_in"]

_CODE = re.compile(r"([A-Z]\d+[A-Z]?)(?:\(R(\d+)\))?")  # Q9, Q3C(R8), E6(R2), Q1A(R2)
# Words that, with a bare code ("the original Q9"), point at the older text.
_OLD_WORDS = re.compile(r"\b(original|old|older|previous|earlier|superseded|former|first version|R0)\b", re.IGNORECASE)
_YEAR = re.compile(r"\b(19|20)\d{2}\b")


def version_note(record: DocumentRecord, records: Mapping[str, DocumentRecord]) -> str:
    """The record's version line: superseded by whom, a draft and what it replaces, current but due to be
    replaced by a draft, or "" for a current document nothing is set to replace."""
    if record.status == "superseded":
        successor = records.get(record.superseded_by or "")
        if successor is None:
            return f"Superseded by {record.superseded_by}"
        where = "" if successor.available_offline else " (not in the local corpus)"
        return f"Superseded by {successor.reference}, {successor.version}{where}"
    if record.status == "draft":
        replaced = [records[i].reference for i in record.will_replace if i in records]
        note = f"Draft, {record.version}: not for implementation"
        return note + (f"; once final it replaces {_join(replaced)}" if replaced else "")
    drafts = [r for r in records.values() if record.id in r.will_replace]
    if drafts:
        return f"Current; the {_join([r.reference for r in drafts])} draft would replace it once final"
    return ""


def with_version_notes(records: Sequence[DocumentRecord]) -> list[DocumentRecord]:
    """The records with their `version_note` filled from the relations among them (the whole manifest)."""
    by_id = {r.id: r for r in records}
    return [dataclasses.replace(r, version_note=version_note(r, by_id)) for r in records]


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def successor_in(record: DocumentRecord, records: Mapping[str, DocumentRecord]) -> DocumentRecord | None:
    """The document that replaces `record`, when it is among `records` (the indexed ones)."""
    return records.get(record.superseded_by) if record.superseded_by else None


def names_version(question: str, record: DocumentRecord, records: Mapping[str, DocumentRecord]) -> bool:
    """Whether the question asks for this version of a guideline.

    "Q3C(R8)" names R8. A bare "Q9" names the current text when a newer version is indexed, and the
    2005 one only with its year or an "old" word ("the 2005 Q9", "original Q9"), or beside the newer
    version's own code ("Q9 vs Q9(R1)"). With no newer version indexed, a bare code names what we have.
    """
    code = _code(record)
    if code is None:
        return False
    base, revision = code
    mentions = [m.group(1) or "" for m in re.finditer(_mention_pattern(base), question, flags=re.IGNORECASE)]
    if not mentions:
        return False
    if revision is not None and revision in mentions:
        return True
    if "" not in mentions:
        return False  # only other revisions are named
    newer = successor_in(record, records)
    if newer is None:  # the newest indexed text, unless the question points at an older one ("the 2005 Q9")
        return not any(_points_at(question, r) for r in records.values() if r.superseded_by == record.id)
    newer_code = _code(newer)
    if newer_code and newer_code[0] == base and newer_code[1] in mentions:
        return True  # "Q9 vs Q9(R1)": the bare code is the older one
    return _points_at(question, record)


def names_document(question: str, record: DocumentRecord, records: Mapping[str, DocumentRecord]) -> bool:
    """Whether the question names this document: its ICH code in the version asked for (`names_version`)
    or one of its manifest `aliases` ("Annex 1", "Part 11", "OOS guidance") as whole words, not as part of
    another guideline's name ("Q4B Annex 14" does not name EU GMP Annex 1, nor "Annex 14" Annex 1; "Q12
    Annex II", an alias of the Q12 annexes, does not name Q12 itself)."""
    if any(_alias_pattern(alias).search(question) for alias in record.aliases):
        return True
    code = _code(record)
    if code is None or not re.search(_mention_pattern(code[0]), question, flags=re.IGNORECASE):
        return False  # no code of its own in the question: nothing for the stripping below to keep
    others = [alias for r in records.values() if r.id != record.id for alias in r.aliases]
    for alias in sorted(others, key=len, reverse=True):
        question = _alias_pattern(alias).sub(" ", question)
    return names_version(question, record, records)


@cache
def _alias_pattern(alias: str) -> re.Pattern[str]:
    body = r"[\s-]+".join(re.escape(part) for part in alias.split())
    return re.compile(rf"(?<![\w-])(?<!Q\d[A-Z] )(?<!Q\d )(?<!Q\d\d ){body}(?![\w-])", re.IGNORECASE)


def _points_at(question: str, older: DocumentRecord) -> bool:
    """An "old" word or the older version's year ("the original Q9", "the 2005 Q9")."""
    year = _YEAR.search(older.version)
    return bool(_OLD_WORDS.search(question) or (year and year.group() in question))


def _code(record: DocumentRecord) -> tuple[str, str | None] | None:
    last = record.reference.split()[-1] if record.reference else ""
    m = _CODE.fullmatch(last)
    return (m.group(1), m.group(2)) if m else None


def _mention_pattern(base: str) -> str:
    """The code with an optional revision, captured ("" when bare): "Q3C(R8)", "Q3C R8", "q3c"."""
    return rf"(?<![\w]){re.escape(base)}(?:\s*\(?\s*R\s*(\d+)\s*\)?|(?![\d\w]))"
