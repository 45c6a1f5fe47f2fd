"""fetch_corpus: present files are kept, mirrors and downloads are checked, failures never stop the rest."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

from ingest.fetch import FetchReport, FetchResult, fetch_corpus, http_downloader
from kb.errors import IngestError
from kb.models import DocumentRecord

pytestmark = pytest.mark.unit

GOOD = b"%PDF-1.4 good document\n"
OTHER = b"%PDF-1.4 another document\n"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _record(doc_id: str, content: bytes | None, *, url: str = "", offline: bool = True) -> DocumentRecord:
    return DocumentRecord(
        id=doc_id,
        title=doc_id,
        agency="FDA (CBER)",
        jurisdiction="US",
        doc_type="guidance",
        reference="Docket X",
        version="2024",
        status="final",
        url=url,
        sha256=_sha(content) if content is not None else None,
        file=f"fda/{doc_id}.pdf" if offline else None,
        available_offline=offline,
    )


def _put(root: Path, record: DocumentRecord, data: bytes) -> Path:
    path = root / (record.file or "")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _leftovers(corpus: Path) -> list[str]:
    return sorted(p.name for p in corpus.rglob("*.part"))


def _never_download(url: str, dest: Path) -> None:
    raise AssertionError(f"unexpected download of {url}")


def test_mirror_copy_with_matching_checksum(tmp_path: Path) -> None:
    corpus, mirror = tmp_path / "corpus", tmp_path / "mirror"
    record = _record("a", GOOD)
    _put(mirror, record, GOOD)
    report = fetch_corpus([record], corpus, mirror=mirror, download=_never_download)
    target = (corpus / "fda" / "a.pdf").resolve()
    assert report.results == (FetchResult("a", "copied", target),)
    assert target.read_bytes() == GOOD
    assert _leftovers(corpus) == []


def test_wrong_checksum_in_mirror_fails_without_partial_file_and_others_continue(tmp_path: Path) -> None:
    corpus, mirror = tmp_path / "corpus", tmp_path / "mirror"
    bad, good = _record("bad", GOOD), _record("good", OTHER)
    _put(mirror, bad, b"tampered")
    _put(mirror, good, OTHER)
    report = fetch_corpus([bad, good], corpus, mirror=mirror, download=_never_download)
    assert [r.outcome for r in report.results] == ["failed", "copied"]
    assert report.results[0].reason == f"mirror: sha256 {_sha(b'tampered')} differs from the manifest's {_sha(GOOD)}"
    assert not (corpus / "fda" / "bad.pdf").exists()
    assert (corpus / "fda" / "good.pdf").read_bytes() == OTHER
    assert _leftovers(corpus) == []
    assert (report.failed, report.copied, report.ok) == (1, 1, False)


def test_fake_downloader_fills_a_missing_file(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    record = _record("a", GOOD, url="https://www.fda.gov/media/1/download")
    calls: list[str] = []

    def download(url: str, dest: Path) -> None:
        calls.append(url)
        dest.write_bytes(GOOD)

    report = fetch_corpus([record], corpus, download=download)
    assert calls == ["https://www.fda.gov/media/1/download"]
    assert report.results[0].outcome == "downloaded"
    assert (corpus / "fda" / "a.pdf").read_bytes() == GOOD
    assert _leftovers(corpus) == []


def test_download_with_wrong_checksum_or_error_is_failed_and_leaves_nothing(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    html = _record("html", GOOD, url="https://www.fda.gov/landing-page")
    broken = _record("broken", OTHER, url="https://www.fda.gov/media/2/download")

    def download(url: str, dest: Path) -> None:
        if url.endswith("landing-page"):
            dest.write_bytes(b"<html>landing page</html>")
            return
        dest.write_bytes(b"half a fi")
        raise ConnectionError("connection reset")

    report = fetch_corpus([html, broken], corpus, download=download)
    assert [r.outcome for r in report.results] == ["failed", "failed"]
    assert report.results[0].reason.startswith("download: sha256 ")
    assert report.results[1].reason == "download: connection reset"
    assert list((corpus / "fda").iterdir()) == []


def test_mirror_miss_falls_back_to_download(tmp_path: Path) -> None:
    corpus, mirror = tmp_path / "corpus", tmp_path / "mirror"
    mirror.mkdir()
    record = _record("a", GOOD, url="https://example.org/a.pdf")
    report = fetch_corpus([record], corpus, mirror=mirror, download=lambda url, dest: dest.write_bytes(GOOD))
    assert report.results[0].outcome == "downloaded"


def test_no_source_at_all_is_a_failure_with_reason(tmp_path: Path) -> None:
    report = fetch_corpus([_record("a", GOOD)], tmp_path / "corpus", download=_never_download)
    assert report.results[0].outcome == "failed"
    assert report.results[0].reason == "no mirror given and no URL to download from"


def test_present_file_is_neither_copied_nor_downloaded(tmp_path: Path) -> None:
    corpus, mirror = tmp_path / "corpus", tmp_path / "mirror"
    record = _record("a", GOOD, url="https://www.fda.gov/media/1/download")
    existing = _put(corpus, record, GOOD)
    _put(mirror, record, b"would fail if it were copied")
    before = existing.stat().st_mtime_ns
    report = fetch_corpus([record], corpus, mirror=mirror, download=_never_download)
    assert report.results == (FetchResult("a", "present", existing.resolve(), url=record.url),)
    assert existing.stat().st_mtime_ns == before


def test_stale_file_in_corpus_is_replaced_from_the_mirror(tmp_path: Path) -> None:
    corpus, mirror = tmp_path / "corpus", tmp_path / "mirror"
    record = _record("a", GOOD)
    _put(corpus, record, b"old version")
    _put(mirror, record, GOOD)
    report = fetch_corpus([record], corpus, mirror=mirror, download=_never_download)
    assert report.results[0].outcome == "copied"
    assert (corpus / "fda" / "a.pdf").read_bytes() == GOOD


def test_not_offline_records_are_listed_with_their_url(tmp_path: Path) -> None:
    record = _record("ref", None, url="https://www.ema.europa.eu/en/x", offline=False)
    report = fetch_corpus([record], tmp_path / "corpus", download=_never_download)
    assert report.results == (
        FetchResult(
            "ref", "not_offline", None, "not available offline; read it at https://www.ema.europa.eu/en/x", record.url
        ),
    )
    assert not (tmp_path / "corpus").exists()


def test_report_counts_every_outcome(tmp_path: Path) -> None:
    corpus, mirror = tmp_path / "corpus", tmp_path / "mirror"
    present, copied, failed = _record("p", GOOD), _record("c", OTHER), _record("f", GOOD)
    ref = _record("r", None, url="https://www.fda.gov/x", offline=False)
    _put(corpus, present, GOOD)
    _put(mirror, copied, OTHER)
    report = fetch_corpus([present, copied, failed, ref], corpus, mirror=mirror, download=_never_download)
    assert report.counts == {"present": 1, "copied": 1, "downloaded": 0, "failed": 1, "not_offline": 1}
    assert (report.present, report.copied, report.downloaded, report.failed, report.not_offline) == (1, 1, 0, 1, 1)
    assert FetchReport(()).ok


def test_progress_lines_go_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = _record("r", None, url="https://www.fda.gov/x", offline=False)
    fetch_corpus([ref], tmp_path, download=_never_download, progress=True)
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "[1/1] not_offline r\n")


# --- the httpx downloader, served by a local transport ---------------------------------------


def _transport(status: int, body: bytes = b"") -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(status, content=body))


def test_http_downloader_writes_the_body(tmp_path: Path) -> None:
    dest = tmp_path / "a.pdf"
    http_downloader(transport=_transport(200, GOOD))("https://www.fda.gov/media/1/download", dest)
    assert dest.read_bytes() == GOOD


def test_http_downloader_follows_redirects(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old":
            return httpx.Response(302, headers={"Location": "https://www.fda.gov/new"})
        return httpx.Response(200, content=GOOD)

    dest = tmp_path / "a.pdf"
    http_downloader(transport=httpx.MockTransport(handler))("https://www.fda.gov/old", dest)
    assert dest.read_bytes() == GOOD


def test_http_downloader_translates_http_errors(tmp_path: Path) -> None:
    with pytest.raises(IngestError) as err:
        http_downloader(transport=_transport(404))("https://www.fda.gov/media/0/download", tmp_path / "a.pdf")
    assert str(err.value) == "https://www.fda.gov/media/0/download: download failed with HTTP 404 (check the URL)"


def test_http_downloader_translates_network_errors(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("name resolution failed", request=request)

    with pytest.raises(IngestError, match=r"download failed \(ConnectError: name resolution failed\)"):
        http_downloader(transport=httpx.MockTransport(handler))("https://www.fda.gov/x", tmp_path / "a.pdf")


def test_http_errors_become_failed_results_in_fetch(tmp_path: Path) -> None:
    record = _record("a", GOOD, url="https://www.fda.gov/media/0/download")
    report = fetch_corpus([record], tmp_path / "corpus", download=http_downloader(transport=_transport(500)))
    assert report.results[0].outcome == "failed"
    assert report.results[0].reason == (
        "download: https://www.fda.gov/media/0/download: download failed with HTTP 500 (check the URL)"
    )
    assert _leftovers(tmp_path / "corpus") == []
