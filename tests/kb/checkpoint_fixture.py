"""A small checkpoint map for unit tests: two stages, two items, one EU and two US checkpoints."""

from __future__ import annotations

from pathlib import Path

import yaml

from kb.models import DocumentRecord

QUOTE = "Phase 1 submissions should focus on safety."
PAGE_TEXT = {("local-guide", 3): f"{QUOTE}\nStability data should cover the study."}

DOCUMENTS = {
    "local-guide": DocumentRecord(
        id="local-guide",
        title="Local Guide",
        agency="FDA",
        jurisdiction="US",
        doc_type="guidance",
        reference="REF-LOCAL",
        version="1",
        status="final",
        url="https://www.fda.gov/local",
        file="local.pdf",
        pages=5,
    ),
    "remote-reg": DocumentRecord(
        id="remote-reg",
        title="Remote Regulation",
        agency="European Commission",
        jurisdiction="EU",
        doc_type="regulation",
        reference="Reg 1/2000",
        version="1",
        status="final",
        url="https://eur-lex.europa.eu/remote",
        file=None,
        available_offline=False,
    ),
}

VOCABULARY = {
    "version": 1,
    "stages": [{"id": "first-in-human", "title": "First in human"}, {"id": "licence", "title": "Licence"}],
    "product_types": [
        {"id": "autologous-cells", "title": "Autologous", "aliases": ["autologous"]},
        {"id": "allogeneic-cells", "title": "Allogeneic", "aliases": ["allogeneic"]},
    ],
    "items": [
        {
            "id": "potency",
            "title": "Potency assay",
            "aliases": ["potency assay", "potency"],
            "levels": [{"id": "quantitative", "title": "Quantitative"}, {"id": "validated", "title": "Validated"}],
        },
        {
            "id": "stability",
            "title": "Stability",
            "aliases": ["stability"],
            "levels": [{"id": "use-period", "title": "Use period"}],
        },
        {
            "id": "quality-system",
            "title": "Quality system",
            "aliases": ["GMP"],
            "levels": [{"id": "clinical", "title": "Clinical GMP"}],
        },
    ],
}


def _expectation(item: str, level: str, **extra: object) -> dict[str, object]:
    return {"item": item, "level": level, "expectation": f"{item} at {level}", "confidence": "K", **extra}


CHECKPOINTS = {
    "version": 1,
    "checkpoints": [
        {
            "id": "us-ind",
            "jurisdiction": "US",
            "stage": "first-in-human",
            "title": "IND",
            "requirement": "mandatory",
            "aliases": ["IND", "Phase 1", "first-in-human"],
            "trigger": "Before dosing",
            "procedure": "30 days",
            "confidence": "V",
            "last_verified": "2026-11-27",
            "references": [{"doc": "local-guide", "section": "II", "page": 3, "quote": QUOTE}],
            "evidence": [
                _expectation("potency", "quantitative"),
                _expectation("quality-system", "clinical", product_types=["allogeneic-cells"], owners=["cdmo"]),
            ],
        },
        {
            "id": "us-bla",
            "jurisdiction": "US",
            "stage": "licence",
            "title": "BLA",
            "requirement": "mandatory",
            "aliases": ["BLA"],
            "trigger": "Licence",
            "procedure": "Review",
            "confidence": "K",
            "last_verified": "2026-11-27",
            "evidence": [_expectation("potency", "validated")],
        },
        {
            "id": "eu-cta",
            "jurisdiction": "EU",
            "stage": "first-in-human",
            "title": "CTA",
            "requirement": "mandatory",
            "aliases": ["CTA", "first-in-human", "first GMP batch"],
            "trigger": "Before dosing",
            "procedure": "CTIS",
            "confidence": "V",
            "last_verified": "2026-11-27",
            "references": [{"doc": "remote-reg", "section": "Art 25"}],
            "evidence": [_expectation("potency", "quantitative", references=[{"doc": "remote-reg"}])],
        },
    ],
}


def write_map(folder: Path, checkpoints: dict | None = None, vocabulary: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "evidence.yaml").write_text(yaml.safe_dump(vocabulary or VOCABULARY))
    (folder / "map.yaml").write_text(yaml.safe_dump(checkpoints or CHECKPOINTS))
    return folder


def page_text(doc_id: str, page: int) -> str | None:
    return PAGE_TEXT.get((doc_id, page))
