import pytest

from kb.question import (
    ProposedValue,
    asks_period,
    proposed_values,
    read_question,
    stated_numbers,
    states_period,
    states_unit,
    states_value,
    without_own_product,
)

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


@pytest.mark.parametrize(
    ("ask", "values"),
    [
        ("Annex 1 bioburden limit before sterile filtration - is it 10 CFU/100 mL?", [("10", "cfu/100")]),
        ("FMEA RPN threshold - what value do Q9 / Q9(R1) set (e.g., RPN > 100)?", [("100", "")]),
        ("Retention period in the EU, 30 years?", [("30", "year")]),
        (
            "Management review: quarterly, or is once a year enough?",
            [("quarterly", "frequency"), ("annually", "frequency")],
        ),
        ("Is 10,000 units or 0,5 mg the limit?", [("10000", "unit"), ("0.5", "mg")]),
        # Numbers that name a document, part, section, stage or class, and years, propose nothing.
        ("Does 21 CFR 1271 or Annex 1 apply, and Part 11 in the 2011 guidance?", []),
        ("How should Stage 3 CPV data be trended under CPG 490.100?", []),
        ("Is a NAT per Ph. Eur. 2.6.7 acceptable? What does 3.2.S.2.6 contain?", []),
        ("What does ICH Q5A(R2) say about E6(R2) monitoring?", []),
        ("What does Q7's annual quality review cover?", []),  # "annual" names the review
    ],
)
def test_the_values_an_ask_proposes(ask: str, values: list[tuple[str, str]]) -> None:
    assert [(v.value, v.unit) for v in proposed_values(ask)] == values


def test_stated_numbers_and_units_read_passage_text_in_its_forms() -> None:
    text = "Samples from three batches, 10 000 units, 1,5 mg, an annual review at 25 °C, kept for 5 years."
    assert {"3", "10000", "10", "000", "1.5", "annually", "25", "5"} <= stated_numbers(text)
    assert states_unit(text, "year") and states_unit(text, "c") and states_unit(text, "frequency")
    assert states_unit("The number of batches should be justified.", "batch")
    assert not states_unit(text, "day") and not states_unit("grown to 25 cells", "c") and not states_unit(text, "")


@pytest.mark.parametrize(
    ("text", "value", "unit", "stated"),
    [
        ("a limit of 10 CFU/100 ml before filtration", "10", "cfu/100", True),
        ("Bioburden \u2264 10 CFU/10 mL", "10", "cfu/100", False),  # another volume
        ("retained for 10 years", "10", "cfu/100", False),  # the number in another unit
        ("samples from three batches", "3", "batch", True),
        ("stored at 25 \u00b0C", "25", "\u00b0c", True),
        ("no more than 5 copies per cell", "5", "copies/cell", True),
        ("see section 10", "10", "", True),  # a bare number needs only the number
        ("reviewed annually", "annually", "frequency", True),
    ],
)
def test_a_value_is_stated_in_its_unit(text: str, value: str, unit: str, stated: bool) -> None:
    assert states_value(text, ProposedValue(value, unit)) is stated


@pytest.mark.parametrize(
    ("ask", "asks"),
    [
        ("PACMP step 2 - how many days does the agency have to review it?", True),
        ("How many extra days does the assessment allow?", True),
        ("Within how many working days must it be filed?", True),
        ("How long must media fill units be incubated?", False),  # "the duration should be justified"
        ("How many PPQ batches do we need?", False),  # a count, not a period
        ("Is 30 days enough?", False),  # proposes a period: proposed_values reads it
        ("What goes in the request and how many days until the recommendation?", False),  # asks more
        ("How many days must the assays run, and at which stages is RCV tested?", False),
    ],
)
def test_an_ask_for_a_period_alone(ask: str, asks: bool) -> None:
    assert asks_period(ask) is asks


def test_stated_periods() -> None:
    stated = ["at least 1 year after expiry", "within 15 working days", "three months", "a 28-day assay", "annually"]
    assert all(map(states_period, stated))
    assert not any(map(states_period, ["Class 3 solvents", "on the day of release", "Stage 2", "each batch"]))
