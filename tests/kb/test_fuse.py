import pytest

from kb.fuse import convex_fusion, reciprocal_rank_fusion

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


@pytest.mark.unit
def test_convex_fusion_keeps_a_clear_keyword_margin_that_rank_fusion_levels():
    # BM25 puts "answer" far ahead; dense puts it fourth of five, behind near-ties. Rank fusion ranks it
    # below the runners-up that both lists like a little; score fusion keeps the margin.
    dense = [("title", 0.67), ("ref1", 0.66), ("intro", 0.65), ("answer", 0.57), ("tail", 0.45)]
    keyword = [("answer", 9.8), ("title", 6.6), ("ref1", 5.5), ("intro", 5.3), ("tail", 2.0)]
    ranks = reciprocal_rank_fusion([[i for i, _ in dense], [i for i, _ in keyword]], [0.4, 0.6], k=20)
    assert ranks[0][0] == "title"
    fused = convex_fusion([dense, keyword], [0.4, 0.6])
    assert fused[0][0] == "answer"
    assert fused[0][1] == pytest.approx(0.4 * (0.57 - 0.45) / (0.67 - 0.45) + 0.6 * 1.0)
    assert fused[-1] == ("tail", 0.0)


@pytest.mark.unit
def test_convex_fusion_counts_zero_for_a_list_that_missed_an_id_and_skips_zero_weights():
    fused = dict(convex_fusion([[("a", 0.9), ("b", 0.5)], [("c", 3.0), ("a", 1.0)]], [0.5, 0.5]))
    assert fused == {"a": pytest.approx(0.5), "b": 0.0, "c": pytest.approx(0.5)}
    only_keyword = convex_fusion([[("a", 0.9)], [("b", 2.0), ("a", 1.0)]], [0.0, 1.0])
    assert [i for i, _ in only_keyword] == ["b", "a"]
    assert convex_fusion([[("x", 0.3)], []], [1.0, 1.0]) == [("x", 0.5)]  # one score: full marks in its list


@pytest.mark.unit
def test_convex_fusion_refuses_mismatched_or_all_zero_weights():
    with pytest.raises(ValueError, match="weights"):
        convex_fusion([[("a", 1.0)]], [1.0, 1.0])
    with pytest.raises(ValueError, match="zero"):
        convex_fusion([[("a", 1.0)]], [0.0])


def test_settings_refuse_two_zero_fusion_weights_and_name_the_fix():
    from pydantic import ValidationError

    from kb.settings import RetrievalSettings

    with pytest.raises(ValidationError, match="REGKB_RETRIEVAL__DENSE_WEIGHT"):
        RetrievalSettings(dense_weight=0, keyword_weight=0)
    assert RetrievalSettings(dense_weight=0).fusion == "convex"
