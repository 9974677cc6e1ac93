"""Knowledge search: dense, keyword or hybrid (reciprocal rank fusion), filtered to the projects
the caller may read inside Qdrant and inside SQL, never after."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from cortex.embeddings.provider import EmbeddingProvider
from cortex.search.fusion import reciprocal_rank_fusion
from cortex.search.rerank import Reranker
from cortex.search.snippets import snippet
from projections.chunk_queries import (
    ChunkFilter,
    content_words,
    hydrate,
    keyword_search,
    query_words,
    words_matched,
)
from projections.store import ReadStore
from projections.vector_index import VectorIndex, holds_model

Mode = Literal["dense", "keyword", "hybrid"]
# In hybrid search a keyword hit counts only when it matches at least this share of the query's
# words ("minimum should match"). Any-word matches are what keyword mode alone returns (recall),
# but fused with dense results they mostly add noise: when the words miss the answer, the chunks
# sharing one common word with the question outvote dense's best hit. Measured on the retrieval
# set (tests/integration/test_search_quality.py) every share from a third to three quarters
# keeps hybrid at or above dense on both backends; half is the conventional middle.
HYBRID_MIN_WORD_SHARE = 0.5


class RetrieverUnavailable(Exception):
    """The only retriever the caller asked for cannot answer (no model, index of another model)."""


@dataclass(frozen=True)
class SearchQuery:
    text: str
    mode: Mode
    limit: int
    where: ChunkFilter
    rerank: bool = False


@dataclass(frozen=True)
class Hit:
    chunk_id: str
    document_id: str
    title: str
    kind: str
    document_version: int
    position: int
    heading: str
    snippet: str
    snippet_offset: int
    start_offset: int
    end_offset: int
    score: float
    retrievers: list[str]
    text: str = ""  # the chunk's whole text
    dense_score: float | None = None  # cosine similarity to the query, when dense found it


@dataclass
class SearchResult:
    hits: list[Hit]
    model: str | None = None
    unavailable: dict[str, str] = field(default_factory=dict)
    reranked: bool = False


class KnowledgeSearch:
    def __init__(
        self, store: ReadStore, index: VectorIndex, embedding: EmbeddingProvider, reranker: Reranker
    ) -> None:
        self._store = store
        self._index = index
        self._embedding = embedding
        self._reranker = reranker

    def search(self, query: SearchQuery) -> SearchResult:
        result = SearchResult(hits=[])
        candidates = max(query.limit * 4, 20)
        rankings: dict[str, list[str]] = {}
        scores: dict[str, dict[str, float]] = {}
        if query.mode in ("dense", "hybrid"):
            dense = self._dense(query, candidates, result)
            if dense is not None:
                rankings["dense"] = [chunk_id for chunk_id, _ in dense]
                scores["dense"] = dict(dense)
            elif query.mode == "dense":
                raise RetrieverUnavailable(result.unavailable["dense"])
        if query.mode in ("keyword", "hybrid"):
            keyword = keyword_search(self._store, query.text, query.where, limit=candidates)
            if query.mode == "hybrid":
                keyword = self._most_words(query.text, keyword)
            rankings["keyword"] = [chunk_id for chunk_id, _ in keyword]
            scores["keyword"] = dict(keyword)
        fused = reciprocal_rank_fusion(rankings)
        rows = hydrate(self._store, [chunk_id for chunk_id, _, _ in fused])
        words = query_words(query.text)
        texts = {chunk_id: str(row["text"]) for chunk_id, row in rows.items()}
        # Snippets only for what is returned (a larger pool when reranking reorders it).
        wanted = max(query.limit * 2, 10) if query.rerank else query.limit
        for chunk_id, fused_score, found_by in fused:
            row = rows.get(chunk_id)
            if row is None:
                continue  # a version being replaced, or a chunk deleted since it was indexed
            if len(result.hits) >= wanted:
                break
            single = query.mode != "hybrid" and query.mode in scores
            text, offset = snippet(row["text"], words)
            result.hits.append(
                Hit(
                    chunk_id=chunk_id,
                    document_id=str(row["document_id"]),
                    title=str(row["title"]),
                    kind=str(row["kind"]),
                    document_version=int(row["document_version"]),
                    position=int(row["position"]),
                    heading=str(row["heading"]),
                    snippet=text,
                    snippet_offset=int(row["start_offset"]) + offset,
                    start_offset=int(row["start_offset"]),
                    end_offset=int(row["end_offset"]),
                    score=scores[query.mode][chunk_id] if single else fused_score,
                    retrievers=found_by,
                    text=str(row["text"]),
                    dense_score=scores.get("dense", {}).get(chunk_id),
                )
            )
        if query.rerank:
            self._rerank(query, result, texts)
        result.hits = result.hits[: query.limit]
        return result

    def _most_words(self, text: str, hits: list[tuple[str, float]]) -> list[tuple[str, float]]:
        """The keyword hits that match enough of the query's words to be worth fusing."""
        words = content_words(text)
        need = max(1, math.ceil(HYBRID_MIN_WORD_SHARE * len(words)))
        if need == 1:
            return hits  # any hit matches one word
        matched = words_matched(self._store, [chunk_id for chunk_id, _ in hits], words)
        return [(chunk_id, score) for chunk_id, score in hits if matched[chunk_id] >= need]

    def _dense(
        self, query: SearchQuery, candidates: int, result: SearchResult
    ) -> list[tuple[str, float]] | None:
        model = self._embedding.model()
        if model is None:
            result.unavailable["dense"] = "no embedding model could be loaded (see /readyz)"
            return None
        result.model = model.name
        active = self._index.active_collection()
        if active is not None and not holds_model(active, model.name, model.dimension):
            result.unavailable["dense"] = (
                f"the index holds vectors of another model ({active}); "
                "run `cortex projections rebuild vectors`"
            )
            return None
        hits = self._index.search(
            model.embed_query(query.text),
            project_ids=query.where.project_ids,
            document_id=query.where.document_id,
            kind=query.where.kind,
            tags=query.where.tags,
            limit=candidates,
        )
        return [(hit.chunk_id, hit.score) for hit in hits]

    def _rerank(self, query: SearchQuery, result: SearchResult, texts: dict[str, str]) -> None:
        pool = result.hits[: max(query.limit * 2, 10)]
        scores = self._reranker.scores(query.text, [texts[hit.chunk_id] for hit in pool])
        if scores is None:
            result.unavailable["rerank"] = self._reranker.unavailable or "unavailable"
            return
        ranked = sorted(zip(scores, pool, strict=True), key=lambda pair: -pair[0])
        result.hits = [hit for _, hit in ranked] + result.hits[len(pool) :]
        result.reranked = True
