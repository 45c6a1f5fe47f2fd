import pytest

from kb.question import read_question, without_own_product

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("question", "ask", "context"),
    [
        (
            "We make an allogeneic NK-cell product in very small lots; how many PPQ batches do we need?",
            "how many PPQ batches do we need?",
            "We make an allogeneic NK-cell product in very small lots",
        ),
        (
            "Our AAV is stored at -70 °C; which stability data apply?",
            "which stability data apply?",
            "Our AAV is stored at -70 °C",
        ),
        ("For our CAR-T DP, what must the P.2 section cover?", "what must the P.2 section cover?", "For our CAR-T DP"),
        (
            "One harvest lot failed purity at the release test. Can we blend it with good lots?",
            "Can we blend it with good lots?",
            "One harvest lot failed purity at the release test.",
        ),
        (
            "How many PPQ batches for our autologous CAR-T process?",
            "How many PPQ batches?",
            "for our autologous CAR-T process",
        ),
        ("OOS retest - how many?", "OOS retest how many?", ""),  # a short lead-in names the subject
        ("Does ICH Q7 cover our plasmid starting material?", "Does ICH Q7 cover our plasmid starting material?", ""),
        ("We need the PPQ batch count for our NK product.", "We need the PPQ batch count.", "for our NK product"),
    ],
)
def test_the_askers_situation_is_told_apart_from_the_ask(question: str, ask: str, context: str) -> None:
    reading = read_question(question)
    assert (reading.ask, reading.context) == (ask, context)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("What must the PPQ protocol contain?", "contents"),
        ("Which tests go into the IMPD?", "contents"),
        ("When must PPQ be completed?", "timing"),
        ("At what stage is the process locked?", "timing"),
        ("Does Annex 1 apply to our ATMP made in isolators?", "scope"),
        ("Does ICH Q7 cover our plasmid starting material?", "scope"),
        ("How long must batch records be kept?", "quantity"),
        ("CPV frequency", "quantity"),
        ("What is a design space?", "definition"),
        ("MODR definition", "definition"),
        ("How does Q9(R1) differ from Q9?", "comparison"),
        ("Is a design space mandatory or can we file without one?", "either_or"),
        ("What are the stages of process validation?", "general"),
    ],
)
def test_the_question_type_is_recognised(question: str, kind: str) -> None:
    assert read_question(question).kind == kind


def test_the_askers_own_product_is_not_the_subject() -> None:
    assert without_own_product("Can we reuse our CAR-T release potency assay (and viability) on stability?") == (
        "Can we reuse (and viability) on stability?"
    )
    assert without_own_product("Which RCL tests does FDA expect?") == "Which RCL tests does FDA expect?"
