"""The `regkb` command over the real index: JSON shapes, --jsonl, exit statuses, one-line errors."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import yaml
from typer.testing import CliRunner

from api.cli import EXIT_SKIPPED, app
from ingest.fetch import file_sha256
from tests.conftest import SHARED_CORPUS
from tests.fakes import manifest_entry

pytestmark = pytest.mark.integration

runner = CliRunner()

CITATION_KEYS = {
    "marker",
    "doc_id",
    "title",
    "reference",
    "agency",
    "status",
    "section",
    "section_title",
    "pages",
    "quote",
    "url",
    "score",
}


def test_ask_json_has_the_documented_fields(regkb_env):
    result = runner.invoke(app, ["ask", "What are the three stages of process validation?", "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert {"question", "status", "answer", "citations", "corpus_snapshot", "timings_ms"} <= set(answer)
    assert answer["status"] == "answered" and re.search(r"\[1\]", answer["answer"])
    assert set(answer["citations"][0]) >= CITATION_KEYS
    assert answer["citations"][0]["url"].endswith("#page=7")


def test_ask_jsonl_answers_line_by_line(regkb_env):
    questions = "What is a design space?\n\nWhat does EudraLex Part IV say about hospital exemption?\n"
    result = runner.invoke(app, ["ask", "--jsonl"], input=questions)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["status"] for a in lines] == ["answered", "no_evidence"]
    assert lines[0]["citations"][0]["doc_id"] == "ich-q8r2-2009"


def test_search_json_and_agency_filter(regkb_env):
    result = runner.invoke(app, ["search", "media fill aseptic", "--json", "--k", "3", "--agency", "ich"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["query"] == "media fill aseptic" and len(payload["passages"]) == 3
    assert {"chunk_id", "doc_id", "section", "pages", "text", "score"} <= set(payload["passages"][0])
    assert all(p["doc_id"].startswith("ich-") for p in payload["passages"])


def test_unknown_doc_id_is_one_line_error(regkb_env):
    result = runner.invoke(app, ["ask", "anything", "--doc-id", "nope"])
    assert result.exit_code == 1
    assert "no indexed document has doc id 'nope'" in result.stderr and "Traceback" not in result.output


def test_docs_lists_present_and_not_offline(regkb_env):
    result = runner.invoke(app, ["docs", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["id"]: row for row in json.loads(result.stdout)}
    assert rows["ich-q10-2008"]["indexed"] and rows["ich-q10-2008"]["chunks"] > 0
    not_offline = [r for r in rows.values() if not r["available_offline"]]
    assert not_offline and all(not r["indexed"] and r["url"].startswith("https://") for r in not_offline)


def test_noop_reingest_exits_zero_and_writes_nothing(regkb_env):
    result = runner.invoke(app, ["ingest", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "0 added, 0 replaced, 0 removed, 51 unchanged, 0 skipped" in result.stdout  # 37 PDFs + 14 lessons


def test_ingest_reports_bad_files_and_exits_3(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copyfile(SHARED_CORPUS / "fda/fda-cpg-490-100-process-validation-2004.pdf", corpus / "good.pdf")
    (corpus / "notpdf.pdf").write_text("plain text, not a PDF")
    entries = [
        manifest_entry(doc_id, f"{name}.pdf", file_sha256(corpus / f"{name}.pdf"))
        for doc_id, name in (("good-doc", "good"), ("bad-doc", "notpdf"))
    ]
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(yaml.safe_dump({"version": 1, "documents": entries}))
    monkeypatch.setenv("REGKB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REGKB_CORPUS_DIR", str(corpus))
    monkeypatch.setenv("REGKB_LESSONS_DIR", str(tmp_path / "no-lessons"))
    monkeypatch.setenv("REGKB_MANIFEST_PATH", str(manifest))
    result = runner.invoke(app, ["ingest", "--quiet"])
    assert result.exit_code == EXIT_SKIPPED
    assert "skipped bad-doc" in result.stderr and "notpdf.pdf" in result.stderr
    assert "1 added" in result.stdout and "1 skipped" in result.stdout


def test_manifest_path_escaping_the_corpus_is_refused(tmp_path, monkeypatch):
    manifest = tmp_path / "manifest.yaml"
    entry = manifest_entry("evil", "../../etc/passwd", "0" * 64)
    manifest.write_text(yaml.safe_dump({"version": 1, "documents": [entry]}))
    monkeypatch.setenv("REGKB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REGKB_MANIFEST_PATH", str(manifest))
    result = runner.invoke(app, ["ingest", "--quiet"])
    assert result.exit_code == 1
    assert "escapes the corpus folder" in result.stderr


def test_corpus_fetch_from_the_mirror(tmp_path, monkeypatch):
    monkeypatch.setenv("REGKB_DATA_DIR", str(tmp_path / "data"))
    result = runner.invoke(app, ["corpus", "fetch", "--mirror", str(SHARED_CORPUS)])
    assert result.exit_code == 0, result.output
    assert "37 copied" in result.stdout and "not_offline" in result.stdout
    assert (tmp_path / "data" / "corpus" / "fda" / "fda-process-validation-general-principles-2011.pdf").is_file()
    again = runner.invoke(app, ["corpus", "fetch", "--mirror", str(SHARED_CORPUS)])
    assert "37 present" in again.stdout
