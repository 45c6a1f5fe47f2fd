import pytest

from kb.errors import IndexStateError
from kb.keyword_index import build_keyword_index, load_keyword_index, save_keyword_index

pytestmark = pytest.mark.unit

TEXTS = {
    "a": "Process validation stage 1 is process design, stage 2 process qualification.",
    "b": "The quality unit reviews and approves batch production records.",
    "c": "Out-of-specification results are investigated by the laboratory.",
}


def test_bm25_ranks_matching_chunks_and_stems():
    index = build_keyword_index(list(TEXTS), list(TEXTS.values()))
    hits = index.search("validating the processes", k=3)
    assert [h.chunk_id for h in hits] == ["a"]


def test_mask_filters_inside_the_scoring():
    index = build_keyword_index(list(TEXTS), list(TEXTS.values()))
    assert [h.chunk_id for h in index.search("batch records quality", k=3, allowed=index.mask(["a", "c"]))] == []
    assert [h.chunk_id for h in index.search("batch records quality", k=3, allowed=index.mask(["b"]))] == ["b"]


def test_save_and_load_round_trip(tmp_path):
    save_keyword_index(build_keyword_index(list(TEXTS), list(TEXTS.values())), tmp_path / "bm25")
    loaded = load_keyword_index(tmp_path / "bm25")
    assert loaded.chunk_ids == ["a", "b", "c"]
    assert loaded.search("laboratory investigation", k=2)[0].chunk_id == "c"


def test_missing_index_says_how_to_build(tmp_path):
    with pytest.raises(IndexStateError, match="run `regkb ingest`"):
        load_keyword_index(tmp_path / "nothing")
