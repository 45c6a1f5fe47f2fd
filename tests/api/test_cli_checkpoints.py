"""`regkb checkpoints` over the repo's own map: formats, filters, and one-line errors naming the choices."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from api.cli import app

pytestmark = pytest.mark.unit

runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_index(tmp_path, monkeypatch):
    monkeypatch.setenv("REGKB_DATA_DIR", str(tmp_path))  # no index: local quotes are shown as not checked


def test_csv_for_one_stage_and_jurisdiction():
    result = runner.invoke(app, ["checkpoints", "--jurisdiction", "US", "--stage", "first-in-human", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows and {r["jurisdiction"] for r in rows} == {"US"}
    assert "us-ind" in {r["checkpoint_id"] for r in rows}
    assert all(r["references"] for r in rows if r["checkpoint_id"] == "us-ind")


def test_markdown_progression_for_one_item():
    result = runner.invoke(app, ["checkpoints", "--item", "process-validation", "--format", "md"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith("# Maturity across checkpoints: Process validation")
    assert text.index("## European Union") < text.index("## United States")
    assert "not available offline; not checked against local text" in text
    assert "local document; quote not checked (run `regkb ingest`)" in text


def test_json_filtered_by_product_type_and_role():
    result = runner.invoke(
        app, ["checkpoints", "--product-type", "in-vivo-gene-therapy", "--role", "cdmo", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["rows"] and all("cdmo" in r["owners"] for r in payload["rows"])
    assert all(not r["product_types"] or "in-vivo-gene-therapy" in r["product_types"] for r in payload["rows"])


def test_table_names_both_jurisdictions():
    result = runner.invoke(app, ["checkpoints", "--stage", "marketing-authorisation"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "European Union" in result.stdout and "United States" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--stage", "phase-9"], "unknown stage phase-9; choose from classification"),
        (["--item", "vibes"], "unknown item vibes; choose from regulatory-status"),
        (["--jurisdiction", "JP"], "jurisdiction 'JP': use EU, US or both"),
        (["--format", "pdf"], "format 'pdf': use table, md, csv or json"),
    ],
)
def test_bad_options_name_the_valid_choices(args, message):
    result = runner.invoke(app, ["checkpoints", *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_verify_without_an_index_says_what_to_do():
    result = runner.invoke(app, ["checkpoints", "--verify"])
    assert result.exit_code == 1
    assert "nothing is indexed yet; run `regkb ingest` first" in result.output
