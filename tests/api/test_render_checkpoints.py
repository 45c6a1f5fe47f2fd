"""Checklist renderers: the same rows and numbered references in Markdown, CSV, JSON and the terminal."""

from __future__ import annotations

import csv
import io
import json

import pytest
from rich.console import Console

from api.render_checkpoints import CSV_COLUMNS, checklist_csv, checklist_json, checklist_markdown, print_checklist
from kb.checkpoint_map import load_checkpoint_map
from kb.checkpoint_query import checklist_for_question
from tests.kb.checkpoint_fixture import DOCUMENTS, page_text, write_map

pytestmark = pytest.mark.unit


@pytest.fixture
def checklist(tmp_path):
    cmap = load_checkpoint_map(write_map(tmp_path), DOCUMENTS)
    found = checklist_for_question("What is needed for a first-in-human trial?", cmap, page_text=page_text)
    assert found is not None
    return found


def test_markdown_groups_by_jurisdiction_with_tick_boxes_and_numbered_references(checklist):
    text = checklist_markdown(checklist)
    assert text.index("## European Union") < text.index("## United States") < text.index("## References")
    assert "- [ ] **Potency assay**: Quantitative (level 1 of 2). potency at quantitative" in text
    assert (
        "1. Remote Regulation (Reg 1/2000), § Art 25 — not available offline; not checked against local text"
        " — https://eur-lex.europa.eu/remote"
    ) in text
    assert (
        "2. Local Guide (REF-LOCAL), § II, p. 3: “Phase 1 submissions should focus on safety.” — quote verified"
        " on the local text" in text
    )
    assert "*When:* Before dosing [2]" in text  # the IND's own reference keeps its number everywhere


def test_csv_has_one_row_per_expectation_and_tracking_columns(checklist):
    rows = list(csv.DictReader(io.StringIO(checklist_csv(checklist))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(r["checkpoint_id"], r["item"], r["level_rank"]) for r in rows] == [
        ("eu-cta", "Potency assay", "1/2"),
        ("us-ind", "Potency assay", "1/2"),
        ("us-ind", "Quality system", "1/1"),
    ]
    assert rows[0]["references"].startswith("[3] Remote Regulation (Reg 1/2000) — not available offline")
    assert rows[2]["product_types"] == "allogeneic-cells" and rows[1]["product_types"] == "all"
    assert rows[0]["done"] == ""


def test_json_round_trips_and_the_terminal_table_names_every_item(checklist):
    payload = json.loads(json.dumps(checklist_json(checklist)))
    assert payload["jurisdictions"] == ["EU", "US"]
    assert [r["item"] for r in payload["rows"]] == ["potency", "potency", "quality-system"]
    console = Console(record=True, width=160)
    print_checklist(checklist, console)
    shown = console.export_text()
    assert "European Union" in shown and "United States" in shown
    assert shown.count("Potency assay") == 2 and "[2] Local Guide (REF-LOCAL)" in shown
