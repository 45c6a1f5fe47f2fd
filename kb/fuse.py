"""Fusion of the BM25 and dense rankings: reciprocal rank fusion, or a convex combination of scores."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["convex_fusion", "reciprocal_rank_fusion"]


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]], weights: Sequence[float], k: int = 60
) -> list[tuple[str, float]]:
    """score(id) = sum over rankings of weight / (k + rank), rank starting at 1; best first, ties by id."""
    if len(rankings) != len(weights):
        raise ValueError(f"{len(rankings)} rankings but {len(weights)} weights")
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))


def convex_fusion(scored: Sequence[Sequence[tuple[str, float]]], weights: Sequence[float]) -> list[tuple[str, float]]:
    """score(id) = weighted mean over the lists of the id's min-max normalised score (0 where a list lacks it).

    Unlike rank fusion it keeps the margin: a passage BM25 scores far above the rest is not levelled
    with the runners-up (Bruch et al., "An Analysis of Fusion Functions for Hybrid Retrieval", 2023).
    Each list is (id, score) pairs, higher better; a list whose scores are all equal counts 1 for each.
    Best first, ties by id.
    """
    if len(scored) != len(weights):
        raise ValueError(f"{len(scored)} score lists but {len(weights)} weights")
    total = sum(weights)
    if total <= 0:
        raise ValueError("fusion weights must not all be zero")
    scores: dict[str, float] = {}
    for pairs, weight in zip(scored, weights, strict=True):
        if not pairs or weight == 0:
            continue
        values = [score for _, score in pairs]
        low, high = min(values), max(values)
        for item, score in pairs:
            normalised = (score - low) / (high - low) if high > low else 1.0
            scores[item] = scores.get(item, 0.0) + weight * normalised / total
    for pairs in scored:  # an id only one list found still takes part, with 0 from the others
        for item, _ in pairs:
            scores.setdefault(item, 0.0)
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))
