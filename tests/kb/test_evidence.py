from __future__ import annotations

import pytest

from kb.evidence import ASKED_PERIOD, assess_confidence, term_coverage, unstated_values, wanted_terms
from kb.glossary import Glossary, GlossaryTerm
from kb.models import Passage
from kb.settings import AnswerSettings
from tests.kb.answer_fixture import Corpus, make_record, three_documents, three_passages

pytestmark = pytest.mark.unit


@pytest.fixture
def corpus() -> Corpus:
    return three_documents()


GLOSSARY = Glossary(
    (
        GlossaryTerm("PPQ", ("process performance qualification",)),
        GlossaryTerm("CAR-T", ("CAR T",), covered_by=("fda-cber-car-t-2024",)),
        GlossaryTerm("RCL", ("replication competent lentivirus",), covered_by=("fda-cber-rcr-2020",)),
    )
)


def _with_similarity(passage: Passage, similarity: float | None) -> Passage:
    return Passage(passage.chunk, passage.document, passage.score, dense_similarity=similarity)


def test_term_coverage_counts_distinct_stemmed_question_terms(corpus: Corpus) -> None:
    # batch, releas, quarantin, sampl: batch and release appear, quarantine and sampling do not.
    question = "Batch release, quarantine and sampling?"

    assert term_coverage(question, three_passages(corpus)) == 0.5
    assert term_coverage("what is it?", three_passages(corpus)) == 0.0


def test_coverage_reads_the_ask_not_the_askers_context(corpus: Corpus) -> None:
    ask_only = "Who must certify a batch before release?"
    with_context = f"We make an allogeneic NK-cell product in very small lots; {ask_only.lower()}"
    assert term_coverage(with_context, three_passages(corpus)) == term_coverage(ask_only, three_passages(corpus)) == 1.0
    # Read as one question, the product words would count as missing evidence.
    assert term_coverage(with_context.replace(";", " and"), three_passages(corpus)) < 1.0


def test_an_acronym_is_covered_by_its_spelled_out_form() -> None:
    corpus = Corpus()
    corpus.add(make_record("pv"), "Process performance qualification batches confirm the process design.")
    passages = [corpus.passage("pv", "Process", "design.")]
    assert term_coverage("PPQ batches?", passages, GLOSSARY) == 1.0
    assert term_coverage("PPQ batches?", passages) == 0.5  # without the glossary "ppq" is not found


def test_terms_the_corpus_does_not_address_are_left_out_of_the_wanted_terms() -> None:
    wanted = wanted_terms("How many PPQ batches for a CAR-T process?", GLOSSARY, ignore=["CAR-T"])
    assert [sorted(alternatives[0]) for alternatives in wanted.items] == [["ppq"], ["batch"], ["process"]]


@pytest.mark.parametrize(
    ("similarity", "min_coverage", "expected"),
    [
        (0.6, 0.5, True),
        (0.6, 0.51, False),  # coverage 0.5 is just short
        (0.39, 0.1, False),  # similarity below the default 0.40
        (0.40, 0.5, True),
        (None, 0.5, True),  # no dense similarity: coverage alone decides
    ],
)
def test_the_high_confidence_thresholds(
    corpus: Corpus, similarity: float | None, min_coverage: float, expected: bool
) -> None:
    passages = [_with_similarity(p, similarity) for p in three_passages(corpus)]
    settings = AnswerSettings(min_term_coverage=min_coverage)

    assert (assess_confidence("Batch release, quarantine and sampling?", passages, settings) == "high") is expected


def test_without_passages_nothing_is_relevant() -> None:
    assert assess_confidence("Batch release?", [], AnswerSettings()) is None


@pytest.mark.parametrize(
    ("similarity", "expected"),
    [
        (0.60, "high"),  # the high gate holds
        (0.35, "low"),  # under it, relevance 0.7 x 0.35 + 0.3 x 0.5 = 0.395 over the 0.38 floor
        (0.30, None),  # relevance 0.36: nothing indexed is relevant
    ],
)
def test_assess_confidence_bands(corpus: Corpus, similarity: float, expected: str | None) -> None:
    passages = [_with_similarity(p, similarity) for p in three_passages(corpus)]
    assert assess_confidence("Batch release, quarantine and sampling?", passages, AnswerSettings()) == expected


def test_a_low_term_coverage_gives_a_low_confidence_answer_not_a_refusal(corpus: Corpus) -> None:
    passages = [_with_similarity(p, 0.6) for p in three_passages(corpus)]
    # batch, releas, quarantin, sampl, storag, label: 2 of 6 found; 0.7 x 0.6 + 0.3 x 0.33 = 0.52
    question = "Batch release, quarantine, sampling, storage and labels?"
    assert assess_confidence(question, passages, AnswerSettings()) == "low"


def test_an_unaddressed_subject_in_the_ask_needs_a_close_passage_in_the_context_it_does_not(corpus: Corpus) -> None:
    settings = AnswerSettings(absent_term_similarity=0.5)
    weak = [_with_similarity(p, 0.45) for p in three_passages(corpus)]
    strong = [_with_similarity(p, 0.55) for p in three_passages(corpus)]
    about_rcl = "Which RCL batch release tests?"
    context_only = "Our product is a CAR-T. Who must certify a batch before release?"
    own_product = "Who must certify our CAR-T batch before release?"

    assert assess_confidence(about_rcl, weak, settings, absent_terms=["RCL"], glossary=GLOSSARY) is None
    assert assess_confidence(about_rcl, strong, settings, absent_terms=["RCL"], glossary=GLOSSARY) == "high"
    assert assess_confidence(context_only, weak, settings, absent_terms=["CAR-T"], glossary=GLOSSARY) == "high"
    assert assess_confidence(own_product, weak, settings, absent_terms=["CAR-T"], glossary=GLOSSARY) == "high"
    # A term the corpus mentions in passing (unaddressed) has its own, lower threshold.
    unaddressed = AnswerSettings(absent_term_similarity=0.9, unaddressed_term_similarity=0.5)
    about_cart = "Which CAR-T batch release tests?"
    assert assess_confidence(about_cart, weak, unaddressed, unaddressed_terms=["CAR-T"], glossary=GLOSSARY) is None
    assert assess_confidence(about_cart, strong, unaddressed, unaddressed_terms=["CAR-T"], glossary=GLOSSARY) == "high"
    assert assess_confidence(about_cart, strong, unaddressed, absent_terms=["CAR-T"], glossary=GLOSSARY) is None
    # Without a glossary to tell where the term sits, every absent term counts as asked about.
    assert assess_confidence(context_only, weak, settings, absent_terms=["CAR-T"]) is None


def test_a_proposed_value_no_passage_states_or_corrects_is_unsettled(corpus: Corpus) -> None:
    passages = three_passages(corpus)  # the register "must be kept for five years"
    assert unstated_values("How long must the register be kept - is 200 the minimum?", passages) == ("200",)
    assert unstated_values("Must the quality unit review batches quarterly or monthly?", passages) == (
        "quarterly",
        "monthly",
    )
    # A value a passage states, or another value in the unit asked about, answers the question.
    assert unstated_values("Must the register be kept for 5 years?", passages) == ()
    assert unstated_values("Must the register be kept for 30 years?", passages) == ()
    assert unstated_values("Must the register be kept for five or ten years?", passages) == ()
    # A number stated in another unit does not state the value ("five years" is no 5 CFU/100 mL).
    assert unstated_values("Must the register room stay under 5 CFU/100 mL?", passages) == ("5 cfu/100",)
    # An ask for a period alone needs a passage stating one; the register's "five years" is one.
    assert unstated_values("How many years must the register be kept?", passages) == ()
    no_period = [p for p in passages if "years" not in p.chunk.text]
    assert no_period and len(no_period) < len(passages)
    assert unstated_values("How many days does the register review take?", no_period) == (ASKED_PERIOD,)
    assert unstated_values("How many days does the review take, and who signs it?", no_period) == ()
    # Only the ask proposes values: the asker's situation and own product do not.
    assert unstated_values("We release 200 batches a year. Who certifies each batch?", passages) == ()
    assert unstated_values("Which register applies to our 200-litre bioreactor?", passages) == ()
