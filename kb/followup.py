"""Follow-up questions made standalone, so retrieval and the checkpoint map see the whole question.

"What must be in place before the first GMP batch for autologous CAR-T?" followed by "and for
allogeneic products?" becomes "What must be in place before the first GMP batch for allogeneic
products?". The rewrite is deterministic (no LLM): an elliptical follow-up (it opens with "and",
"what about", ..., or it is short, or it points back with "it", "that", ...) is read against the
previous standalone question; what the follow-up names again (a product type, a jurisdiction) replaces
the previous one, and the rest of the follow-up is appended.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from kb.text import content_terms

__all__ = ["standalone_question", "is_elliptical"]

_OPENERS = re.compile(
    r"^\s*(?:and|but|also|so|then|what about|how about|and what about|and how about|same for|what if|"
    r"and for|and in|and with|for|in|with|now for|ok(?:ay)?,? (?:and|what about))\b[\s,]*",
    re.IGNORECASE,
)
_POINTERS = re.compile(r"\b(?:it|its|this|that|these|those|they|them|there|same)\b", re.IGNORECASE)
_JURISDICTIONS = (
    r"\b(?:EU|E\.U\.|EMA|Europe|European Union|US|U\.S\.|USA|FDA|United States)\b",
    r"\b(?:in|for|under) the (?:EU|US|United States|European Union)\b",
)
_SHORT_TERMS = 4  # "what about potency?" (1 term) is a follow-up; a five-term question stands alone


_QUESTION_WORD = re.compile(
    r"^\s*(?:what|which|how|when|why|who|where|is|are|does|do|can|should|must|may)\b", re.IGNORECASE
)
_COMPLETE_TERMS = 3  # "What are the three stages of process validation?" stands alone; "How long?" does not


def is_elliptical(message: str) -> bool:
    if _OPENERS.match(message) or _POINTERS.search(message):
        return True
    terms = len(content_terms(message))
    if _QUESTION_WORD.match(message) and terms >= _COMPLETE_TERMS:
        return False  # a short but complete question
    return terms <= _SHORT_TERMS


def standalone_question(history: Sequence[str], message: str, *, product_type_aliases: Iterable[str] = ()) -> str:
    """`history`: the conversation's earlier standalone questions, oldest first."""
    message = message.strip()
    if not history or not is_elliptical(message):
        return message
    previous = history[-1].strip().rstrip("?.! ")
    addition = _OPENERS.sub("", message).strip()
    aliases = sorted({a for a in product_type_aliases if a}, key=len, reverse=True)
    if _names_any(addition, aliases):
        previous = _remove(previous, aliases)
    if any(re.search(p, addition) for p in _JURISDICTIONS):
        previous = _remove_patterns(previous, _JURISDICTIONS)
    # A follow-up that is a sentence of its own ("How is it different ...?") follows the previous question.
    joined = (
        f"{previous}? {addition}" if addition[:1].isupper() and _POINTERS.search(addition) else f"{previous} {addition}"
    )
    return re.sub(r"\s+([?.!,])", r"\1", re.sub(r"\s{2,}", " ", joined))


def _names_any(text: str, phrases: Sequence[str]) -> bool:
    return any(re.search(_phrase(p), text, re.IGNORECASE) for p in phrases)


def _phrase(alias: str) -> str:
    words = r"[\s-]+".join(re.escape(w) for w in re.split(r"[\s-]+", alias) if w)
    return rf"(?<![\w-]){words}(?![\w-])"


def _remove(text: str, phrases: Sequence[str]) -> str:
    """Drop each phrase with the preposition before it ("for autologous CAR-T") and any product noun after it."""
    for alias in phrases:
        pattern = rf"(?:\b(?:for|of|with|in|on)\s+(?:an?\s+|the\s+)?)?{_phrase(alias)}(?:\s+(?:products?|cells?))?"
        text = re.sub(pattern, " ", text, flags=re.IGNORECASE)
    return text


def _remove_patterns(text: str, patterns: Sequence[str]) -> str:
    for pattern in patterns[::-1]:  # "in the EU" before "EU"
        text = re.sub(rf"(?:\b(?:in|for|under|by)\s+)?{pattern}", " ", text)
    return text
