"""Read a PDF into a `ParsedDocument` of cleaned page texts. The only module that imports pypdf.

pypdf has two text extractors and each fails on part of this corpus: the default one splits words
inside ICH documents ("li fecycle", "Gu ideline"), the layout one pads lines with spaces and, in
some FDA documents, inserts spaces inside words ("en titled", "particul arly"). Both are run on every
page; the page keeps the text with fewer split-word signatures, judged by the document's own
vocabulary, and the remaining splits are repaired with that vocabulary.

Every pypdf failure is translated here into an `IngestError` naming the file, the reason and the fix.
"""

from __future__ import annotations

import logging
from io import BytesIO
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from ingest.clean import Vocabulary, build_vocabulary, clean_pages, count_split_signatures, repair_splits
from kb.errors import IngestError
from kb.models import ParsedDocument

__all__ = ["parse_pdf", "choose_extractions"]

_log = logging.getLogger(__name__)

# A PDF starts with "%PDF-" within its first 1,024 bytes and ends with "%%EOF"; a file cut short by a
# download loses the end marker (the corpus files carry it in their last 10 bytes). pypdf would
# rebuild a cut file's cross-reference table and quietly return the pages it could still find.
_HEADER_WINDOW_BYTES = 1024
_TRAILER_WINDOW_BYTES = 2048

# pypdf raises its own errors for most malformed files, and plain Python ones for the rest (a broken
# object table surfaces as KeyError or ValueError deep inside the parser).
_PYPDF_FAILURES = (PyPdfError, ValueError, KeyError, IndexError, TypeError, AttributeError, OSError, RecursionError)


class _PypdfToDebug(logging.Handler):
    """Re-log pypdf's records ("Rotated text discovered...") at DEBUG under this module's logger."""

    def emit(self, record: logging.LogRecord) -> None:
        _log.debug("%s: %s", record.name, record.getMessage())


def _route_pypdf_logs() -> None:
    """pypdf logs a warning for recoverable oddities in most FDA files; they are noise to a regkb user."""
    logger = logging.getLogger("pypdf")
    if not any(isinstance(h, _PypdfToDebug) for h in logger.handlers):
        logger.addHandler(_PypdfToDebug())
        logger.propagate = False


def parse_pdf(path: Path, doc_id: str) -> ParsedDocument:
    """Cleaned text of every page of the PDF at `path`; page i of the result is PDF page i+1.

    Raises IngestError for a missing, empty, non-PDF, truncated, corrupt, encrypted or image-only file.
    """
    _route_pypdf_logs()
    reader = _open(_read_pdf_bytes(path), path)
    plain, layout = _extract(reader, path)
    vocab = build_vocabulary(plain + layout)
    chosen = [repair_splits(text, vocab) for text in choose_extractions(plain, layout, vocab)]
    pages = clean_pages(chosen)
    if not any(page.strip() for page in pages):
        raise IngestError(path, "no extractable text", "scanned PDF? run OCR first")
    return ParsedDocument(doc_id=doc_id, pages=tuple(pages))


def _read_pdf_bytes(path: Path) -> bytes:
    """The file's bytes, refusing what pypdf would misreport: a missing or empty file, another
    format named .pdf, a download cut short."""
    if not path.is_file():
        raise IngestError(path, "file not found", "check the path in the manifest")
    data = path.read_bytes()
    if not data:
        raise IngestError(path, "empty file (0 bytes)", "download the document again")
    if b"%PDF-" not in data[:_HEADER_WINDOW_BYTES]:
        raise IngestError(path, "not a PDF (no %PDF header)", "replace it with the PDF of the document")
    if b"%%EOF" not in data[-_TRAILER_WINDOW_BYTES:]:
        raise IngestError(path, "truncated PDF (no %%EOF end marker)", "download the document again")
    return data


def _open(data: bytes, path: Path) -> PdfReader:
    try:
        reader = PdfReader(BytesIO(data))
        encrypted = reader.is_encrypted
    except _PYPDF_FAILURES as exc:
        raise IngestError(path, f"corrupt or truncated PDF ({exc})", "download the document again") from exc
    if encrypted:
        # pypdf opens some encrypted files with the empty user password, but the owner restricted
        # them and extraction from them is unreliable: refuse them all.
        raise IngestError(path, "encrypted PDF", "save an unencrypted copy")
    try:
        _ = len(reader.pages)  # reads the page tree, where a corrupt file usually fails
    except _PYPDF_FAILURES as exc:
        raise IngestError(path, f"corrupt or truncated PDF ({exc})", "download the document again") from exc
    return reader


def _extract(reader: PdfReader, path: Path) -> tuple[list[str], list[str]]:
    """Raw text of every page in pypdf's default and layout modes."""
    plain, layout = [], []
    for number in range(1, len(reader.pages) + 1):
        try:
            page = reader.pages[number - 1]
            plain.append(page.extract_text() or "")
            layout.append(page.extract_text(extraction_mode="layout") or "")
        except _PYPDF_FAILURES as exc:
            raise IngestError(path, f"page {number} cannot be read ({exc})", "download the document again") from exc
    return plain, layout


def choose_extractions(plain: list[str], layout: list[str], vocab: Vocabulary) -> list[str]:
    """Per page, the extraction with fewer split-word signatures.

    On a tie the document's better mode wins, so pages stay alike: Part 11 numbers its lines at the
    start in layout mode but at the end in default mode, and the header/footer cleaner compares pages.
    """
    plain_splits = [count_split_signatures(text, vocab) for text in plain]
    layout_splits = [count_split_signatures(text, vocab) for text in layout]
    prefer_layout = sum(layout_splits) < sum(plain_splits)
    return [
        lay if n_lay < n_plain or (n_lay == n_plain and prefer_layout) else pla
        for pla, lay, n_plain, n_lay in zip(plain, layout, plain_splits, layout_splits, strict=True)
    ]
