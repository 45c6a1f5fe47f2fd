"""The repo's checkpoint map as content: it loads against the manifest, covers the checkpoints the product
promises, and every evidence item matures (never regresses) from stage to stage within a jurisdiction."""

from __future__ import annotations

from collections import defaultdict

import pytest

from kb.catalog import load_checkpoints
from kb.settings import Settings

pytestmark = pytest.mark.unit

CMAP = load_checkpoints(Settings())  # refuses unknown documents, items, levels, stages and product types

EU = {
    "eu-classification", "eu-sme-certification", "eu-scientific-advice", "eu-prime", "eu-first-gmp-batch",
    "eu-hospital-exemption", "eu-fih-cta", "eu-gmo", "eu-pip", "eu-confirmatory", "eu-maa", "eu-post-authorisation",
}  # fmt: skip
US = {
    "us-pathway", "us-interact", "us-pre-ind", "us-phase1-cgmp", "us-ind", "us-expedited", "us-phase2-transition",
    "us-eop2", "us-bla", "us-post-approval", "us-ltfu",
}  # fmt: skip


def test_the_promised_checkpoints_are_there():
    assert {c.id for c in CMAP.checkpoints if c.jurisdiction == "EU"} == EU
    assert {c.id for c in CMAP.checkpoints if c.jurisdiction == "US"} == US


def test_every_checkpoint_is_cited_dated_and_lists_evidence():
    for c in CMAP.checkpoints:
        assert c.references and c.evidence and c.aliases, c.id
        assert c.last_verified.year >= 2026, c.id
        assert all(e.references for e in c.evidence if e.confidence == "V"), c.id


def test_every_item_is_used_at_several_checkpoints():
    used = defaultdict(set)
    for c in CMAP.checkpoints:
        for e in c.evidence:
            used[e.item].add(c.id)
    assert {i.id: len(used[i.id]) for i in CMAP.items if len(used[i.id]) < 2} == {}


def test_aliases_are_unique_within_a_jurisdiction():
    seen: dict[tuple[str, str], str] = {}
    for c in CMAP.checkpoints:
        for alias in c.aliases:
            key = (c.jurisdiction, alias.lower())
            assert key not in seen, f"{alias!r} names both {seen[key]} and {c.id}"
            seen[key] = c.id


@pytest.mark.parametrize("item", ["process-validation", "potency", "analytical-procedures", "specifications"])
def test_maturity_never_goes_down_along_the_main_path(item):
    """Along the mandatory route (first batch, first in human, pivotal, licence, after), levels only rise."""
    main = ("first-gmp-batch", "first-in-human", "confirmatory", "marketing-authorisation", "post-authorisation")
    for jurisdiction in ("EU", "US"):
        path = [
            (CMAP.stage_rank(c.stage), CMAP.item(item).rank(e.level), c.id)
            for c in CMAP.checkpoints
            if c.jurisdiction == jurisdiction and c.stage in main
            for e in c.evidence
            if e.item == item
        ]
        ranks = [rank for _, rank, _ in sorted(path)]
        assert len(ranks) >= 3 and ranks == sorted(ranks), (jurisdiction, sorted(path))
