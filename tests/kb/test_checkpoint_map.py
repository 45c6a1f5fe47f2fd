"""Loading the checkpoint map: schema, cross-checks against the manifest and the vocabulary, quote checks."""

from __future__ import annotations

import copy

import pytest

from kb.checkpoint_map import load_checkpoint_map, verify_quotes
from kb.errors import ConfigError
from tests.kb.checkpoint_fixture import CHECKPOINTS, DOCUMENTS, page_text, write_map

pytestmark = pytest.mark.unit


def test_loads_sorted_by_jurisdiction_then_stage_and_keeps_the_cited_documents(tmp_path):
    cmap = load_checkpoint_map(write_map(tmp_path), DOCUMENTS)
    assert [c.id for c in cmap.checkpoints] == ["eu-cta", "us-ind", "us-bla"]
    assert sorted(cmap.documents) == ["local-guide", "remote-reg"]
    assert cmap.item("potency").rank("validated") == 2


def _broken(change) -> dict:
    data = copy.deepcopy(CHECKPOINTS)
    change(data["checkpoints"])
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda cps: cps[0]["references"].append({"doc": "nowhere"}), "'nowhere' is not a document of the corpus"),
        (lambda cps: cps[0]["evidence"][0].update(level="perfect"), "level 'perfect' is not one of quantitative"),
        (lambda cps: cps[0]["evidence"][0].update(item="vibes"), "item vibes: evidence item not defined"),
        (lambda cps: cps[0].update(stage="someday"), "stage 'someday' is not defined"),
        (lambda cps: cps[1].update(id="us-ind"), "checkpoint id 'us-ind' is defined twice"),
        (lambda cps: cps[0]["references"][0].pop("quote"), "its reference needs a page and a quote"),
        (lambda cps: cps[2]["references"][0].update(page=2), "not available offline, so a page or quote cannot be"),
        (lambda cps: cps[0]["references"][0].update(page=9), "local-guide has 5 pages; page 9 does not exist"),
        (lambda cps: cps[0].update(product_types=["martian"]), "product type 'martian' is not defined"),
    ],
)
def test_bad_map_is_refused_with_the_place_and_the_reason(tmp_path, change, message):
    with pytest.raises(ConfigError, match="checkpoint map") as caught:
        load_checkpoint_map(write_map(tmp_path, _broken(change)), DOCUMENTS)
    assert message in str(caught.value)


def test_unknown_field_and_missing_file_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"map.yaml: checkpoints.0.colour: Extra inputs are not permitted"):
        load_checkpoint_map(write_map(tmp_path, _broken(lambda cps: cps[0].update(colour="red"))), DOCUMENTS)
    with pytest.raises(ConfigError, match="evidence.yaml: file not found"):
        load_checkpoint_map(tmp_path / "elsewhere", DOCUMENTS)


def test_verify_quotes_reports_a_quote_missing_from_its_page(tmp_path):
    cmap = load_checkpoint_map(write_map(tmp_path), DOCUMENTS)
    assert verify_quotes(cmap, page_text) == []
    wrong = _broken(lambda cps: cps[0]["references"][0].update(quote="Phase 1 submissions should focus on price."))
    problems = verify_quotes(load_checkpoint_map(write_map(tmp_path, wrong), DOCUMENTS), page_text)
    assert problems == [
        "checkpoint us-ind: quote not found on local-guide p. 3: 'Phase 1 submissions should focus on price.'"
    ]
    assert verify_quotes(cmap, lambda doc, page: None) == [
        "checkpoint us-ind: local-guide p. 3 has no stored text (ingest the corpus first)"
    ]
