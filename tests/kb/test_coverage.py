from __future__ import annotations

import dataclasses

import pytest

from kb.answer import build_answer
from kb.coverage import coverage_gap, unaddressed_terms
from kb.glossary import Glossary, GlossaryTerm, load_glossary
from kb.manifest import load_manifest
from kb.models import Chunk, DocumentRecord
from kb.settings import AnswerSettings, Settings
from tests.kb.answer_fixture import Corpus, make_record, three_documents, three_passages

pytestmark = pytest.mark.unit


@pytest.fixture
def corpus() -> Corpus:
    return three_documents()


CART_GUIDANCE = dataclasses.replace(
    make_record("fda-car-t"),
    title="Considerations for the Development of CAR T Cell Products",
    reference="Docket FDA-2021-D-0404",
    url="https://www.fda.gov/car-t",
    file=None,
    available_offline=False,
)
GLOSSARY = Glossary(
    (
        GlossaryTerm("CAR-T", ("CAR T",), covered_by=("fda-car-t",)),
        GlossaryTerm("AAV", ("adeno-associated virus",), covered_by=("fda-gt",)),
        GlossaryTerm("PPQ", ("process performance qualification",)),
    )
)


def _chunk(doc_id: str, n: int, text: str) -> Chunk:
    return Chunk(f"{doc_id}#c{n}", doc_id, text, "1", "Scope", ("1",), 1, 1, 0, len(text))


def test_a_passing_mention_does_not_address_a_subject_three_passages_or_the_title_do() -> None:
    records = {
        "q1": make_record("q1"),
        "q5a": make_record("q5a"),
        "lesson": dataclasses.replace(make_record("lesson"), visibility="internal"),
    }
    chunks = [_chunk("q1", 0, "Cell therapies, e.g. CAR-T cells, may need other conditions.")]
    chunks += [_chunk("q5a", n, f"AAV vectors are tested for adventitious agents ({n}).") for n in range(3)]
    chunks += [_chunk("lesson", n, f"Our CAR-T lots varied ({n}).") for n in range(3)]
    unaddressed = unaddressed_terms(GLOSSARY, {c.chunk_id: c for c in chunks}, records)
    assert unaddressed["public"] == {"CAR-T"}  # PPQ has no covered_by documents: never reported
    assert unaddressed["internal"] == frozenset()  # the internal lessons address CAR-T for internal callers
    titled = {**records, "q1": dataclasses.replace(make_record("q1"), title="Stability of CAR-T products")}
    assert unaddressed_terms(GLOSSARY, {c.chunk_id: c for c in chunks}, titled)["public"] == frozenset()


def test_the_gap_names_the_subject_and_the_documents_not_indexed_that_address_it(corpus: Corpus) -> None:
    catalogue = {"fda-car-t": CART_GUIDANCE, "annex16": make_record("annex16")}
    gap = coverage_gap("How many PPQ batches for our CAR-T process?", GLOSSARY, {"CAR-T"}, catalogue, {"annex16"})
    assert gap is not None and gap.terms == ("CAR-T",) and gap.documents == (CART_GUIDANCE,)
    assert coverage_gap("How many PPQ batches?", GLOSSARY, {"CAR-T"}, catalogue, {"annex16"}) is None
    # An indexed document is never listed as missing.
    indexed = coverage_gap("CAR-T release?", GLOSSARY, {"CAR-T"}, catalogue, {"annex16", "fda-car-t"})
    assert indexed is not None and indexed.documents == ()

    answered = build_answer(
        "Who must certify a CAR-T batch before release?",
        three_passages(corpus),
        page_text=corpus.page_text,
        settings=AnswerSettings(),
        corpus_snapshot="s",
        evidence_ok=True,
        gap=gap,
    )
    assert answered.answer.startswith(
        "No indexed document addresses CAR-T specifically; the general guidance below applies by analogy. "
        "Guidance that addresses it, not in the indexed corpus: Considerations for the Development of CAR T Cell "
        "Products (Docket FDA-2021-D-0404) https://www.fda.gov/car-t.\n\nThe Qualified Person must certify"
    )
    assert (answered.not_addressed, answered.offline_documents) == (("CAR-T",), ("fda-car-t",))
    refused = build_answer(
        "CAR-T?",
        three_passages(corpus),
        page_text=corpus.page_text,
        settings=AnswerSettings(),
        corpus_snapshot="s",
        evidence_ok=False,
        gap=gap,
    )
    assert refused.status == "no_evidence" and refused.offline_documents == ("fda-car-t",)
    assert refused.answer.endswith(
        "No indexed document addresses CAR-T specifically. Guidance that addresses it, "
        "not in the indexed corpus: Considerations for the Development of CAR T Cell "
        "Products (Docket FDA-2021-D-0404) https://www.fda.gov/car-t."
    )


def test_the_shipped_glossary_names_only_manifest_documents_that_are_not_indexed_offline() -> None:
    settings = Settings()
    manifest: dict[str, DocumentRecord] = {r.id: r for r in load_manifest(settings.manifest_path)}
    covered = {doc for term in load_glossary(settings.glossary_path).terms for doc in term.covered_by}
    assert covered, "the glossary lists documents for the ATMP subjects"
    assert sorted(d for d in covered if d not in manifest) == []
    assert sorted(d for d in covered if manifest[d].available_offline) == []


PART_IV = dataclasses.replace(
    make_record("part-iv"),
    title="Guidelines on GMP specific to ATMPs",
    reference="C(2017) 7694 final",
    url="https://example.org/part-iv",
    file=None,
    available_offline=False,
    aliases=("GMP Part IV", "Part IV"),
)
ANNEX_1 = dataclasses.replace(make_record("annex1"), aliases=("Annex 1",))


def test_a_question_only_an_offline_document_can_answer_names_it_and_is_refused(corpus: Corpus) -> None:
    catalogue = {"part-iv": PART_IV, "annex1": ANNEX_1}
    asked = "EU GMP Part IV for ATMPs: can a closed system run in a grade D room?"
    gap = coverage_gap(asked, GLOSSARY, set(), catalogue, {"annex1"})
    assert gap is not None and gap.named == (PART_IV,) and gap.terms == ()
    # Naming an indexed document too, or the offline one only as the asker's situation, is no such question.
    assert (
        coverage_gap("Part IV or Annex 1: grade D for closed systems?", GLOSSARY, set(), catalogue, {"annex1"}) is None
    )
    assert (
        coverage_gap("We follow Part IV. Can a closed system run in grade D?", GLOSSARY, set(), catalogue, {"annex1"})
        is None
    )

    refused = build_answer(
        asked,
        three_passages(corpus),
        page_text=corpus.page_text,
        settings=AnswerSettings(),
        corpus_snapshot="s",
        evidence_ok=False,
        gap=gap,
    )
    assert refused.status == "no_evidence" and refused.offline_documents == ("part-iv",)
    assert refused.answer.startswith(
        "The question asks about a document that is not in the indexed corpus: Guidelines on GMP specific to "
        "ATMPs (C(2017) 7694 final) https://example.org/part-iv. Closest documents: Title of annex16 (annex16)"
    )
