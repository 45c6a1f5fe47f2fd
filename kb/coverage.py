"""What the indexed corpus does not cover: product classes and subjects a question names that no indexed
document addresses, and the manifest's documents, not available offline, that would.

The local corpus is general ICH, FDA and EU GMP guidance; the guidance written for CAR-T, AAV or
lentiviral products (EMA/CAT guidelines, FDA CBER guidances, EU law) is listed in the manifest with its
official URL but not indexed. A question about a CAR-T product is then answered from the general
guidance, by analogy, and says so; the glossary's `covered_by` names the documents to fetch.

A document addresses a term when its title or reference names it, or when at least
`_MIN_PASSAGES` of its chunks do: one passing mention ("e.g. CAR-T cells") is not guidance on CAR-T.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from kb.access import SCOPES
from kb.glossary import Glossary
from kb.models import Chunk, DocumentRecord

__all__ = ["CoverageGap", "unaddressed_terms", "coverage_gap"]

_MIN_PASSAGES = 3


@dataclass(frozen=True)
class CoverageGap:
    terms: tuple[str, ...]  # glossary terms of the question no indexed document addresses
    documents: tuple[DocumentRecord, ...]  # manifest documents, not indexed, that address them

    def statement(self, *, answered: bool) -> str:
        names = _join(self.terms)
        said = f"No indexed document addresses {names} specifically"
        said += "; the general guidance below applies by analogy." if answered else "."
        if self.documents:
            listed = "; ".join(f"{d.title} ({d.reference}) {d.url}".strip() for d in self.documents)
            said += f" Guidance that addresses it, not in the indexed corpus: {listed}."
        return said


def unaddressed_terms(
    glossary: Glossary, chunks: Mapping[str, Chunk], records: Mapping[str, DocumentRecord]
) -> dict[str, frozenset[str]]:
    """The glossary terms with `covered_by` documents that no document a scope may see addresses."""
    terms = [t for t in glossary.terms if t.covered_by]
    by_document: dict[str, list[str]] = defaultdict(list)
    for chunk in chunks.values():
        by_document[chunk.doc_id].append(chunk.text)
    addressed: dict[str, set[str]] = {t.term: set() for t in terms}  # term -> documents addressing it
    for doc_id, texts in by_document.items():
        record = records[doc_id]
        heading, *passages = glossary.naming(terms, [f"{record.title} {record.reference}", *texts])
        for term in addressed:
            if term in heading or sum(term in named for named in passages) >= _MIN_PASSAGES:
                addressed[term].add(doc_id)
    result = {}
    for level, scope in enumerate(SCOPES):
        seen = set(SCOPES[: level + 1])
        result[scope] = frozenset(
            term for term, docs in addressed.items() if not any(records[d].visibility in seen for d in docs)
        )
    return result


def coverage_gap(
    question: str,
    glossary: Glossary,
    unaddressed: Collection[str],
    catalogue: Mapping[str, DocumentRecord],
    indexed: Collection[str],
) -> CoverageGap | None:
    """The question's unaddressed terms and the not-indexed catalogue documents that address them."""
    named = [t for t in glossary.mentioned(question) if t.term in unaddressed]
    if not named:
        return None
    documents: dict[str, DocumentRecord] = {}
    for term in named:
        for doc_id in term.covered_by:
            if doc_id in catalogue and doc_id not in indexed:
                documents.setdefault(doc_id, catalogue[doc_id])
    return CoverageGap(tuple(t.term for t in named), tuple(documents.values()))


def _join(terms: tuple[str, ...]) -> str:
    return terms[0] if len(terms) == 1 else f"{', '.join(terms[:-1])} or {terms[-1]}"
