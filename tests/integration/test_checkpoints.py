"""The checkpoint map against the real corpus: every reference resolves, every local quote is on its page,
and checkpoint questions come back as cited checklists beside passages from the right pages."""

from __future__ import annotations

import dataclasses

import pytest

from kb.catalog import load_checkpoints
from kb.checkpoint_map import CheckpointMap, references, verify_quotes
from kb.knowledge_base import KnowledgeBase
from kb.settings import Settings

pytestmark = pytest.mark.integration

PHASE1_IND_CMC_PAGES = set(range(6, 12))  # § III.F "Chemistry, Manufacturing, and Control Information" to § III.G


@pytest.fixture(scope="module")
def cmap() -> CheckpointMap:
    return load_checkpoints(Settings())  # the repo's map, cross-checked against the repo's manifest


@pytest.fixture(scope="module")
def kb(real_kb: KnowledgeBase, cmap: CheckpointMap) -> KnowledgeBase:
    return dataclasses.replace(real_kb, checkpoint_map=cmap)


def test_every_local_quote_is_on_its_page(kb, cmap):
    local = [ref for _, ref in references(cmap) if cmap.documents[ref.doc].available_offline]
    assert len(local) >= 30
    assert verify_quotes(cmap, kb.stored_page) == []


def test_offline_references_name_manifest_documents_with_official_urls(cmap):
    offline = {ref.doc for _, ref in references(cmap) if not cmap.documents[ref.doc].available_offline}
    assert len(offline) >= 20
    assert all(cmap.documents[doc].url.startswith("https://") for doc in offline)


def test_phase1_ind_question_gets_the_us_ind_checklist_and_phase1_guidance_passages(kb):
    answer = kb.ask("What CMC information does a Phase 1 IND need?")
    assert answer.checklist is not None and answer.checklist.kind == "checkpoint"
    assert [c.id for c in answer.checklist.checkpoints] == ["us-ind"]
    rows = answer.checklist.rows
    assert {"potency", "stability", "specifications", "raw-materials"} <= {r.item for r in rows}
    phase1 = [r for row in rows for r in row.references if r.doc_id == "fda-ind-phase1-1995"]
    assert all(r.check == "verified" for r in phase1)
    on_cmc_pages = [r for r in phase1 if r.page in PHASE1_IND_CMC_PAGES]
    cmc_items = {row.item for row in rows if set(row.references) & set(on_cmc_pages)}
    assert {"potency", "stability", "specifications", "raw-materials", "characterisation"} <= cmc_items
    offline = [r for row in rows for r in row.references if r.check == "not_offline"]
    assert offline and all(r.quote is None and r.url.startswith("https://") for r in offline)
    assert answer.status == "answered"
    first = answer.citations[0]  # the lead's first sentence: the CMC section's own statement of emphasis
    assert (first.doc_id, first.section) == ("fda-ind-phase1-1995", "III.F")
    assert set(first.pages) <= PHASE1_IND_CMC_PAGES


def test_process_validation_question_gets_the_progression_for_both_jurisdictions(kb):
    answer = kb.ask("When is process validation expected to be complete?")
    checklist = answer.checklist
    assert checklist is not None and checklist.kind == "progression"
    assert checklist.jurisdictions == ("EU", "US")
    assert {r.item for r in checklist.rows} == {"process-validation"}
    for jurisdiction in ("EU", "US"):
        ranks = [r.level_rank for r in checklist.rows if r.jurisdiction == jurisdiction]
        assert ranks == sorted(ranks) and ranks[0] == 1 and max(ranks) >= 3, (jurisdiction, ranks)
    completed = {r.checkpoint_id for r in checklist.rows if r.level == "completed"}
    assert completed == {"eu-maa", "us-bla"}
    assert all(row.references for row in checklist.rows)
    assert any(r.check == "verified" for row in checklist.rows for r in row.references)


def test_eu_versus_us_question_is_grouped_by_jurisdiction(kb):
    checklist = kb.ask("First-in-human CMC expectations: EU vs US?").checklist
    assert checklist is not None
    assert [(c.jurisdiction, c.id) for c in checklist.checkpoints] == [("EU", "eu-fih-cta"), ("US", "us-ind")]


def test_other_questions_get_no_checklist(kb):
    assert kb.ask("What are the three stages of process validation?").checklist is None
    assert kb.ask("How should an OOS result be investigated?").checklist is None
