"""The checkpoint map: ATMP development checkpoints in the EU and the US, and the evidence each expects.

The map lives in YAML under `corpus/checkpoints/`: `evidence.yaml` defines the stages, product types and
evidence items (each with an ordered maturity scale); every other file lists checkpoints. An evidence
item is modelled once and appears at many checkpoints at a rising level, which is what lets regkb
answer both "what must exist by checkpoint X?" and "when must evidence Y be ready?".

References name manifest documents. A reference to a document the corpus holds locally carries a page
and a verbatim quote (`verify_quotes` checks it on the stored page text); a reference to a document
that is not available offline carries neither, and every renderer says it was not checked.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kb.errors import ConfigError
from kb.models import DocumentRecord
from kb.quotes import verify_quote

__all__ = [
    "Level",
    "EvidenceItem",
    "Stage",
    "ProductType",
    "Reference",
    "Expectation",
    "Checkpoint",
    "CheckpointMap",
    "load_checkpoint_map",
    "references",
    "verify_quotes",
]

Confidence = Literal["V", "K", "CHECK"]  # seen in the source / domain knowledge / to be checked
Role = Literal["sponsor", "cdmo"]
Requirement = Literal["mandatory", "conditional", "optional"]
MapJurisdiction = Literal["EU", "US"]
VOCABULARY_FILE = "evidence.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Level(_Model):
    id: str
    title: str


class EvidenceItem(_Model):
    id: str
    title: str
    aliases: tuple[str, ...] = ()
    levels: tuple[Level, ...] = Field(min_length=1)

    def level(self, level_id: str) -> Level:
        return next(level for level in self.levels if level.id == level_id)

    def rank(self, level_id: str) -> int:
        """Position of the level on the item's scale, 1 for the least mature."""
        return [level.id for level in self.levels].index(level_id) + 1


class Stage(_Model):
    id: str
    title: str


class ProductType(_Model):
    id: str
    title: str
    aliases: tuple[str, ...] = ()


class Reference(_Model):
    doc: str  # manifest document id
    section: str = ""
    page: int | None = Field(None, ge=1)  # 1-based PDF page index of the local file
    quote: str | None = None  # verbatim from that page; only for documents available offline
    note: str = ""  # what the reference supports, in our words


class Expectation(_Model):
    """What one checkpoint expects of one evidence item, and at which maturity level."""

    item: str
    level: str
    expectation: str
    owners: tuple[Role, ...] = ("sponsor",)
    dossier: str = ""  # where the evidence sits: IMPD section, CTD 3.2.x, IND section, site file
    product_types: tuple[str, ...] = ()  # empty: every product type
    confidence: Confidence
    references: tuple[Reference, ...] = ()


class Checkpoint(_Model):
    id: str
    jurisdiction: MapJurisdiction
    stage: str
    title: str
    requirement: Requirement
    aliases: tuple[str, ...] = ()  # phrases that name this checkpoint in a question
    trigger: str
    procedure: str
    product_types: tuple[str, ...] = ()
    confidence: Confidence
    last_verified: datetime.date
    references: tuple[Reference, ...] = ()
    evidence: tuple[Expectation, ...] = ()
    failure_modes: tuple[str, ...] = ()


class _Vocabulary(_Model):
    version: int
    stages: tuple[Stage, ...]
    product_types: tuple[ProductType, ...]
    items: tuple[EvidenceItem, ...]


class _CheckpointFile(_Model):
    version: int
    checkpoints: tuple[Checkpoint, ...]


class CheckpointMap(_Model):
    stages: tuple[Stage, ...]
    product_types: tuple[ProductType, ...]
    items: tuple[EvidenceItem, ...]
    checkpoints: tuple[Checkpoint, ...]
    documents: dict[str, DocumentRecord] = Field(default_factory=dict, repr=False)  # the manifest entries cited

    def item(self, item_id: str) -> EvidenceItem:
        return next(item for item in self.items if item.id == item_id)

    def stage_rank(self, stage_id: str) -> int:
        return [stage.id for stage in self.stages].index(stage_id) + 1

    def stage(self, stage_id: str) -> Stage:
        return next(stage for stage in self.stages if stage.id == stage_id)


def load_checkpoint_map(folder: Path, documents: Mapping[str, DocumentRecord]) -> CheckpointMap:
    """Read and cross-check the map; `documents` is the corpus manifest by id."""
    vocabulary = _Vocabulary.model_validate(_read_yaml(folder / VOCABULARY_FILE))
    checkpoints: list[Checkpoint] = []
    for path in sorted(folder.glob("*.yaml")):
        if path.name != VOCABULARY_FILE:
            checkpoints += _parse(_CheckpointFile, path).checkpoints
    cmap = CheckpointMap(
        stages=vocabulary.stages,
        product_types=vocabulary.product_types,
        items=vocabulary.items,
        checkpoints=tuple(sorted(checkpoints, key=lambda c: (c.jurisdiction, _rank(vocabulary, c.stage), c.id))),
    )
    problems = _problems(cmap, documents)
    if problems:
        shown = "; ".join(problems[:8]) + (f"; and {len(problems) - 8} more" if len(problems) > 8 else "")
        raise ConfigError(f"checkpoint map {folder}: {shown}")
    cited = {ref.doc for _, ref in references(cmap)}
    return cmap.model_copy(update={"documents": {doc_id: documents[doc_id] for doc_id in sorted(cited)}})


def _rank(vocabulary: _Vocabulary, stage_id: str) -> int:
    ids = [stage.id for stage in vocabulary.stages]
    return ids.index(stage_id) if stage_id in ids else len(ids)


def _read_yaml(path: Path) -> Any:
    if not path.is_file():
        raise ConfigError(f"{path}: file not found; the checkpoint map needs it (set REGKB_CHECKPOINTS_DIR)")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc}); fix the file") from exc


def _parse(model: type[_CheckpointFile], path: Path) -> _CheckpointFile:
    try:
        return model.model_validate(_read_yaml(path))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{path}: {where}: {first['msg']} ({exc.error_count()} problem(s) in all)") from exc


def _problems(cmap: CheckpointMap, documents: Mapping[str, DocumentRecord]) -> list[str]:
    problems = _duplicates("stage", [s.id for s in cmap.stages])
    problems += _duplicates("product type", [p.id for p in cmap.product_types])
    problems += _duplicates("evidence item", [i.id for i in cmap.items])
    problems += _duplicates("checkpoint", [c.id for c in cmap.checkpoints])
    stages = {s.id for s in cmap.stages}
    types = {p.id for p in cmap.product_types}
    items = {i.id: i for i in cmap.items}
    for checkpoint in cmap.checkpoints:
        where = f"checkpoint {checkpoint.id}"
        if checkpoint.stage not in stages:
            problems.append(f"{where}: stage {checkpoint.stage!r} is not defined in {VOCABULARY_FILE}")
        problems += _unknown_types(where, checkpoint.product_types, types)
        problems += _reference_problems(where, checkpoint.references, documents)
        for expectation in checkpoint.evidence:
            at = f"{where}, item {expectation.item}"
            item = items.get(expectation.item)
            if item is None:
                problems.append(f"{at}: evidence item not defined in {VOCABULARY_FILE}")
            elif expectation.level not in {level.id for level in item.levels}:
                levels = ", ".join(level.id for level in item.levels)
                problems.append(f"{at}: level {expectation.level!r} is not one of {levels}")
            problems += _unknown_types(at, expectation.product_types, types)
            problems += _reference_problems(at, expectation.references, documents)
    return problems


def _duplicates(what: str, ids: list[str]) -> list[str]:
    return [f"{what} id {i!r} is defined twice" for i in sorted({i for i in ids if ids.count(i) > 1})]


def _unknown_types(where: str, product_types: Iterable[str], known: set[str]) -> list[str]:
    return [f"{where}: product type {t!r} is not defined in {VOCABULARY_FILE}" for t in product_types if t not in known]


def _reference_problems(
    where: str, references: Iterable[Reference], documents: Mapping[str, DocumentRecord]
) -> list[str]:
    problems = []
    for ref in references:
        record = documents.get(ref.doc)
        if record is None:
            problems.append(f"{where}: reference {ref.doc!r} is not a document of the corpus manifest")
        elif record.available_offline and (ref.page is None or not ref.quote):
            problems.append(f"{where}: {ref.doc} is available locally, so its reference needs a page and a quote")
        elif record.available_offline and record.pages and ref.page and ref.page > record.pages:
            problems.append(f"{where}: {ref.doc} has {record.pages} pages; page {ref.page} does not exist")
        elif not record.available_offline and (ref.page is not None or ref.quote):
            problems.append(
                f"{where}: {ref.doc} is not available offline, so a page or quote cannot be checked; remove them"
            )
    return problems


def references(cmap: CheckpointMap) -> list[tuple[str, Reference]]:
    """Every reference of the map with where it sits ("checkpoint us-ind, item potency")."""
    found = []
    for checkpoint in cmap.checkpoints:
        found += [(f"checkpoint {checkpoint.id}", ref) for ref in checkpoint.references]
        for expectation in checkpoint.evidence:
            found += [(f"checkpoint {checkpoint.id}, item {expectation.item}", ref) for ref in expectation.references]
    return found


def verify_quotes(cmap: CheckpointMap, page_text: Callable[[str, int], str | None]) -> list[str]:
    """Problems with the quotes of local references; `page_text(doc_id, page)` gives stored page text or None."""
    problems = []
    for where, ref in references(cmap):
        if ref.quote is None or ref.page is None:
            continue
        text = page_text(ref.doc, ref.page)
        if text is None:
            problems.append(f"{where}: {ref.doc} p. {ref.page} has no stored text (ingest the corpus first)")
        elif not verify_quote(ref.quote, [text]):
            problems.append(f"{where}: quote not found on {ref.doc} p. {ref.page}: {ref.quote[:80]!r}")
    return problems
