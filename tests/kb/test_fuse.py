import pytest

from kb.fuse import reciprocal_rank_fusion

pytestmark = pytest.mark.unit


def test_rrf_sums_reciprocal_ranks():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "d"]], [1.0, 1.0], k=60)
    scores = dict(fused)
    assert scores["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert scores["a"] == pytest.approx(1 / 61)
    assert scores["d"] == pytest.approx(1 / 62)
    assert [item for item, _ in fused] == ["b", "a", "d", "c"]


def test_rrf_weights_scale_each_ranking():
    fused = reciprocal_rank_fusion([["a"], ["b"]], [2.0, 1.0], k=10)
    assert fused == [("a", pytest.approx(2 / 11)), ("b", pytest.approx(1 / 11))]


def test_rrf_ties_break_by_id_and_zero_weight_drops_influence():
    assert [i for i, _ in reciprocal_rank_fusion([["b"], ["a"]], [1.0, 1.0])] == ["a", "b"]
    assert reciprocal_rank_fusion([["x"], ["y"]], [0.0, 1.0])[0][0] == "y"


def test_rrf_rejects_mismatched_weights():
    with pytest.raises(ValueError, match="2 rankings but 1 weights"):
        reciprocal_rank_fusion([["a"], ["b"]], [1.0])
