"""The corpus manifest: the real one is complete and consistent; broken ones fail with a useful line."""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from kb.errors import ConfigError, ManifestError
from kb.manifest import load_manifest, resolve_document_path
from kb.models import DocumentRecord

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "corpus" / "manifest.yaml"
SHARED_CORPUS = REPO.parent / "shared" / "corpus"
STAGING_TSV = SHARED_CORPUS / "manifest.tsv"
# ecfr.gov: the official electronic Code of Federal Regulations
OFFICIAL_DOMAINS = (
    "ema.europa.eu",
    "health.ec.europa.eu",
    "eur-lex.europa.eu",
    "fda.gov",
    "nih.gov",
    "ecfr.gov",
    "ich.org",
)

pytestmark = pytest.mark.unit

needs_shared_corpus = pytest.mark.skipif(not STAGING_TSV.is_file(), reason="../shared/corpus is not present")


def _staging_rows() -> dict[str, dict[str, str]]:
    with STAGING_TSV.open(encoding="utf-8", newline="") as handle:
        return {row["id"]: row for row in csv.DictReader(handle, delimiter="\t")}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _entry(**overrides: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "id": "doc-a",
        "title": "A guideline",
        "agency": "EMA (CAT)",
        "jurisdiction": "EU",
        "doc_type": "guideline",
        "reference": "EMA/CAT/1/2020",
        "version": "2020",
        "status": "final",
        "superseded_by": None,
        "url": "https://www.ema.europa.eu/en/a",
        "sha256": "a" * 64,
        "file": "ema/a.pdf",
        "pages": 3,
        "available_offline": True,
        "notes": "",
    }
    entry.update(overrides)
    return {k: v for k, v in entry.items() if v is not _DROP}


_DROP = object()


def _write(tmp_path: Path, *entries: dict[str, object], version: int = 1) -> Path:
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump({"version": version, "documents": list(entries)}), encoding="utf-8")
    return path


def _record(**overrides: object) -> DocumentRecord:
    base = DocumentRecord(
        id="doc-a",
        title="A",
        agency="ICH",
        jurisdiction="ICH",
        doc_type="guideline",
        reference="ICH A",
        version="2020",
        status="final",
        url="https://database.ich.org/a.pdf",
        sha256="a" * 64,
        file="ich/a.pdf",
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


# --- the real manifest -------------------------------------------------------------------------


def test_real_manifest_loads_with_unique_ids() -> None:
    records = load_manifest(MANIFEST)
    ids = [r.id for r in records]
    assert len(ids) == len(set(ids))
    assert len(records) >= 18 + 26


@needs_shared_corpus
def test_real_manifest_lists_every_staged_document_with_its_file_and_checksum() -> None:
    records = {r.id: r for r in load_manifest(MANIFEST)}
    rows = _staging_rows()
    assert len(rows) == 37
    for doc_id, row in rows.items():
        record = records[doc_id]
        assert (record.file, record.sha256, record.pages) == (row["path"], row["sha256"], int(row["pages"]))
        assert record.available_offline is True
        assert record.title == row["title"]
        expected = {"ich": "ICH", "fda": "US", "ec": "EU"}[row["path"].split("/")[0]]
        assert record.jurisdiction == expected, doc_id
        assert record.status == row["status"], doc_id


@needs_shared_corpus
def test_every_offline_file_in_the_shared_corpus_matches_its_checksum() -> None:
    offline = [r for r in load_manifest(MANIFEST) if r.available_offline]
    assert len(offline) == 37
    for record in offline:
        path = resolve_document_path(record, SHARED_CORPUS)
        assert path.is_file(), record.id
        assert _sha256(path) == record.sha256, record.id


def test_not_offline_entries_have_no_file_and_an_official_https_url() -> None:
    reference_only = [r for r in load_manifest(MANIFEST) if not r.available_offline]
    assert len(reference_only) >= 26
    for record in reference_only:
        assert (record.file, record.sha256, record.pages) == (None, None, None), record.id
        url = urlparse(record.url)
        assert url.scheme == "https", record.id
        host = url.hostname or ""
        assert any(host == d or host.endswith("." + d) for d in OFFICIAL_DOMAINS), (record.id, host)


def test_real_manifest_marks_the_known_replacements() -> None:
    records = {r.id: r for r in load_manifest(MANIFEST)}
    replaced = {r.id: r.superseded_by for r in records.values() if r.status == "superseded"}
    assert replaced == {
        "ich-q9-2005": "ich-q9-r1-2023",
        "ich-q3c-r8-2021": "ich-q3c-r9-2024",
        "ich-e6r2-2016": "ich-e6r3-2025",
    }
    assert records["ich-e6r3-2025"].available_offline is False
    drafts = {r.id: r.will_replace for r in records.values() if r.status == "draft" and r.available_offline}
    assert drafts == {
        "ich-q1-draft-2025": ("ich-q1a-r2-2003", "ich-q5c-1995"),
        "ich-q3e-draft-2025": (),
        "fda-bimo-inspections-draft-2024": (),
    }
    # A draft does not demote what it will replace.
    assert (records["ich-q1a-r2-2003"].status, records["ich-q5c-1995"].status) == ("final", "final")
    eu_annexes = [r for r in records.values() if r.id.startswith("ec-eudralex-v4-annex")]
    assert sorted(r.id for r in eu_annexes) == [
        "ec-eudralex-v4-annex1-2022",
        "ec-eudralex-v4-annex11-2011",
        "ec-eudralex-v4-annex15-2015",
    ]
    assert {(r.jurisdiction, r.agency.split()[0], r.available_offline) for r in eu_annexes} == {
        ("EU", "European", True)
    }
    assert records["fda-cber-potency-assurance-draft-2023"].status == "draft"
    assert records["fda-cber-potency-tests-2011"].status == "final"
    assert "Potency Assurance" in records["fda-cber-potency-tests-2011"].notes
    assert records["fda-cpg-490-100-2004"].doc_type == "compliance_policy"
    assert records["eu-reg-1394-2007-atmp"].doc_type == "regulation"
    assert records["ema-cat-499821-2019-comparability-qa"].doc_type == "qa"
    assert records["ema-cat-600280-2010-classification-reflection"].doc_type == "reflection_paper"


def test_required_atmp_documents_are_listed() -> None:
    ids = {r.id for r in load_manifest(MANIFEST)}
    assert {
        "eudralex-v4-part4-atmp-gmp-2017",
        "ema-cat-22473-2025-investigational-atmp",
        "fda-cber-gt-cmc-ind-2020",
        "eu-reg-536-2014-ctr",
        "ec-gcp-atmp-2019",
        "fda-cber-genome-editing-2024",
    } <= ids


# --- error cases -------------------------------------------------------------------------------


def test_a_valid_entry_becomes_a_frozen_record(tmp_path: Path) -> None:
    [record] = load_manifest(_write(tmp_path, _entry()))
    assert record == DocumentRecord(**_entry())  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        record.id = "other"  # type: ignore[misc]


def test_duplicate_id_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, _entry(), _entry(file="ema/b.pdf"))
    with pytest.raises(ManifestError) as err:
        load_manifest(path)
    assert str(err.value) == (
        f"{path}: document 'doc-a' (entry 2) repeats the id of entry 1; give every document a unique id"
    )


def test_unknown_enum_value_names_the_allowed_ones(tmp_path: Path) -> None:
    path = _write(tmp_path, _entry(jurisdiction="EUR"))
    with pytest.raises(ManifestError) as err:
        load_manifest(path)
    assert (
        str(err.value)
        == f"{path}: document 'doc-a': jurisdiction 'EUR' is not allowed; use one of: EU, US, ICH, internal"
    )


def test_unknown_status_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="status 'withdrawn' is not allowed; use one of: final, draft, superseded"):
        load_manifest(_write(tmp_path, _entry(status="withdrawn")))


def test_file_escaping_the_corpus_folder_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, _entry(file="../x.pdf"))
    with pytest.raises(ManifestError) as err:
        load_manifest(path)
    assert str(err.value) == (
        f"{path}: document 'doc-a': file '../x.pdf' escapes the corpus folder; give a path inside REGKB_CORPUS_DIR"
    )


def test_file_escaping_after_normalisation_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="file 'ema/../../etc/passwd' escapes the corpus folder"):
        load_manifest(_write(tmp_path, _entry(file="ema/../../etc/passwd")))


@pytest.mark.parametrize("absolute", ["/etc/passwd", "C:\\corpus\\a.pdf"])
def test_absolute_file_is_rejected(tmp_path: Path, absolute: str) -> None:
    path = _write(tmp_path, _entry(file=absolute))
    with pytest.raises(ManifestError) as err:
        load_manifest(path)
    assert str(err.value) == (
        f"{path}: document 'doc-a': file '{absolute}' is an absolute path; give a path relative to REGKB_CORPUS_DIR"
    )


def test_offline_entry_without_file_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, _entry(file=_DROP))
    with pytest.raises(ManifestError) as err:
        load_manifest(path)
    assert str(err.value) == (
        f"{path}: document 'doc-a': available_offline is true but file is missing; "
        "set file to its path inside REGKB_CORPUS_DIR or set available_offline: false"
    )


def test_missing_required_field_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, _entry(title=_DROP))
    with pytest.raises(ManifestError) as err:
        load_manifest(path)
    assert str(err.value) == f"{path}: document 'doc-a': field 'title' is missing; add it"


def test_entry_without_id_is_named_by_its_position(tmp_path: Path) -> None:
    path = _write(tmp_path, _entry(), _entry(id=_DROP, file="ema/b.pdf"))
    with pytest.raises(ManifestError) as err:
        load_manifest(path)
    assert str(err.value) == f"{path}: document #2: field 'id' is missing; add it"


def test_unknown_field_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="unknown field 'sha'; remove it or fix its spelling"):
        load_manifest(_write(tmp_path, _entry(sha="x")))


def test_unquoted_number_for_a_text_field_says_to_quote_it(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="field 'version' must be text \\(got 2019\\); put the value in quotes"):
        load_manifest(_write(tmp_path, _entry(version=2019)))


def test_superseded_without_replacement_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="status is superseded but superseded_by is empty"):
        load_manifest(_write(tmp_path, _entry(status="superseded")))


def test_successor_must_be_a_listed_document(tmp_path: Path) -> None:
    old = _entry(id="doc-old", status="superseded", superseded_by="doc-nwe")
    with pytest.raises(ManifestError, match="'doc-old': superseded_by names 'doc-nwe', which is not in the manifest"):
        load_manifest(_write(tmp_path, old, _entry(id="doc-new", file="ema/b.pdf")))


def test_successor_that_is_listed_loads(tmp_path: Path) -> None:
    old = _entry(id="doc-old", status="superseded", superseded_by="doc-new")
    records = load_manifest(_write(tmp_path, old, _entry(id="doc-new", file="ema/b.pdf")))
    assert [(r.id, r.superseded_by) for r in records] == [("doc-old", "doc-new"), ("doc-new", None)]


def test_successor_on_a_current_document_is_rejected(tmp_path: Path) -> None:
    entries = (_entry(id="doc-old", superseded_by="doc-new"), _entry(id="doc-new", file="ema/b.pdf"))
    with pytest.raises(ManifestError, match="'doc-old': superseded_by is set but status is final"):
        load_manifest(_write(tmp_path, *entries))


def test_draft_names_what_it_will_replace(tmp_path: Path) -> None:
    draft = _entry(id="doc-draft", status="draft", will_replace=["doc-a"], file="ema/b.pdf")
    records = {r.id: r for r in load_manifest(_write(tmp_path, _entry(), draft))}
    assert records["doc-draft"].will_replace == ("doc-a",)
    assert records["doc-a"].status == "final"


def test_draft_replacing_an_unlisted_document_is_rejected(tmp_path: Path) -> None:
    draft = _entry(id="doc-draft", status="draft", will_replace=["doc-zzz"])
    with pytest.raises(ManifestError, match="'doc-draft': will_replace names 'doc-zzz', which is not in the manifest"):
        load_manifest(_write(tmp_path, draft))


def test_will_replace_on_a_final_document_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="will_replace is set but status is final"):
        load_manifest(_write(tmp_path, _entry(id="doc-b", will_replace=["doc-a"]), _entry(file="ema/b.pdf")))


def test_a_document_cannot_replace_itself(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="superseded_by names the document itself"):
        load_manifest(_write(tmp_path, _entry(status="superseded", superseded_by="doc-a")))


def test_malformed_sha256_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="sha256 'ABC' is not 64 lowercase hex characters"):
        load_manifest(_write(tmp_path, _entry(sha256="ABC")))


def test_id_must_be_kebab_case(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="id 'Doc_A' is not lowercase kebab-case"):
        load_manifest(_write(tmp_path, _entry(id="Doc_A")))


def test_reference_only_entry_needs_no_file(tmp_path: Path) -> None:
    entry = _entry(available_offline=False, file=None, sha256=None, pages=None)
    [record] = load_manifest(_write(tmp_path, entry))
    assert (record.available_offline, record.file) == (False, None)


def test_wrong_manifest_version_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="manifest version 2 is not supported; set 'version: 1'"):
        load_manifest(_write(tmp_path, _entry(), version=2))
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\ndocuments: [\n", encoding="utf-8")
    with pytest.raises(ManifestError, match="not valid YAML"):
        load_manifest(broken)


def test_missing_manifest_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the manifest"):
        load_manifest(tmp_path / "absent.yaml")


# --- resolve_document_path ---------------------------------------------------------------------


def test_resolve_document_path_is_absolute_inside_the_corpus(tmp_path: Path) -> None:
    assert resolve_document_path(_record(), tmp_path) == tmp_path.resolve() / "ich" / "a.pdf"


def test_resolve_document_path_refuses_a_symlink_out_of_the_corpus(tmp_path: Path) -> None:
    corpus, outside = tmp_path / "corpus", tmp_path / "outside"
    corpus.mkdir()
    outside.mkdir()
    os.symlink(outside, corpus / "ich")
    with pytest.raises(ManifestError, match="outside the corpus folder"):
        resolve_document_path(_record(), corpus)


def test_resolve_document_path_needs_a_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="document 'doc-a' has no file"):
        resolve_document_path(_record(file=None, available_offline=False), tmp_path)
