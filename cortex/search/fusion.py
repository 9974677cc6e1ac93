"""Reciprocal rank fusion: each retriever's ranking counts, not its incomparable scores."""

from __future__ import annotations

RRF_K = 60


def reciprocal_rank_fusion(
    rankings: dict[str, list[str]], k: int = RRF_K
) -> list[tuple[str, float, list[str]]]:
    """(id, fused score, retrievers that found it), best first; ties keep first-seen order."""
    scores: dict[str, float] = {}
    found_by: dict[str, list[str]] = {}
    for retriever, ids in rankings.items():
        for rank, item in enumerate(ids, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
            found_by.setdefault(item, []).append(retriever)
    ordered = sorted(scores, key=lambda item: -scores[item])
    return [(item, scores[item], found_by[item]) for item in ordered]
