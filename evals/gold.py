"""The gold question set: evals/gold/*.yaml, with a fixed dev/test split derived from each question's id."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from kb.errors import ConfigError

__all__ = ["GoldRef", "GoldQuestion", "KINDS", "GOLD_DIR", "load_gold", "split_of"]

GOLD_DIR = Path(__file__).resolve().parent / "gold"
KINDS = ("checkpoint", "documentation", "definition", "procedure", "comparison", "unanswerable")
# 30% of the questions form the test portion, never used for tuning. The split is a function of the id,
# so adding questions never moves an existing one between portions. A file named hard_*.yaml is a
# pre-registered hard test portion of its own ("hard"): all of it is test, never tuned on, and it is
# the headline portion of the report (issue 13). A file named dev_*.yaml is a pre-registered tuning set in
# the hard portion's style: all of it is dev.
TEST_SHARE_PERCENT = 30
HARD_PREFIX = "hard_"
DEV_PREFIX = "dev_"
Split = Literal["dev", "test", "hard"]


@dataclass(frozen=True)
class GoldRef:
    doc: str
    pages: tuple[int, ...]


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    question: str
    kind: str
    gold: tuple[GoldRef, ...]
    nuggets: tuple[str, ...]
    split: Split
    checkpoints: tuple[str, ...] = ()  # checkpoint-map ids the answer's checklist must show

    @property
    def map_only(self) -> bool:
        """Answered by the checkpoint map alone: no local page holds the answer."""
        return self.kind != "unanswerable" and not self.gold

    @property
    def answerable(self) -> bool:
        return self.kind != "unanswerable"

    @property
    def gold_docs(self) -> set[str]:
        return {ref.doc for ref in self.gold}

    def is_gold_page(self, doc_id: str, pages: tuple[int, ...]) -> bool:
        return any(ref.doc == doc_id and set(ref.pages) & set(pages) for ref in self.gold)


def split_of(question_id: str) -> Literal["dev", "test"]:
    bucket = int(hashlib.sha256(question_id.encode()).hexdigest()[:8], 16) % 100
    return "test" if bucket < TEST_SHARE_PERCENT else "dev"


def load_gold(folder: Path = GOLD_DIR) -> list[GoldQuestion]:
    questions: list[GoldQuestion] = []
    for path in sorted(folder.glob("*.yaml")):
        for index, raw in enumerate(yaml.safe_load(path.read_text()) or []):
            question = _question(path, index, raw)
            if path.name.startswith(HARD_PREFIX):
                question = dataclasses.replace(question, split="hard")
            elif path.name.startswith(DEV_PREFIX):
                question = dataclasses.replace(question, split="dev")
            questions.append(question)
    ids = [q.id for q in questions]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ConfigError(f"{folder}: duplicate question ids {', '.join(duplicates)}; ids must be unique")
    return questions


def _question(path: Path, index: int, raw: dict) -> GoldQuestion:
    where = f"{path.name} item {index} ({raw.get('id', '?') if isinstance(raw, dict) else '?'})"
    if not isinstance(raw, dict) or not raw.get("id") or not raw.get("question"):
        raise ConfigError(f"{where}: each question needs an id and a question")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise ConfigError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    gold = tuple(GoldRef(str(g["doc"]), tuple(int(p) for p in g["pages"])) for g in raw.get("gold") or [])
    checkpoints = tuple(str(c) for c in raw.get("checkpoints") or [])
    if kind == "unanswerable" and gold:
        raise ConfigError(f"{where}: unanswerable questions have no gold pages")
    if kind != "unanswerable" and not gold and not checkpoints:
        raise ConfigError(f"{where}: answerable questions need gold pages, or checkpoints the map answers with")
    return GoldQuestion(
        id=str(raw["id"]),
        question=str(raw["question"]),
        kind=kind,
        gold=gold,
        nuggets=tuple(str(n) for n in raw.get("nuggets") or []),
        split=split_of(str(raw["id"])),
        checkpoints=checkpoints,
    )
