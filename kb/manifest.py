"""Read and check the corpus manifest (corpus/manifest.yaml) into frozen `DocumentRecord`s.

Every problem becomes one `ManifestError` line that names the manifest, the entry and the field, and
says how to fix it. A `file` is always a path inside the corpus folder (REGKB_CORPUS_DIR): it is
checked as text when the manifest is read and again, after symlinks are resolved, when it is opened.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails

from kb.errors import ManifestError
from kb.models import DocType, DocumentRecord, Jurisdiction, Status
from kb.versions import with_version_notes

__all__ = ["load_manifest", "resolve_document_path", "MANIFEST_VERSION"]

MANIFEST_VERSION = 1
_ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")
_CHOICES = {"jurisdiction": Jurisdiction, "doc_type": DocType, "status": Status}


class _Entry(BaseModel):
    """The shape of one manifest entry; types and enums only, cross-field rules live in `_check_entry`."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: str
    title: str
    agency: str
    jurisdiction: Jurisdiction
    doc_type: DocType
    reference: str
    version: str
    status: Status
    url: str
    superseded_by: str | None = None
    will_replace: list[str] = []
    aliases: list[str] = []
    sha256: str | None = None
    file: str | None = None
    pages: int | None = None
    available_offline: bool = True
    notes: str = ""


def load_manifest(path: Path) -> list[DocumentRecord]:
    """All documents of the manifest at `path`, in file order; raises ManifestError on the first problem."""
    entries = _read_entries(path)
    records: list[DocumentRecord] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(entries, start=1):
        record = _to_record(path, index, raw)
        if record.id in seen:
            raise ManifestError(
                f"{path}: document '{record.id}' (entry {index}) repeats the id of entry {seen[record.id]}; "
                "give every document a unique id"
            )
        seen[record.id] = index
        records.append(record)
    problem = _check_relations(records)
    if problem:
        raise ManifestError(f"{path}: {problem}")
    return with_version_notes(records)


def _check_relations(records: list[DocumentRecord]) -> str | None:
    """Version relations name manifest ids: a successor or a replaced document that is not listed is a typo."""
    ids = {r.id for r in records}
    for record in records:
        named = [("superseded_by", record.superseded_by)] if record.superseded_by else []
        named += [("will_replace", target) for target in record.will_replace]
        for field, target in named:
            if target == record.id:
                return f"document '{record.id}': {field} names the document itself; name the other version's id"
            if target not in ids:
                return (
                    f"document '{record.id}': {field} names '{target}', which is not in the manifest; "
                    "use the id of a listed document (add an entry for it, with available_offline: false if need be)"
                )
    return None


def resolve_document_path(record: DocumentRecord, corpus_dir: Path) -> Path:
    """Absolute path of the record's file, guaranteed (after resolving symlinks) to lie inside `corpus_dir`."""
    if not record.file:
        raise ManifestError(
            f"document '{record.id}' has no file (available_offline: false); "
            "only documents with a file can be read from REGKB_CORPUS_DIR"
        )
    root = corpus_dir.expanduser().resolve()
    target = (root / record.file).resolve()
    if not target.is_relative_to(root):
        raise ManifestError(
            f"document '{record.id}': file '{record.file}' resolves to {target}, outside the corpus folder {root} "
            "(a symlink points out of it); keep the file inside REGKB_CORPUS_DIR"
        )
    return target


def _read_entries(path: Path) -> list[Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestError(
            f"{path}: cannot read the manifest ({exc.strerror or exc}); check REGKB_MANIFEST_PATH"
        ) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise ManifestError(f"{path}: not valid YAML{line}; fix the syntax") from exc
    if not isinstance(data, dict) or not isinstance(data.get("documents"), list):
        raise ManifestError(
            f"{path}: expected a mapping with a 'documents' list; see the header of corpus/manifest.yaml"
        )
    if data.get("version") != MANIFEST_VERSION:
        raise ManifestError(
            f"{path}: manifest version {data.get('version')!r} is not supported; set 'version: {MANIFEST_VERSION}'"
        )
    return data["documents"]


def _to_record(path: Path, index: int, raw: Any) -> DocumentRecord:
    label = _label(index, raw)
    if not isinstance(raw, dict):
        raise ManifestError(f"{path}: document {label} is not a mapping of fields; write it as 'key: value' lines")
    try:
        entry = _Entry.model_validate(raw)
    except ValidationError as exc:
        raise ManifestError(f"{path}: document {label}: {_describe(exc.errors()[0])}") from exc
    problem = _check_entry(entry)
    if problem:
        raise ManifestError(f"{path}: document {label}: {problem}")
    fields = entry.model_dump()
    fields["will_replace"] = tuple(fields["will_replace"])
    fields["aliases"] = tuple(fields["aliases"])
    return DocumentRecord(**fields)


def _label(index: int, raw: Any) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str) and raw["id"]:
        return f"'{raw['id']}'"
    return f"#{index}"


def _describe(error: ErrorDetails) -> str:
    field = ".".join(str(part) for part in error["loc"]) or "entry"
    kind = error["type"]
    if kind == "missing":
        return f"field '{field}' is missing; add it"
    if kind == "extra_forbidden":
        return f"unknown field '{field}'; remove it or fix its spelling"
    if kind == "string_type":
        return f"field '{field}' must be text (got {error['input']!r}); put the value in quotes"
    if kind == "literal_error" and field in _CHOICES:
        choices = ", ".join(get_args(_CHOICES[field]))
        return f"{field} '{error['input']}' is not allowed; use one of: {choices}"
    return f"field '{field}' {error['msg'].lower()} (got {error['input']!r}); fix the value"


def _check_entry(entry: _Entry) -> str | None:
    """The first rule the entry breaks, as 'problem; fix', or None."""
    checks = (_check_id, _check_file, _check_offline, _check_sha256, _check_superseded, _check_url, _check_pages)
    for check in checks:
        problem = check(entry)
        if problem:
            return problem
    return None


def _check_id(entry: _Entry) -> str | None:
    if _ID_PATTERN.match(entry.id):
        return None
    return f"id '{entry.id}' is not lowercase kebab-case; use letters, digits and single hyphens (e.g. ich-q10-2008)"


def _check_file(entry: _Entry) -> str | None:
    if entry.file is None:
        return None
    name = entry.file
    if not name.strip():
        return "file is empty; give a path inside REGKB_CORPUS_DIR or null"
    if PurePosixPath(name).is_absolute() or PureWindowsPath(name).is_absolute() or PureWindowsPath(name).drive:
        return f"file '{name}' is an absolute path; give a path relative to REGKB_CORPUS_DIR"
    normalised = posixpath.normpath(name.replace("\\", "/"))
    if normalised == ".." or normalised.startswith("../"):
        return f"file '{name}' escapes the corpus folder; give a path inside REGKB_CORPUS_DIR"
    if normalised == ".":
        return f"file '{name}' names the corpus folder itself; give the path of a file inside it"
    return None


def _check_offline(entry: _Entry) -> str | None:
    if entry.available_offline and entry.file is None:
        return (
            "available_offline is true but file is missing; set file to its path inside REGKB_CORPUS_DIR "
            "or set available_offline: false"
        )
    return None


def _check_sha256(entry: _Entry) -> str | None:
    if entry.sha256 is not None and not _SHA256_PATTERN.match(entry.sha256):
        return f"sha256 '{entry.sha256}' is not 64 lowercase hex characters; paste the output of `sha256sum`"
    if entry.available_offline and entry.sha256 is None:
        return "sha256 is missing for an offline document; add it so fetch and ingest can verify the file"
    return None


def _check_superseded(entry: _Entry) -> str | None:
    if entry.status == "superseded" and not (entry.superseded_by or "").strip():
        return "status is superseded but superseded_by is empty; give the id of the document that replaces it"
    if entry.status != "superseded" and entry.superseded_by:
        return f"superseded_by is set but status is {entry.status}; set status: superseded or remove superseded_by"
    if entry.will_replace and entry.status != "draft":
        return (
            f"will_replace is set but status is {entry.status}; only a draft records what it will replace "
            "(a final successor is named by the older document's superseded_by)"
        )
    return None


def _check_url(entry: _Entry) -> str | None:
    if entry.url.startswith(("https://", "http://")):
        return None
    if not entry.url and entry.jurisdiction == "internal":
        return None
    return f"url '{entry.url}' is not a web address; give the official https:// address"


def _check_pages(entry: _Entry) -> str | None:
    if entry.pages is not None and entry.pages < 1:
        return f"pages {entry.pages} is not a page count; give the number of pages of the file or null"
    return None
