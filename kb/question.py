"""Reading a question: the situation it describes (context) apart from what it asks, and the kind of ask.

ATMP teams put their product first ("We make an allogeneic NK-cell product in small lots; how many PPQ
batches ...", "For our CAR-T, what must the P.2 section cover?"). The product words describe the asker,
not the answer: general guidance answers the ask, and a passage that lacks "NK-cell" is no worse for it.
Evidence is therefore judged on the ask's terms; retrieval still reads the whole question.

The question type ("what must X contain", "when", "does X apply to Y", "how many / how long", definition,
comparison, either-or) tells the answer step which sentence answers: a lead-in with its list, a sentence
with a number, a scope statement.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "QuestionType",
    "QUESTION_TYPES",
    "ReadQuestion",
    "read_question",
    "without_own_product",
    "without_situation",
    "in_own_product",
    "ProposedValue",
    "proposed_values",
    "stated_numbers",
    "states_value",
    "states_unit",
    "asks_period",
    "states_period",
]

QuestionType = Literal["contents", "timing", "scope", "quantity", "definition", "comparison", "either_or", "general"]
QUESTION_TYPES: tuple[QuestionType, ...] = (
    "contents",
    "timing",
    "scope",
    "quantity",
    "definition",
    "comparison",
    "either_or",
    "general",
)

# A clause that describes the asker's situation: "We make ...", "Our AAV is stored ...", "For our CAR-T, ...".
_CONTEXT_OPENER = re.compile(
    r"^(?:we|we're|we've|our|my|i|i'm|us|"
    r"(?:for|in|with|at|since|as|because|given(?: that)?|now that|after|while|once) (?:we|our|my|us)|"
    r"(?:for|in|with) (?:an?|the|this) [\w-]+(?: [\w-]+){0,4} "
    r"(?:product|programme|program|process|site|trial|study))\b",
    re.IGNORECASE,
)
_AUXILIARY = r"(?:is|are|was|were|do|does|did|can|could|should|shall|must|may|might|will|would|need|has|have)"
_INTERROGATIVE = re.compile(
    rf"^(?:what|which|when|where|who|whom|whose|why|how|{_AUXILIARY}|list|give|name|define|explain|describe|tell)\b",
    re.IGNORECASE,
)
# Segments: sentences, semicolon clauses and dash or colon asides ("OOS retest - how many?").
_SEGMENT_BREAK = re.compile(r"(?<=[.?!])\s+(?=[A-Z\"'(])|\s*;\s*|\s+[-\u2013\u2014]\s+|:\s+")
_LEADING_CLAUSE = re.compile(r",\s+(?=\S)")
# "our CAR-T release potency assay" names the asker's product inside the ask: a noun phrase of up to five
# words after "our"/"my", up to the next function word or punctuation.
_OWN_PHRASE = re.compile(
    r"\b(?:our|my)\b(?:\s+[\w/+-]+){1,5}?(?=\s+(?:is|are|was|were|has|have|do|does|did|can|could|must|should|"
    r"will|would|need|needs|in|on|at|for|to|with|under|from|by|and|or|per|the|a|an|that|which|if|when|as|be)\b|"
    r"\s*[,.;:?!()]|\s+[-\u2013\u2014]\s|\s*$)",
    re.IGNORECASE,
)
# A trailing "... for our CAR-T product" or "in our LVV process" describes the asker too.
_TRAILING_CONTEXT = re.compile(r"[,\s]+(?:for|in|with|at|on) (?:our|my) [^?.;,]*?(?=[?.!]*\s*$)", re.IGNORECASE)

_TYPES: tuple[tuple[QuestionType, re.Pattern[str]], ...] = (
    (
        "comparison",
        re.compile(
            r"\b(?:differ\w*|difference\w*|vs\.?|versus|compar\w*|what changed|changes? (?:between|from|in)|"
            r"new in|same as|align\w* with)\b",
            re.IGNORECASE,
        ),
    ),
    ("either_or", re.compile(rf"^{_AUXILIARY}\b[^?]*\bor\b|\beither\b|\bor (?:can|do|should|must|is) we\b", re.I)),
    (
        "quantity",
        re.compile(
            r"\bhow (?:many|long|often|much|frequently|soon)\b|\b(?:number|frequency|minimum|maximum|limits?|"
            r"threshold|percent\w*|duration|retention period)\b|\bwhat (?:temperature|volume|size)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "timing",
        re.compile(
            r"^when\b|\bwhen (?:do|does|must|should|is|are|can)\b|\bat what (?:stage|point|phase|time)\b|"
            r"\b(?:by|before|at) which (?:stage|phase|point)\b|\btiming\b|\bhow early\b|\bdeadline\b",
            re.IGNORECASE,
        ),
    ),
    (
        "scope",
        re.compile(
            r"\b(?:apply|applies|applicable|application to|scope|in-scope|out-of-scope|exempt\w*|excluded|"
            r"relevant to|covered by|fall under|falls under)\b|^(?:does|do|is|are) [^?]*\b(?:cover|covers)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "contents",
        re.compile(
            r"\b(?:contain|contains|include|includes|included|cover|address|content|contents|elements|sections?|"
            r"go(?:es)? into|consist of|list|checklist|"
            r"(?:what|which) (?:data|information|info|documentation|evidence|tests?))\b",
            re.IGNORECASE,
        ),
    ),
    (
        "definition",
        re.compile(
            r"^(?:what(?:'s| is| are| does)|define|definition|meaning|what do you mean)\b|\bmean\??$|\bstand for\b|"
            r"\bmeant by\b|\bdefin(?:e|ed|ition)\b",
            re.IGNORECASE,
        ),
    ),
)
_MIN_STATEMENT_WORDS = 6  # "OOS retest - how many?": a shorter lead-in names the subject, it is no statement
_MAX_DEFINITION_WORDS = 6  # "What is a design space?"; longer "what is ..." questions ask more than a definition

# A value the ask puts forward ("is it 10 CFU/100 mL?", "RPN > 100", "30 years?", "quarterly or once a
# year?"): a number standing alone (a range "20-25" gives both ends), or a frequency word.
_NUMBER_TOKEN = re.compile(
    r"(?<![\w.,/])[<>\u2264\u2265~\u00b1]?[-\u2013\u2212]?(\d+(?:[.,]\d+)?)(?=[%\u00b0\u00baxX]|[^\w.,]|[.,](?!\d)|$)"
)
# A number that names something rather than measures it: a document, part, section, table or class
# ("21 CFR 211", "Annex 1", "Stage 3", "Class 2", "CPG 490.100", "Ph. Eur. 2.6.7"), a year, a CTD or
# section number with two dots or more ("3.2.S.2.6", "2.6.7").
_LABEL_BEFORE = re.compile(
    r"\b(?:cfr|part|parts|annex|annexes|section|sections|\u00a7|table|figure|appendix|chapter|article|step|stage|"
    r"phase|class|category|grade|level|zone|type|module|rev|revision|version|cpg|form|eur|no|number|item|"
    r"guideline|guidance|q|e|m|s)[\s.]*$",
    re.IGNORECASE,
)
_LABEL_AFTER = re.compile(r"^\s*(?:cfr|usc|u\.s\.c)\b", re.IGNORECASE)
_SECTION_NUMBER = re.compile(r"\d+(?:\.\w+){2,}")
_YEAR = re.compile(r"(?:19|20)\d\d")
_FREQUENCIES: dict[str, str] = {
    "daily": "daily", "every day": "daily", "each day": "daily",
    "weekly": "weekly", "every week": "weekly", "each week": "weekly",
    "monthly": "monthly", "every month": "monthly", "each month": "monthly",
    "quarterly": "quarterly", "every quarter": "quarterly", "every three months": "quarterly",
    "twice a year": "twice a year", "semi-annually": "twice a year", "semiannually": "twice a year",
    "every six months": "twice a year", "biannually": "twice a year",
    "annually": "annually", "yearly": "annually", "once a year": "annually", "every year": "annually",
    "each year": "annually",
}  # fmt: skip
# "annual" in a passage states a frequency; in a question it mostly names a thing ("Q7's annual quality
# review", "the annual report"), so it is read in passages only.
_STATED_FREQUENCIES = {**_FREQUENCIES, "annual": "annually"}


def _any_of(words: Iterable[str]) -> re.Pattern[str]:
    """One of `words` as whole words, the longest first ("twice a year" before "year")."""
    return re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, words), key=len, reverse=True)) + r")\b", re.I)


_FREQUENCY = _any_of(_FREQUENCIES)
_STATED_FREQUENCY = _any_of(_STATED_FREQUENCIES)
_NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "fifteen": "15", "twenty": "20", "thirty": "30",
}  # fmt: skip
_UNIT = re.compile(r"[ \t]*([\u00b0\u00ba]?[ \t]*[A-Za-z%\u00b5][\w%]*(?:/[\w]+)?|%)")
_NOT_UNITS = frozenset((
    "a", "an", "and", "or", "to", "vs", "the", "of", "is", "are", "be", "was", "per", "in", "for", "at", "on",
    "then", "than", "with", "without", "before", "after", "from", "by", "as", "e", "i", "if", "it", "its",
    "this", "that", "these", "those", "still", "enough", "minimum", "maximum", "mandatory", "required",
    "acceptable", "ok", "okay", "needed", "allowed", "sufficient", "correct", "right",
))  # fmt: skip
_NUMBER_WORD = _any_of(_NUMBER_WORDS)

_DEFINED = re.compile(r"\bmeant by\b|\bdefin(?:e|ed|ition)\b|\bstand for\b", re.IGNORECASE)


@dataclass(frozen=True)
class ReadQuestion:
    text: str  # as asked
    ask: str  # what it asks; the whole question when no context was told apart
    context: str  # the asker's situation ("We make an allogeneic NK-cell product in small lots"), or ""
    kind: QuestionType


def read_question(question: str) -> ReadQuestion:
    text = " ".join(question.split())
    asks: list[str] = []
    context: list[str] = []
    segments = _segments(text)
    asking = [i for i, segment in enumerate(segments) if "?" in segment]
    for i, segment in enumerate(segments):
        if asking and i < asking[-1] and "?" not in segment and len(segment.split()) >= _MIN_STATEMENT_WORDS:
            context.append(segment)  # a statement before the question: "One lot failed purity. Can we blend it?"
            continue
        lead_in, rest = _split_leading_context(segment)
        if lead_in:
            context.append(lead_in)
            segment = rest
        if _is_context(segment):
            context.append(segment)
        else:
            asks.append(segment)
    if not asks:  # all of it reads as situation ("We need the PPQ batch number for our NK product."): it is the ask
        asks, context = context[-1:], context[:-1]
    ask = " ".join(asks)
    trailing = _TRAILING_CONTEXT.search(ask)
    if trailing and trailing.start() > 0 and len(ask[: trailing.start()].split()) >= 2:
        context.append(trailing.group().strip(" ,"))
        ask = ask[: trailing.start()] + ask[trailing.end() :]
    return ReadQuestion(text=text, ask=ask.strip(), context=" ".join(context), kind=_kind(ask.strip()))


def without_situation(question: str) -> str:
    """The question without the statements about the asker ("We make ...", "Our CAR-T is ...", "For our
    site, ..."), keeping a topic lead-in ("EU GMP Part IV for ATMPs: can a closed system ...") that
    `read_question` sets apart from the ask."""
    kept = []
    for segment in _segments(" ".join(question.split())):
        lead_in, rest = _split_leading_context(segment)
        if lead_in:
            kept.append(rest)
        elif not _is_context(segment):
            kept.append(segment)
    return without_own_product(" ".join(kept))


def in_own_product(text: str, change: Callable[[str], str]) -> str:
    """`text` with `change` applied to each phrase naming the asker's own product ("our AAV potency assay")."""
    return _OWN_PHRASE.sub(lambda phrase: change(phrase.group()), text)


def without_own_product(text: str) -> str:
    """The text without the phrases naming the asker's own product ("our CAR-T release assay"): what
    is left names the subject asked about."""
    return " ".join(_OWN_PHRASE.sub(" ", text).split())


def _segments(text: str) -> list[str]:
    return [s.strip() for s in _SEGMENT_BREAK.split(text) if s and s.strip(" -;:")]


def _is_context(segment: str) -> bool:
    """A statement about the asker: opens like "We/Our/For our ..." and asks nothing."""
    return bool(_CONTEXT_OPENER.match(segment)) and "?" not in segment


def _split_leading_context(segment: str) -> tuple[str, str]:
    """ "For our CAR-T DP, what must P.2 cover?" -> ("For our CAR-T DP", "what must P.2 cover?")."""
    if not _CONTEXT_OPENER.match(segment):
        return "", segment
    for comma in _LEADING_CLAUSE.finditer(segment):
        rest = segment[comma.end() :]
        if _INTERROGATIVE.match(rest):
            return segment[: comma.start()], rest
    return "", segment


def _kind(ask: str) -> QuestionType:
    for kind, pattern in _TYPES:
        if pattern.search(ask):
            if kind == "definition" and len(ask.split()) > _MAX_DEFINITION_WORDS and not _DEFINED.search(ask):
                continue
            return kind
    return "general"


@dataclass(frozen=True)
class ProposedValue:
    value: str  # normalised: "10", "0.5", "quarterly"
    unit: str = ""  # the word after the number, lower-case and singular ("day", "cfu/100", "°c"); "frequency"


def proposed_values(ask: str) -> tuple[ProposedValue, ...]:
    """The values `ask` puts forward ("is it 10 CFU/100 mL?" gives 10 CFU/100, "quarterly or once a year?"
    two frequencies), leaving out numbers that name a document, section, stage or class, and years. A
    question proposing a value the passages neither state nor correct is a near miss the corpus cannot
    settle (kb.evidence.unstated_values)."""
    values: list[ProposedValue] = []
    for match in _NUMBER_TOKEN.finditer(ask):
        token = match.group(1)
        whole = re.match(r"[\w.]*", ask[match.start(1) :])
        if _LABEL_BEFORE.search(ask[: match.start()]) or _LABEL_AFTER.match(ask[match.end() :]):
            continue
        if _YEAR.fullmatch(token) or (whole and _SECTION_NUMBER.fullmatch(whole.group())):
            continue
        values.append(ProposedValue(_normalise_number(token), _unit_after(ask, match.end(1))))
    values += [ProposedValue(_FREQUENCIES[f.group().lower()], "frequency") for f in _FREQUENCY.finditer(ask)]
    return tuple(dict.fromkeys(values))


def stated_numbers(text: str) -> set[str]:
    """Every number and frequency `text` states, normalised as `proposed_values` gives them ("three" as
    "3", "10,000" and "10 000" as "10000" as well as their parts, "annual" as "annually")."""
    joined = re.sub(r"(?<=\d)[ \u00a0,](?=\d{3}(?!\d))", "", text)
    numbers = {_normalise_number(m.group(1)) for source in (text, joined) for m in _NUMBER_TOKEN.finditer(source)}
    numbers |= {_NUMBER_WORDS[w.group().lower()] for w in _NUMBER_WORD.finditer(text)}
    return numbers | {_STATED_FREQUENCIES[f.group().lower()] for f in _STATED_FREQUENCY.finditer(text)}


def states_value(text: str, value: ProposedValue) -> bool:
    """True when `text` states `value` in its unit ("10 CFU/100 mL" for 10 CFU/100, not "10 CFU/10 mL";
    "three batches" for 3 batch, "5 copies per cell" for 5 copies/cell); a value without a unit, or a
    frequency, only needs the number or frequency. A bare "10" elsewhere in the passage (10 years,
    section 10) does not state 10 CFU/100 mL."""
    if not value.unit or value.unit == "frequency":
        return value.value in stated_numbers(text)
    words = [w for w, n in _NUMBER_WORDS.items() if n == value.value]
    number = "|".join([re.escape(value.value).replace(r"\.", "[.,]"), *words])
    if value.unit in ("c", "\u00b0c"):
        unit = r"[\u00b0\u00ba]?\s*C\b"
    else:
        head, _, per = value.unit.partition("/")
        unit = rf"{re.escape(head)}(?:e?s)?(?![a-z])"  # "5 copies per cell" states 5 copies/cell
        if per.isdigit():  # but "10 CFU/10 mL" does not state 10 CFU/100 mL
            unit += rf"\s*(?:/|per)\s*{per}(?!\d)"
    return bool(re.search(rf"(?<![\w.,])(?:{number})(?:[.,]0+)?\s*{unit}", text, re.IGNORECASE))


def states_unit(text: str, unit: str) -> bool:
    """True when `text` speaks of quantities in `unit`: a value in it ("15 days", "annually", "25 °C") or
    the unit itself ("the number of batches"). Such a passage answers a question proposing another value,
    by correcting it or by saying what decides it; only the corpus's silence on the unit leaves a proposed
    value unsettled."""
    if unit == "frequency":
        return bool(_STATED_FREQUENCY.search(text))
    if unit in ("c", "\u00b0c"):
        return bool(re.search(r"\d\s*[\u00b0\u00ba]\s*C\b|\d\s*C\b", text))
    return bool(unit) and bool(re.search(rf"(?<![\w/]){re.escape(unit)}(?:e?s)?(?![a-z])", text, re.IGNORECASE))


# An ask for a period of time: "how many (extra, working) days ...", "within how many weeks".
_TIME_UNITS = ("minute", "hour", "day", "week", "month", "year")
_TIME_UNIT = "|".join(_TIME_UNITS)
# "how long" stays out: the guidance often answers it without a number ("the incubation duration should be
# justified", "as long as predicate rule requirements are met").
_PERIOD_ASK = re.compile(rf"\bhow many (?:\w+ )?(?:{_TIME_UNIT})s?\b", re.IGNORECASE)
_STATED_PERIOD = re.compile(
    rf"\b(?:\d+(?:[.,]\d+)?|{'|'.join(_NUMBER_WORDS)})(?:\s*(?:-|to|\u2013)\s*\d+)?[\s-]*"
    rf"(?:calendar |working |business )?(?:{_TIME_UNIT})s?\b",
    re.IGNORECASE,
)


_FURTHER_ASK = re.compile(
    rf"\b(?:and|or|but)\s+(?:\w+\s+)?(?:what|which|when|where|who|why|how|{_AUXILIARY})\b|\?.*\S.*\?", re.IGNORECASE
)


def asks_period(ask: str) -> bool:
    """True when `ask` asks only for a number of days, weeks, months or years ("how many days does the
    agency have?"); not when it asks something else too ("how many days must the assays run, and at which
    stages ...?": a passage may answer the rest), nor "how long" (answered as often by a rule without a
    number). A question proposing a period ("is 30 days enough?") is read by `proposed_values`."""
    return bool(_PERIOD_ASK.search(ask)) and not _FURTHER_ASK.search(ask)


def states_period(text: str) -> bool:
    """True when `text` states a period of time ("at least 1 year after expiry", "within 15 working days",
    "three months") or a frequency ("annually")."""
    return bool(_STATED_PERIOD.search(text) or _STATED_FREQUENCY.search(text))


def _unit_after(text: str, end: int) -> str:
    unit = _UNIT.match(text, end)
    if not unit or unit.group(1).lower() in _NOT_UNITS:
        return ""
    word = unit.group(1).lower().replace("\u00ba", "\u00b0").replace(" ", "")
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _normalise_number(token: str) -> str:
    token = token.replace(",", "") if re.fullmatch(r"\d{1,3}(?:,\d{3})+", token) else token.replace(",", ".")
    return token.rstrip("0").rstrip(".") if "." in token else token
