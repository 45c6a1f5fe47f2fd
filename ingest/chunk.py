"""Split a parsed document into chunks that respect section boundaries and the model's window.

MiniLM reads 256 word pieces, [CLS] and [SEP] included; anything longer is silently cut from the
embedding. A chunk is at most `chunk_tokens` (200) pieces of the model's own tokenizer, and the
document/section prefix embedded with it is cut to the remaining 256 - 2 - 200 = 54 pieces.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ingest.sections import section_at
from kb.embedder import Tokenizer
from kb.models import Chunk, DocumentRecord, Heading, ParsedDocument
from kb.settings import ChunkingSettings

__all__ = ["chunk_document", "embedding_text", "SPECIAL_TOKENS"]

SPECIAL_TOKENS = 2  # [CLS] and [SEP]
# A section whose body is shorter than this (a heading directly followed by a sub-heading) is
# folded into the next section instead of becoming a chunk that says nothing but its title.
_MIN_SECTION_TOKENS = 12
_MIN_CHUNK_TOKENS = 24  # a piece this short is a stray heading or line; it joins a neighbour when that fits


def _heading_reserve(chunk_tokens: int) -> int:
    """The splitter aims this many pieces below the window, so a heading it leaves on its own always fits
    into the next piece (200 -> 16: section headings in this corpus are under 16 word pieces)."""
    return max(1, min(16, chunk_tokens // 8))


_SEPARATORS = ["\n\n", "\n", ". ", "; ", ", ", " ", ""]
# Table-of-contents lines ("F. Chemistry, Manufacturing ... ........ 4") match many queries and answer none.
# The page number is optional: pypdf drops it from many ICH tables of contents ("4.1 Definition of a PACMP
# .........."), and an appendix may be numbered "A1-1".
_DOT_LEADER = re.compile(r"(\.\s?){5,}\s*(?:[A-Z]\d{0,2}-)?[\divxlc]*\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    heading_offset: int  # where the heading that names this span starts


def chunk_document(
    doc: ParsedDocument, headings: Sequence[Heading], tokenizer: Tokenizer, settings: ChunkingSettings
) -> list[Chunk]:
    splitter = _splitter(tokenizer, settings)
    chunks: list[Chunk] = []
    every = list(headings)
    paragraphs = [h for h in every if not h.splits]
    for span in _section_spans(doc, [h for h in every if h.splits], tokenizer):
        for start, end in _split_span(doc.text, span, splitter, tokenizer, settings):
            if _is_table_of_contents(doc.text[start:end]):
                continue
            # No splitting heading lies inside a span, so this is the span's heading, or the numbered
            # paragraph the piece starts in.
            number, title, path = section_at(every, max(start, span.heading_offset))
            first, last = doc.page_at(start), doc.page_at(end - 1)
            chunks.append(
                Chunk(
                    chunk_id=f"{doc.doc_id}#p{first}-c{len(chunks)}",
                    doc_id=doc.doc_id,
                    text=doc.text[start:end],
                    section=number,
                    section_title=title,
                    section_path=tuple(path),
                    first_page=first,
                    last_page=last,
                    start=start,
                    end=end,
                    paragraphs=tuple((h.start - start, h.number) for h in paragraphs if start < h.start < end),
                )
            )
    return chunks


def embedding_text(chunk: Chunk, record: DocumentRecord, tokenizer: Tokenizer, max_tokens: int) -> str:
    """The chunk with its document and section named first: titles carry words the body omits."""
    budget = max_tokens - SPECIAL_TOKENS - tokenizer.count_tokens(chunk.text)
    words = f"{record.reference or record.title} {chunk.section} {chunk.section_title}".split()
    while words and tokenizer.count_tokens(" ".join(words)) + 1 > budget:
        words.pop()
    return f"{' '.join(words)}\n{chunk.text}" if words else chunk.text


def _is_table_of_contents(text: str) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    return bool(lines) and sum(bool(_DOT_LEADER.search(line)) for line in lines) > len(lines) / 2


def _splitter(tokenizer: Tokenizer, settings: ChunkingSettings):  # type: ignore[no-untyped-def]
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(
        chunk_size=settings.chunk_tokens - _heading_reserve(settings.chunk_tokens),
        chunk_overlap=settings.overlap_tokens,
        length_function=tokenizer.count_tokens,
        separators=_SEPARATORS,
        keep_separator="end",
        add_start_index=True,
    )


def _section_spans(doc: ParsedDocument, headings: Sequence[Heading], tokenizer: Tokenizer) -> Iterator[_Span]:
    starts = [0] + [h.start for h in headings if h.start > 0]
    bounds = list(zip(starts, starts[1:] + [len(doc.text)], strict=True))
    carry: int | None = None
    for i, (start, end) in enumerate(bounds):
        span_start = start if carry is None else carry
        body = doc.text[start:end].split("\n", 1)[1] if "\n" in doc.text[start:end] else ""
        if i + 1 < len(bounds) and tokenizer.count_tokens(body) < _MIN_SECTION_TOKENS:
            carry = span_start
            continue
        carry = None
        if doc.text[span_start:end].strip():
            yield _Span(span_start, end, start)


def _split_span(text: str, span: _Span, splitter, tokenizer: Tokenizer, settings: ChunkingSettings):  # type: ignore[no-untyped-def]
    section_text = text[span.start : span.end]
    cursor, pieces = 0, list[tuple[int, int]]()
    for piece in splitter.create_documents([section_text]):
        content = piece.page_content
        offset = piece.metadata.get("start_index", -1)
        if section_text[offset : offset + len(content)] != content:
            offset = section_text.find(content, cursor)
        cursor = max(cursor, offset)
        start = span.start + offset
        target = settings.chunk_tokens - _heading_reserve(settings.chunk_tokens)
        pieces += _fit(text, start, start + len(content), tokenizer, target)
    return _absorb_small(pieces, text, tokenizer, settings.chunk_tokens)


def _absorb_small(pieces: list[tuple[int, int]], text: str, tokenizer: Tokenizer, limit: int) -> list[tuple[int, int]]:
    """A heading the splitter left on its own ("1. INTRODUCTION") joins the piece after it, or before it."""
    merged: list[tuple[int, int]] = []
    pending: tuple[int, int] | None = None
    for start, end in pieces:
        if pending is not None:
            if tokenizer.count_tokens(text[pending[0] : end]) <= limit:
                start = pending[0]
            else:
                merged.append(pending)
            pending = None
        if tokenizer.count_tokens(text[start:end]) < _MIN_CHUNK_TOKENS:
            pending = (start, end)
        else:
            merged.append((start, end))
    if pending is not None:
        if merged and tokenizer.count_tokens(text[merged[-1][0] : pending[1]]) <= limit:
            merged[-1] = (merged[-1][0], pending[1])
        else:
            merged.append(pending)
    return merged


def _fit(text: str, start: int, end: int, tokenizer: Tokenizer, limit: int) -> Iterator[tuple[int, int]]:
    """The splitter sums piece lengths, which can overshoot by a piece or two; halve until it fits."""
    if tokenizer.count_tokens(text[start:end]) <= limit:
        yield start, end
        return
    middle = text.rfind(" ", start, (start + end) // 2 + 1)
    middle = middle if middle > start else (start + end) // 2
    yield from _fit(text, start, middle, tokenizer, limit)
    yield from _fit(text, middle + 1 if text[middle] == " " else middle, end, tokenizer, limit)
