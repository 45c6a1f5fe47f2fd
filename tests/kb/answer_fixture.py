"""Passages over small made-up documents, with the page store answers verify their quotes against."""

from __future__ import annotations

from kb.answer import build_answer
from kb.models import Answer, Chunk, DocumentRecord, ParsedDocument, Passage, Status
from kb.settings import AnswerSettings

CERTIFY = (
    "1.1 Certification\n"
    "The Qualified Person must certify each batch before release for sale. Certification is recorded\n"
    "in a register. The register must be kept for five years."
)
QUALITY_UNIT = (
    "The quality control unit shall approve or reject all components, containers and closures.\n"
    "Batch release decisions are documented by the quality unit before distribution."
)
RISK = (
    "Quality risk management is a systematic process for the assessment of risk. It applies across the\n"
    "product lifecycle."
)


def make_record(
    doc_id: str, *, status: Status = "final", superseded_by: str | None = None, url: str | None = None
) -> DocumentRecord:
    return DocumentRecord(
        id=doc_id,
        title=f"Title of {doc_id}",
        agency="EMA",
        jurisdiction="EU",
        doc_type="guideline",
        reference=f"REF {doc_id}",
        version="1",
        status=status,
        url=url if url is not None else f"https://example.org/{doc_id}.pdf",
        superseded_by=superseded_by,
    )


class Corpus:
    """Parsed documents and the page text store the answer verifies quotes against."""

    def __init__(self) -> None:
        self.docs: dict[str, ParsedDocument] = {}
        self.records: dict[str, DocumentRecord] = {}

    def add(self, record: DocumentRecord, *pages: str) -> None:
        self.docs[record.id], self.records[record.id] = ParsedDocument(record.id, pages), record

    def page_text(self, doc_id: str, page: int) -> str:
        return self.docs[doc_id].pages[page - 1]

    def passage(self, doc_id: str, first: str, last: str, *, score: float = 0.5, n: int = 0) -> Passage:
        """The chunk running from the text `first` to the end of the text `last`."""
        doc = self.docs[doc_id]
        start = doc.text.index(first)
        end = doc.text.index(last, start) + len(last)
        chunk = Chunk(
            chunk_id=f"{doc_id}#p{doc.page_at(start)}-c{n}",
            doc_id=doc_id,
            text=doc.text[start:end],
            section="4.1",
            section_title="Release",
            section_path=("4", "4.1"),
            first_page=doc.page_at(start),
            last_page=doc.page_at(end - 1),
            start=start,
            end=end,
        )
        return Passage(chunk=chunk, document=self.records[doc_id], score=score, dense_similarity=0.6)


def answer_for(corpus: Corpus, question: str, passages: list[Passage], **settings: float) -> Answer:
    return build_answer(
        question,
        passages,
        page_text=corpus.page_text,
        settings=AnswerSettings(**{"span_back_chars": 0, **settings}),  # spans grow forward unless a test asks
        corpus_snapshot="snap-1",
        evidence_ok=True,
    )


def three_documents() -> Corpus:
    corpus = Corpus()
    corpus.add(make_record("annex16"), CERTIFY)
    corpus.add(make_record("cfr211"), QUALITY_UNIT)
    corpus.add(make_record("q9"), RISK)
    return corpus


def three_passages(corpus: Corpus) -> list[Passage]:
    return [
        corpus.passage("annex16", "1.1 Certification", "five years.", score=0.9),
        corpus.passage("cfr211", "The quality control", "distribution.", score=0.8),
        corpus.passage("q9", "Quality risk", "lifecycle.", score=0.7),
    ]
