"""Markdown and HTML documents, and lessons: parsed to one page with `#` sections, validated front matter."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from api.cli import app
from ingest.lessons import SECTIONS, lesson_template, load_lessons
from ingest.parse_text import markdown_headings, parse_html, parse_markdown
from kb.errors import IngestError

pytestmark = pytest.mark.unit


def test_html_keeps_text_and_headings_and_drops_scripts(tmp_path):
    page = tmp_path / "q-and-a.html"
    page.write_text(
        "<html><head><style>p{}</style><script>var x=1;</script></head><body><nav>Home | About</nav>"
        "<h1>Comparability Q&amp;A</h1><p>Question 1: can data from the old process be used?</p>"
        "<h2>Answer</h2><ul><li>Yes, with analytical comparability.</li><li>Bridging may be needed.</li></ul>"
        "</body></html>"
    )
    doc = parse_html(page, "qa")
    assert doc.pages == (
        "# Comparability Q&A\n\nQuestion 1: can data from the old process be used?\n\n## Answer\n\n"
        "• Yes, with analytical comparability.\n• Bridging may be needed.",
    )
    assert [(h.title, h.level) for h in markdown_headings(doc)] == [("Comparability Q&A", 1), ("Answer", 2)]


def test_markdown_drops_front_matter_and_opens_with_the_title(tmp_path):
    note = tmp_path / "note.md"
    note.write_text("---\nid: x\n---\n\n## What happened\n\nA bag cracked.\n")
    doc = parse_markdown(note, "x", title="Bag cracked")
    assert doc.pages == ("# Bag cracked\n\n## What happened\n\nA bag cracked.",)
    empty = tmp_path / "empty.md"
    empty.write_text("---\nid: y\n---\n")
    with pytest.raises(IngestError, match="has no text"):
        parse_markdown(empty, "y")


def test_lessons_are_validated_and_bad_ones_reported(tmp_path):
    (tmp_path / "good-one.md").write_text(lesson_template("good-one", "A good lesson title"))
    (tmp_path / "wrong-name.md").write_text(lesson_template("other-id", "A lesson in the wrong file"))
    (tmp_path / "bad-scope.md").write_text(
        lesson_template("bad-scope", "Visibility not allowed").replace("visibility: internal", "visibility: public")
    )
    (tmp_path / "no-sections.md").write_text(lesson_template("no-sections", "Sections missing").split("## ")[0])
    lessons, problems = load_lessons(tmp_path, stages=["first-gmp-batch"], product_types=["autologous-cells"])
    assert [lesson.record.id for lesson in lessons] == ["lesson-good-one"]
    assert lessons[0].record.visibility == "internal" and lessons[0].record.doc_type == "internal_lesson"
    reasons = {p.path.name: p.reason for p in problems}
    assert reasons["wrong-name.md"] == "id 'other-id' differs from the file name; name the file other-id.md"
    assert reasons["bad-scope.md"].startswith("visibility: Input should be 'internal' or 'confidential'")
    assert reasons["no-sections.md"] == "missing section(s): " + ", ".join("## " + s for s in SECTIONS)


def test_the_repo_lessons_pass_the_check(monkeypatch):
    result = CliRunner().invoke(app, ["lessons", "check"])
    assert result.exit_code == 0, result.output
    assert "lessons: 14 valid, 0 with problems" in result.stdout


def test_lessons_new_scaffolds_a_file_that_check_then_reads(tmp_path, monkeypatch):
    monkeypatch.setenv("REGKB_LESSONS_DIR", str(tmp_path))
    runner = CliRunner()
    assert runner.invoke(app, ["lessons", "new", "freezer-alarm", "--title", "Freezer alarm missed"]).exit_code == 0
    assert 'title: "Freezer alarm missed"' in (tmp_path / "freezer-alarm.md").read_text()
    assert runner.invoke(app, ["lessons", "new", "freezer-alarm"]).exit_code == 1  # never overwrites
    assert runner.invoke(app, ["lessons", "new", "Bad Id"]).exit_code == 2
    checked = runner.invoke(app, ["lessons", "check"])
    assert checked.exit_code == 0 and "1 valid" in checked.stdout
