"""Internal lessons learned: Markdown with YAML front matter under corpus/lessons/ (REGKB_LESSONS_DIR).

Each lesson becomes a document with doc_type `internal_lesson`, jurisdiction `internal` and its
`visibility` (internal or confidential), ingested through the same pipeline as the guidance. A lesson
whose front matter is wrong is reported and skipped; the others are ingested.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ingest.parse_text import split_front_matter
from kb.models import DocumentRecord

__all__ = ["LessonMeta", "Lesson", "LessonProblem", "load_lessons", "lesson_template", "SECTIONS"]

SECTIONS = ("What happened", "Why it mattered", "Root cause", "What we changed", "What to check next time")
_ID = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


class LessonMeta(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=_ID)
    title: str = Field(min_length=5, max_length=200)
    date: datetime.date
    illustrative: bool = False
    product_type: str
    stage: str
    checkpoint: str | None = None
    themes: list[str] = Field(min_length=1, max_length=5)
    severity: Literal["low", "medium", "high", "critical"]
    visibility: Literal["internal", "confidential"]
    owner: str = Field(min_length=2)
    related: list[str] = Field(default_factory=list, max_length=8)

    @field_validator("themes")
    @classmethod
    def _kebab(cls, themes: list[str]) -> list[str]:
        bad = [t for t in themes if not re.match(_ID, t)]
        if bad:
            raise ValueError(f"themes must be lowercase kebab-case: {', '.join(bad)}")
        return themes


@dataclass(frozen=True)
class Lesson:
    meta: LessonMeta
    path: Path
    record: DocumentRecord


@dataclass(frozen=True)
class LessonProblem:
    path: Path
    reason: str


def _record(meta: LessonMeta, path: Path) -> DocumentRecord:
    label = "Illustrative internal lesson" if meta.illustrative else "Internal lesson"
    return DocumentRecord(
        id=f"lesson-{meta.id}",
        title=meta.title,
        agency="Internal",
        jurisdiction="internal",
        doc_type="internal_lesson",
        reference=f"{label} {meta.id} ({meta.date.isoformat()})",
        version=meta.date.isoformat(),
        status="final",
        url=f"regkb://lessons/{meta.id}",
        file=path.name,
        pages=1,
        notes=f"{meta.severity} severity; {meta.product_type}; {meta.stage}; themes {', '.join(meta.themes)}; "
        f"owner {meta.owner}",
        visibility=meta.visibility,
    )


def _read(path: Path) -> LessonMeta:
    front, body = split_front_matter(path.read_text(encoding="utf-8"))
    if not front:
        raise ValueError("no YAML front matter (a --- block at the top); `regkb lessons new` writes a template")
    try:
        meta = LessonMeta.model_validate(yaml.safe_load(front))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ValueError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from exc
    except yaml.YAMLError as exc:
        raise ValueError(f"front matter is not valid YAML ({exc})") from exc
    if meta.id != path.stem:
        raise ValueError(f"id {meta.id!r} differs from the file name; name the file {meta.id}.md")
    missing = [s for s in SECTIONS if f"## {s}" not in body]
    if missing:
        raise ValueError(f"missing section(s): {', '.join('## ' + s for s in missing)}")
    return meta


def load_lessons(
    folder: Path,
    *,
    known_docs: Collection[str] = (),
    stages: Collection[str] = (),
    product_types: Collection[str] = (),
    checkpoints: Collection[str] = (),
) -> tuple[list[Lesson], list[LessonProblem]]:
    """Every `*.md` lesson of `folder`; the optional collections cross-check the front matter's ids."""
    lessons, problems = [], []
    for path in sorted(folder.glob("*.md")) if folder.is_dir() else []:
        try:
            meta = _read(path)
            cross = [
                f"related document {d!r} is not in the corpus manifest"
                for d in meta.related
                if known_docs and d not in known_docs
            ]
            cross += (
                [f"stage {meta.stage!r} is not a checkpoint-map stage"] if stages and meta.stage not in stages else []
            )
            cross += (
                [f"product_type {meta.product_type!r} is not a checkpoint-map product type"]
                if product_types and meta.product_type not in product_types
                else []
            )
            cross += (
                [f"checkpoint {meta.checkpoint!r} is not in the checkpoint map"]
                if checkpoints and meta.checkpoint and meta.checkpoint not in checkpoints
                else []
            )
            if cross:
                raise ValueError("; ".join(cross))
        except (ValueError, OSError, UnicodeDecodeError) as exc:
            problems.append(LessonProblem(path, str(exc)))
            continue
        lessons.append(Lesson(meta, path, _record(meta, path)))
    seen: dict[str, Path] = {}
    for lesson in lessons:
        if lesson.meta.id in seen:
            problems.append(LessonProblem(lesson.path, f"id {lesson.meta.id!r} is also used by {seen[lesson.meta.id]}"))
        seen[lesson.meta.id] = lesson.path
    return lessons, problems


def lesson_template(
    lesson_id: str, title: str, *, visibility: str = "internal", today: datetime.date | None = None
) -> str:
    sections = "\n\n".join(f"## {s}\n\n..." for s in SECTIONS)
    return (
        "---\n"
        f"id: {lesson_id}\n"
        f'title: "{title}"\n'
        f"date: {(today or datetime.date.today()).isoformat()}\n"
        "illustrative: false\n"
        "product_type: autologous-cells   # autologous-cells, allogeneic-cells, in-vivo-gene-therapy, "
        "ex-vivo-modified-cells, genome-edited, tissue-engineered\n"
        "stage: first-gmp-batch           # a checkpoint-map stage (regkb checkpoints --list)\n"
        "checkpoint: null                 # optional checkpoint id, e.g. eu-first-gmp-batch\n"
        "themes: [theme-one]\n"
        "severity: medium                 # low, medium, high, critical\n"
        f"visibility: {visibility}           # internal or confidential\n"
        'owner: "role of the owner"\n'
        "related: []                      # manifest document ids\n"
        "---\n\n"
        f"{sections}\n"
    )
