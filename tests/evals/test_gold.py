"""The gold set is usable: enough questions of every kind, and every nugget really is on its gold page."""

from __future__ import annotations

from collections import Counter
from functools import cache

import pytest

from evals.gold import KINDS, load_gold
from ingest.parse_pdf import parse_pdf
from kb.manifest import load_manifest, resolve_document_path
from kb.models import ParsedDocument
from kb.quotes import normalise_ws
from kb.settings import Settings
from tests.conftest import SHARED_CORPUS

QUESTIONS = load_gold()
RECORDS = {r.id: r for r in load_manifest(Settings().manifest_path)}
OFFLINE = sorted(r.id for r in RECORDS.values() if r.available_offline)


@cache
def _parsed(doc_id: str) -> ParsedDocument:
    return parse_pdf(resolve_document_path(RECORDS[doc_id], SHARED_CORPUS), doc_id)


@pytest.mark.unit
def test_size_and_mix_of_the_gold_set():
    kinds = Counter(q.kind for q in QUESTIONS)
    assert len(QUESTIONS) >= 150
    assert set(kinds) == set(KINDS)
    passage_questions = [q for q in QUESTIONS if not q.map_only]  # map-only questions have no page to find
    assert kinds["unanswerable"] / len(passage_questions) >= 0.15
    covered = Counter(ref.doc for q in QUESTIONS for ref in q.gold)
    assert [doc for doc in OFFLINE if covered[doc] < 3] == []
    assert {q.split for q in QUESTIONS} == {"dev", "test", "hard"}  # hard: the pre-registered hard_*.yaml files


@pytest.mark.unit
def test_file_prefixes_fix_the_portion(tmp_path):
    item = "- {{id: {id}, question: 'Q?', kind: definition, gold: [{{doc: ich-q7-2000, pages: [1]}}], nuggets: [x]}}\n"
    ids = [f"x-{n}" for n in range(40)]  # 40 ids: the id hash alone puts some in each of dev and test
    for name in ("hard_a.yaml", "dev_a.yaml", "plain.yaml"):
        (tmp_path / name).write_text("".join(item.format(id=f"{name[:4]}{i}") for i in ids))
    splits = {(q.id[:4], q.split) for q in load_gold(tmp_path)}
    assert splits == {("hard", "hard"), ("dev_", "dev"), ("plai", "dev"), ("plai", "test")}


@pytest.mark.unit
def test_gold_references_name_local_documents_and_questions_carry_nuggets():
    for q in QUESTIONS:
        assert all(ref.doc in OFFLINE and ref.pages for ref in q.gold), q.id
        assert (1 <= len(q.nuggets) <= 3) if q.answerable and not q.map_only else not q.nuggets, q.id


@pytest.mark.integration
@pytest.mark.parametrize("question", [q for q in QUESTIONS if q.answerable], ids=lambda q: q.id)
def test_every_nugget_is_on_a_gold_page(question):
    for nugget in question.nuggets:
        pages = [normalise_ws(_parsed(ref.doc).pages[p - 1]).lower() for ref in question.gold for p in ref.pages]
        assert any(normalise_ws(nugget).lower() in page for page in pages), nugget


@pytest.mark.unit
def test_expected_checkpoints_exist_in_the_map():
    from kb.catalog import load_checkpoints

    known = {c.id for c in load_checkpoints(Settings()).checkpoints}
    expecting = [q for q in QUESTIONS if q.checkpoints]
    assert len(expecting) >= 30
    assert [(q.id, c) for q in expecting for c in q.checkpoints if c not in known] == []
