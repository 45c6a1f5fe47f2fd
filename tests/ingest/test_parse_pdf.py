"""PDF parsing: extraction choice, error translation, and the real corpus."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from pypdf import PdfWriter

from ingest.clean import build_vocabulary
from ingest.parse_pdf import choose_extractions, parse_pdf
from kb.errors import IngestError
from kb.models import ParsedDocument

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
PROCESS_VALIDATION = CORPUS / "fda" / "fda-process-validation-general-principles-2011.pdf"


def _manifest() -> list[dict[str, str]]:
    with (CORPUS / "manifest.tsv").open(newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def _text_pdf(pages: list[str]) -> bytes:
    """A minimal valid PDF with one line of Helvetica text per page ("" gives a blank page)."""
    n = len(pages)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(n))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, text in enumerate(pages):
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode() if text else b""
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@pytest.fixture
def text_pdf(tmp_path: Path) -> Path:
    path = tmp_path / "guidance.pdf"
    path.write_bytes(_text_pdf(["Quality risk management", "", "Annex 1 Process validation"]))
    return path


# --- extraction choice (unit) ----------------------------------------------------------------------


@pytest.mark.unit
def test_choose_extractions_takes_the_mode_without_split_words() -> None:
    plain = ["the product li fecycle and the Gu ideline", "the lifecycle of the Guideline"]
    layout = ["the    product lifecycle and the    Guideline", "the en    titled lifecycle of the Guideline"]
    vocab = build_vocabulary(plain + layout + ["entitled"])
    assert choose_extractions(plain, layout, vocab) == [layout[0], plain[1]]


@pytest.mark.unit
def test_choose_extractions_breaks_a_tie_with_the_documents_better_mode() -> None:
    # Page 1 splits only in default mode, so layout wins the document; the tied page 2 follows it.
    plain = ["a li fecycle", "7 Part 11 text 8"]
    layout = ["a lifecycle", "7   Part 11 text"]
    assert choose_extractions(plain, layout, build_vocabulary(plain + layout)) == layout


# --- parsing and errors (unit, on generated PDFs) --------------------------------------------------


@pytest.mark.unit
def test_parse_pdf_keeps_blank_pages_so_page_numbers_stay_right(text_pdf: Path) -> None:
    doc = parse_pdf(text_pdf, "demo")
    assert doc == ParsedDocument(doc_id="demo", pages=("Quality risk management", "", "Annex 1 Process validation"))
    assert doc.page_at(doc.text.index("Annex 1")) == 3


def _assert_ingest_error(path: Path, reason: str) -> IngestError:
    with pytest.raises(IngestError) as info:
        parse_pdf(path, "bad")
    assert info.value.path == str(path)
    assert info.value.reason.startswith(reason)
    assert str(info.value).startswith(f"{path}: {reason}")
    return info.value


@pytest.mark.unit
def test_text_file_named_pdf_is_not_a_pdf(tmp_path: Path) -> None:
    path = tmp_path / "notes.pdf"
    path.write_text("Process validation notes, not a PDF\n")
    _assert_ingest_error(path, "not a PDF")


@pytest.mark.unit
def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    _assert_ingest_error(path, "empty file (0 bytes)")


@pytest.mark.unit
def test_missing_file(tmp_path: Path) -> None:
    _assert_ingest_error(tmp_path / "absent.pdf", "file not found")


@pytest.mark.unit
def test_encrypted_pdf_is_refused_even_with_an_empty_user_password(text_pdf: Path, tmp_path: Path) -> None:
    for user_password in ("", "secret"):
        writer = PdfWriter(clone_from=text_pdf)
        writer.encrypt(user_password=user_password, owner_password="owner")
        path = tmp_path / f"encrypted-{len(user_password)}.pdf"
        writer.write(path)
        error = _assert_ingest_error(path, "encrypted PDF")
        assert error.fix == "save an unencrypted copy"


@pytest.mark.unit
def test_image_only_pdf_has_no_extractable_text(tmp_path: Path) -> None:
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    writer.add_blank_page(width=612, height=792)
    path = tmp_path / "scanned.pdf"
    writer.write(path)
    error = _assert_ingest_error(path, "no extractable text")
    assert str(error) == f"{path}: no extractable text (scanned PDF? run OCR first)"


@pytest.mark.unit
def test_corrupt_pdf_translates_the_pypdf_error(text_pdf: Path, tmp_path: Path) -> None:
    data = text_pdf.read_bytes()
    path = tmp_path / "corrupt.pdf"
    path.write_bytes(data[:9] + b"\0" * (len(data) - 60) + data[-51:])  # header and trailer survive
    _assert_ingest_error(path, "corrupt or truncated PDF")


# --- the real corpus (integration) -----------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus() -> dict[str, ParsedDocument]:
    """Every document parsed, in worker processes as `regkb ingest` does (pypdf is single-threaded)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    rows = _manifest()
    with ProcessPoolExecutor(mp_context=multiprocessing.get_context("spawn")) as pool:
        parsed = pool.map(parse_pdf, [CORPUS / row["path"] for row in rows], [row["id"] for row in rows])
        return {row["id"]: doc for row, doc in zip(rows, parsed, strict=True)}


@pytest.mark.integration
def test_every_document_parses_with_one_entry_per_pdf_page(corpus: dict[str, ParsedDocument]) -> None:
    rows = _manifest()
    assert len(rows) == 37
    assert {row["id"]: len(corpus[row["id"]].pages) for row in rows} == {row["id"]: int(row["pages"]) for row in rows}
    empty = {doc_id: [n for n, page in enumerate(doc.pages, start=1) if not page] for doc_id, doc in corpus.items()}
    # blank pages in the PDFs (Q12's and its Annexes' page 3 hold only the running header and page
    # number), and the last 10 pages of Q6A: decision-tree images (page 25 has their title)
    assert {doc_id: pages for doc_id, pages in empty.items() if pages} == {
        "ich-q1a-r2-2003": [4],
        "ich-e6r2-2016": [6],
        "ich-q6a-1999": list(range(26, 36)),
        "ich-q5d-1997": [4],
        "ich-q5e-2004": [4],
        "ich-q12-2019": [3],
        "ich-q12-annexes-2019": [3],
        "ich-q4b-annex8-r1-2010": [4],
    }


@pytest.mark.integration
@pytest.mark.parametrize("split", ["li fecycle", "Gu ideline", "addre ss", "particul arly", "en titled"])
def test_no_document_keeps_known_split_words(corpus: dict[str, ParsedDocument], split: str) -> None:
    assert [doc_id for doc_id, doc in corpus.items() if re.search(rf"\b{split}\b", doc.text)] == []


@pytest.mark.integration
def test_process_validation_page_6_reads_whole_words(corpus: dict[str, ParsedDocument]) -> None:
    page = corpus["fda-process-validation-2011"].pages[5]
    assert "initiative entitled “Pharmaceutical" in page
    assert "particularly with regard to the use of" in page


@pytest.mark.integration
def test_q10_reads_whole_words_and_keeps_page_numbers(corpus: dict[str, ParsedDocument]) -> None:
    doc = corpus["ich-q10-2008"]
    assert "The regional GMPs do not explicitly address all stages of the product lifecycle" in doc.pages[5]
    assert doc.page_at(doc.text.index("1.3 Relationship of ICH Q10 to Regional GMP Requirements, ISO\n")) == 6


def _longest_counting_run(page: str) -> int:
    """Most consecutive numbered lines counting up by one ("16 I. INTRODUCTION", "17", "18 This ...")."""
    longest = current = 0
    previous = None
    for line in page.splitlines():
        match = re.match(r"(\d+)(\s|$)", line)
        number = int(match.group(1)) if match else None
        current = current + 1 if number is not None and previous is not None and number == previous + 1 else 1
        longest, previous = max(longest, current if number is not None else 0), number
    return longest


@pytest.mark.integration
@pytest.mark.parametrize("doc_id", ["fda-part11-2003", "fda-bimo-inspections-draft-2024"])
def test_line_numbers_are_stripped(corpus: dict[str, ParsedDocument], doc_id: str) -> None:
    doc = corpus[doc_id]
    assert max(_longest_counting_run(page) for page in doc.pages) <= 5  # footnotes 1-5 on one page at most
    assert "\nI. INTRODUCTION\n" in doc.text
    # numbered blank lines ("289", "320") are gone; the page numbers of these documents are 16 at most
    assert [line for line in doc.text.splitlines() if line.isdigit() and int(line) > 16] == []


@pytest.mark.integration
def test_part11_text_starts_lines_with_words(corpus: dict[str, ParsedDocument]) -> None:
    page = corpus["fda-part11-2003"].pages[3]
    assert page.splitlines()[:3] == [
        "Guidance for Industry1",
        "Part 11, Electronic Records; Electronic Signatures —",
        "Scope and Application",
    ]
    assert "\nThis guidance is intended to describe the Food and Drug Administration's (FDA’s) current\n" in page


@pytest.mark.integration
def test_bimo_resource_guide_continues_the_line_numbering(corpus: dict[str, ParsedDocument]) -> None:
    # the table page numbers only "318 RESOURCE GUIDE" and "319", after 317 on the page before
    assert "RESOURCE GUIDE" in corpus["fda-bimo-inspections-draft-2024"].pages[14].splitlines()


@pytest.mark.integration
def test_running_headers_and_page_numbers_are_removed(corpus: dict[str, ParsedDocument]) -> None:
    fda = [doc_id for doc_id in corpus if doc_id.startswith("fda-")]
    assert [doc_id for doc_id in fda if "Contains Nonbinding Recommendations" in corpus[doc_id].text] == []
    q10_pages = corpus["ich-q10-2008"].pages
    assert [i for i, page in enumerate(q10_pages) if page.startswith("Pharmaceutical Quality System")] == []
    # Page 6 ends on its last text line: the header above and the page number "2" below are gone.
    assert (q10_pages[5].splitlines()[0], q10_pages[5].splitlines()[-1]) == (
        "• Commercial Manufacturing:",
        "filings) and other internal and external customers.",
    )


@pytest.mark.integration
def test_truncated_real_pdf(tmp_path: Path) -> None:
    data = PROCESS_VALIDATION.read_bytes()
    path = tmp_path / "process-validation-half.pdf"
    path.write_bytes(data[: len(data) // 2])
    _assert_ingest_error(path, "truncated PDF")


@pytest.mark.integration
def test_encrypted_real_pdf(tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=PROCESS_VALIDATION)
    writer.encrypt(user_password="", owner_password="owner")
    path = tmp_path / "process-validation-encrypted.pdf"
    writer.write(path)
    _assert_ingest_error(path, "encrypted PDF")
