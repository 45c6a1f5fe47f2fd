"""Quote fidelity checked without regkb's own text: a quote against the PDF page as pypdf reads it.

regkb verifies every quote against the page text its ingest stored (cleaned: hyphenation joined, line
numbers dropped). This check trusts none of that: it reads the cited pages of the PDF again with pypdf,
in its plain and its layout mode, and looks for the quote's letters and digits in order, so a reviewer
opening the page finds the words where the citation says. Used by the integration tests and by
`scripts/pdf_fidelity.py`.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from pypdf import PdfReader

__all__ = ["on_pdf_pages"]

_LINE_NUMBERS = re.compile(r"(?m)^\s*\d{1,4}\s|\s\d{1,4}\s*$")  # the ICH Step 2 drafts number their lines


def on_pdf_pages(quote: str, pdf: Path, pages: tuple[int, ...]) -> bool:
    """Whether the quote is on the cited 1-based pages of `pdf`. A quote over a page break must start on the
    first page and end on the second; the running header between them is page furniture, not quote."""
    wanted = _squeezed(quote)
    for mode, numbered in (("plain", False), ("plain", True), ("layout", False), ("layout", True)):
        texts = [_page(pdf, page, mode, numbered) for page in pages]
        if len(texts) == 1 and wanted in texts[0]:
            return True
        if len(texts) == 2 and any(
            texts[0].endswith(wanted[:cut]) and texts[1].find(wanted[cut:]) >= 0 for cut in range(1, len(wanted))
        ):
            return True
    return False


@cache
def _page(pdf: Path, page: int, mode: str, numbered: bool) -> str:
    """The page's letters and digits; `numbered` drops a number opening or closing a line first (the
    margin line numbers of the ICH Step 2 drafts; a footnote mark at a line end goes with them)."""
    text = _reader(pdf).pages[page - 1].extract_text(extraction_mode=mode)
    return _squeezed(_LINE_NUMBERS.sub(" ", text) if numbered else text)


@cache
def _reader(pdf: Path) -> PdfReader:
    return PdfReader(pdf)


def _squeezed(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())
