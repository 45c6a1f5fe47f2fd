"""The repo's illustrative lessons in the real index: cited and marked for an internal caller, invisible to
a public one, in the core and through the CLI (which runs as the configured local principal)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from api.cli import app
from kb.access import PUBLIC, principal

pytestmark = pytest.mark.integration

QUESTION = "What went wrong when we scaled up cryopreservation?"


def test_an_internal_user_gets_the_cryopreservation_lesson_cited_and_marked(real_kb):
    answer = real_kb.ask(QUESTION, principal=principal("qa", ["internal"]))
    lessons = [c for c in answer.citations if c.doc_type == "internal_lesson"]
    assert answer.status == "answered" and lessons
    assert lessons[0].doc_id == "lesson-cryo-bag-scale-up" and lessons[0].jurisdiction == "internal"


def test_a_public_caller_gets_no_lesson_at_all(real_kb):
    answer = real_kb.ask(QUESTION, principal=PUBLIC)
    passages = real_kb.search(QUESTION, k=20, principal=PUBLIC)
    assert all(p.document.visibility == "public" for p in passages)
    assert not any(c.doc_id.startswith("lesson-") for c in answer.citations)
    assert not any(d.startswith("lesson-") for d in answer.closest_documents)


def test_confidential_lessons_need_the_confidential_scope(real_kb):
    question = "potency assay variability between autologous batches"
    internal = real_kb.search(question, k=20, principal=principal("qa", ["internal"]))
    confidential = real_kb.search(question, k=20, principal=principal("head-qa", ["confidential"]))
    assert all(p.document.visibility != "confidential" for p in internal)
    assert any(p.document.visibility == "confidential" for p in confidential)


def test_the_cli_runs_as_the_local_principal(regkb_env, monkeypatch):
    runner = CliRunner()
    internal = runner.invoke(app, ["ask", QUESTION, "--json"])  # default local scopes: internal
    assert internal.exit_code == 0, internal.output
    assert "lesson-cryo-bag-scale-up" in {c["doc_id"] for c in json.loads(internal.stdout)["citations"]}
    assert "[INTERNAL LESSON: not regulatory guidance]" in runner.invoke(app, ["ask", QUESTION]).stdout
    monkeypatch.setenv("REGKB_ACCESS__LOCAL_SCOPES", '["public"]')
    public = runner.invoke(app, ["ask", QUESTION, "--json"])
    assert (
        public.exit_code == 0 and "lesson-" not in public.stdout and "Illustrative internal lesson" not in public.stdout
    )
    shown = runner.invoke(app, ["ask", QUESTION])
    assert "INTERNAL LESSON" not in shown.stdout
    named = runner.invoke(app, ["search", "bags", "--doc-id", "lesson-cryo-bag-scale-up"])
    assert named.exit_code == 1 and "lesson-cryo" not in named.stderr.replace("'lesson-cryo-bag-scale-up'", "")
