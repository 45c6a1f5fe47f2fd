"""Fill the corpus folder with the manifest's offline documents, each checked against its sha256.

A document already present with the right checksum is left alone. Otherwise it is copied from a
mirror folder (e.g. ../shared/corpus) or downloaded from its URL. Every copy or download goes to a
temporary file in the target folder and is moved into place with `os.replace` only after its checksum
matches, so an interrupted run never leaves a partial or wrong file under the real name. A failure is
one `failed` result with a reason; the other documents go on.

httpx is used only here; its errors become `IngestError` at `http_downloader`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import httpx

from kb.errors import IngestError, ManifestError
from kb.manifest import resolve_document_path
from kb.models import DocumentRecord

__all__ = [
    "fetch_corpus",
    "http_downloader",
    "file_sha256",
    "FetchReport",
    "FetchResult",
    "Outcome",
    "Downloader",
]

Outcome = Literal["present", "copied", "downloaded", "failed", "not_offline"]
Downloader = Callable[[str, Path], None]
"""Writes the resource at a URL to a local path; raises on any failure."""

_CHUNK_BYTES = 1 << 20
_USER_AGENT = "regkb/0.1 (corpus fetch)"


@dataclass(frozen=True)
class FetchResult:
    doc_id: str
    outcome: Outcome
    path: Path | None  # where the document lives (or would live) in the corpus folder
    reason: str = ""  # why it failed, or for not_offline where to read it
    url: str = ""


@dataclass(frozen=True)
class FetchReport:
    results: tuple[FetchResult, ...]

    @property
    def counts(self) -> dict[str, int]:
        """Number of results per outcome, every outcome listed, in a fixed order."""
        return {outcome: sum(r.outcome == outcome for r in self.results) for outcome in get_args(Outcome)}

    @property
    def present(self) -> int:
        return self.counts["present"]

    @property
    def copied(self) -> int:
        return self.counts["copied"]

    @property
    def downloaded(self) -> int:
        return self.counts["downloaded"]

    @property
    def failed(self) -> int:
        return self.counts["failed"]

    @property
    def not_offline(self) -> int:
        return self.counts["not_offline"]

    @property
    def ok(self) -> bool:
        """True when every offline document is now in the corpus folder with the right checksum."""
        return self.failed == 0


def fetch_corpus(
    records: Sequence[DocumentRecord],
    corpus_dir: Path,
    *,
    mirror: Path | None = None,
    download: Downloader | None = None,
    progress: bool = False,
) -> FetchReport:
    """Make every offline record's file present in `corpus_dir`; never raises for one document's failure."""
    downloader = download or http_downloader()
    results = []
    for n, record in enumerate(records, start=1):
        result = _fetch_one(record, corpus_dir, mirror, downloader)
        if progress:
            print(f"[{n}/{len(records)}] {result.outcome:11} {result.doc_id}", file=sys.stderr)
        results.append(result)
    return FetchReport(tuple(results))


def http_downloader(*, timeout_s: float = 60.0, transport: httpx.BaseTransport | None = None) -> Downloader:
    """A downloader over httpx that follows redirects; `transport` lets tests serve responses locally."""

    def download(url: str, dest: Path) -> None:
        try:
            with (
                httpx.Client(
                    timeout=timeout_s, follow_redirects=True, transport=transport, headers={"User-Agent": _USER_AGENT}
                ) as client,
                client.stream("GET", url) as response,
            ):
                response.raise_for_status()
                with dest.open("wb") as out:
                    for chunk in response.iter_bytes(_CHUNK_BYTES):
                        out.write(chunk)
        except httpx.HTTPStatusError as exc:
            raise IngestError(url, f"download failed with HTTP {exc.response.status_code}", "check the URL") from exc
        except httpx.HTTPError as exc:
            reason = f"download failed ({type(exc).__name__}: {exc})"
            raise IngestError(url, reason, "check the network, or pass --mirror") from exc

    return download


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch_one(record: DocumentRecord, corpus_dir: Path, mirror: Path | None, download: Downloader) -> FetchResult:
    if not record.available_offline:
        where = f"read it at {record.url}" if record.url else "no official URL recorded"
        return FetchResult(record.id, "not_offline", None, f"not available offline; {where}", record.url)
    try:
        target = resolve_document_path(record, corpus_dir)
    except ManifestError as exc:
        return _failed(record, None, str(exc))
    if not record.sha256:
        return _failed(record, target, "the manifest has no sha256 for it; add one so the file can be verified")
    if target.is_file() and file_sha256(target) == record.sha256:
        return FetchResult(record.id, "present", target, url=record.url)
    return _fill(record, target, mirror, download)


def _fill(record: DocumentRecord, target: Path, mirror: Path | None, download: Downloader) -> FetchResult:
    problems = []
    if target.exists():
        problems.append("the file in the corpus folder has another sha256")
    if mirror is not None:
        problem = _copy_from_mirror(record, mirror, target)
        if problem is None:
            return FetchResult(record.id, "copied", target, url=record.url)
        problems.append(f"mirror: {problem}")
    if record.url:
        problem = _download(record, target, download)
        if problem is None:
            return FetchResult(record.id, "downloaded", target, url=record.url)
        problems.append(f"download: {problem}")
    if mirror is None and not record.url:
        problems.append("no mirror given and no URL to download from")
    return _failed(record, target, "; ".join(problems))


def _copy_from_mirror(record: DocumentRecord, mirror: Path, target: Path) -> str | None:
    source = mirror / (record.file or "")
    if not source.is_file():
        return f"{source} not found"
    try:
        with _staged(target) as staging:
            shutil.copyfile(source, staging)
            return _install(staging, target, record.sha256)
    except OSError as exc:
        return f"cannot copy {source} ({exc.strerror or exc})"


def _download(record: DocumentRecord, target: Path, download: Downloader) -> str | None:
    try:
        with _staged(target) as staging:
            download(record.url, staging)
            return _install(staging, target, record.sha256)
    # The downloader is pluggable and may raise anything; one document's failure must not stop the rest.
    except Exception as exc:  # noqa: BLE001
        return str(exc) or type(exc).__name__


def _install(staging: Path, target: Path, expected: str | None) -> str | None:
    """Move `staging` onto `target` if its checksum is the expected one; else say why not."""
    actual = file_sha256(staging)
    if actual != expected:
        return f"sha256 {actual} differs from the manifest's {expected}"
    os.replace(staging, target)
    return None


@contextlib.contextmanager
def _staged(target: Path) -> Iterator[Path]:
    """A fresh temporary path next to `target` (same filesystem, so os.replace is atomic), removed afterwards."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(handle)
    staging = Path(name)
    try:
        yield staging
    finally:
        staging.unlink(missing_ok=True)


def _failed(record: DocumentRecord, path: Path | None, reason: str) -> FetchResult:
    return FetchResult(record.id, "failed", path, reason, record.url)
