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
from kb.question import without_situation
from kb.versions import names_document

__all__ = ["CoverageGap", "unaddressed_terms", "coverage_gap", "named_offline_documents"]

_MIN_PASSAGES = 3


@dataclass(frozen=True)
class CoverageGap:
    terms: tuple[str, ...]  # glossary terms of the question no indexed document addresses
    documents: tuple[DocumentRecord, ...]  # manifest documents, not indexed, that address them
    named: tuple[DocumentRecord, ...] = ()  # documents the ask names that are not indexed ("GMP Part IV")

    def statement(self, *, answered: bool) -> str:
        said = []
        if self.named:
            listed = "; ".join(_listed(d) for d in self.named)
            said.append(f"The question asks about a document that is not in the indexed corpus: {listed}.")
        if self.terms:
            subjects = f"No indexed document addresses {_join(self.terms)} specifically"
            said.append(subjects + ("; the general guidance below applies by analogy." if answered else "."))
        others = [d for d in self.documents if d not in self.named]
        if others:
            said.append(f"Guidance that addresses it, not in the indexed corpus: {'; '.join(map(_listed, others))}.")
        return " ".join(said)

    @property
    def offline_documents(self) -> tuple[DocumentRecord, ...]:
        return tuple({d.id: d for d in (*self.named, *self.documents)}.values())


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
    """The question's unaddressed terms and the not-indexed catalogue documents that address them, and
    the not-indexed documents its ask names (`named_offline_documents`)."""
    terms = [t for t in glossary.mentioned(question) if t.term in unaddressed]
    named = named_offline_documents(without_situation(question), catalogue, indexed)
    if not terms and not named:
        return None
    documents: dict[str, DocumentRecord] = {}
    for term in terms:
        for doc_id in term.covered_by:
            if doc_id in catalogue and doc_id not in indexed:
                documents.setdefault(doc_id, catalogue[doc_id])
    return CoverageGap(tuple(t.term for t in terms), tuple(documents.values()), named)


def named_offline_documents(
    question: str, catalogue: Mapping[str, DocumentRecord], indexed: Collection[str]
) -> tuple[DocumentRecord, ...]:
    """The manifest documents, not indexed, that `question` (without the asker's situation) names by code
    or alias ("EU GMP Part IV", "the RMAT guidance", "E6(R3)"), when it names no indexed document: only
    those documents can answer what it asks, so the answer is `no_evidence` with their official URLs."""
    named = [r for r in catalogue.values() if names_document(question, r, catalogue)]
    if any(r.id in indexed for r in named):
        return ()
    return tuple(named)


def _listed(document: DocumentRecord) -> str:
    return f"{document.title} ({document.reference}) {document.url}".strip()


def _join(terms: tuple[str, ...]) -> str:
    return terms[0] if len(terms) == 1 else f"{', '.join(terms[:-1])} or {terms[-1]}"
