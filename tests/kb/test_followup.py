"""Follow-ups made standalone: what the follow-up names again replaces the earlier words, the rest is appended."""

from __future__ import annotations

import pytest

from kb.followup import is_elliptical, standalone_question

pytestmark = pytest.mark.unit

TYPES = ["autologous", "CAR-T", "CAR T", "allogeneic", "iPSC", "AAV", "gene therapy"]
FIRST = "What must be in place before the first GMP batch for autologous CAR-T?"


@pytest.mark.parametrize(
    ("history", "message", "expected"),
    [
        (
            [FIRST],
            "and for allogeneic products?",
            "What must be in place before the first GMP batch for allogeneic products?",
        ),
        (
            [FIRST],
            "What about potency?",
            "What must be in place before the first GMP batch for autologous CAR-T potency?",
        ),
        (
            ["When must the potency assay be validated in the EU?"],
            "and in the US?",
            "When must the potency assay be validated in the US?",
        ),
        (
            ["What is a design space?"],
            "How is it different from a control strategy?",
            "What is a design space? How is it different from a control strategy?",
        ),
        (
            [FIRST],
            "What are the three stages of process validation in the FDA guidance?",
            "What are the three stages of process validation in the FDA guidance?",
        ),
        ([], "and for allogeneic products?", "and for allogeneic products?"),
    ],
)
def test_standalone_question(history, message, expected):
    assert standalone_question(history, message, product_type_aliases=TYPES) == expected


def test_what_counts_as_elliptical():
    assert is_elliptical("and for AAV?")
    assert is_elliptical("Does that apply to it too?")
    assert is_elliptical("stability?")
    assert not is_elliptical("What CMC information does a Phase 1 IND need for an AAV product?")
    assert not is_elliptical("What are the three stages of process validation?")  # short, but complete
    assert is_elliptical("How long?")
