"""Builds a question's context pack: hybrid search over the project's chunks and its ideas that
share the question's words, only what is relevant, near-duplicates dropped, best first, whole
items up to the token budget as the lane's model counts tokens.

Relevance: a chunk counts when the keyword retriever supports it (in hybrid search a keyword hit
matches at least half of the question's words) or when its dense similarity reaches
``DENSE_FLOOR``; an idea counts when it holds at least half of the question's words. Order: the
chunks' reciprocal-rank-fusion score, the ideas ranked by words held as a third retriever on the
same scale (1 / (60 + rank)), so an idea ranks like a chunk found by one retriever.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from cortex.context.duplicates import drop_near_duplicates
from cortex.context.pack import ContextItem, ContextPack
from cortex.lanes.tokens import Counter, LaneTokenizer
from cortex.lanes.types import Lane
from cortex.search.fusion import RRF_K
from cortex.search.service import HYBRID_MIN_WORD_SHARE, Hit, KnowledgeSearch, SearchQuery
from projections.chunk_queries import MAX_QUERY_WORDS, STOP_WORDS, ChunkFilter
from projections.idea_queries import ideas_with_words
from projections.search_words import words
from projections.store import ReadStore

CHUNK_POOL = 20  # chunks asked of hybrid search before relevance, duplicates and the budget
IDEA_POOL = 10
# The least cosine similarity (all-MiniLM-L6-v2) at which a chunk that only dense search found
# counts as relevant. Measured with this rule on the retrieval set of
# tests/integration/test_search_quality.py (38 questions over 14 documents, real chunks) and 18
# questions about nothing in it: at 0.20 / 0.25 / 0.30 / 0.35 / 0.40 the answer chunk stays in
# 37 / 36 / 35 / 31 / 30 of 38 packs, and 8 / 4 / 1 / 1 / 0 of the 18 absent questions still
# find "something relevant". From 0.25 to 0.30 one answer is lost and three false finds go;
# above 0.30 answers are lost for nothing. The sets are small and the absent questions were
# written for this, so it is a measured middle, not a tuned optimum; the answer prompt is the
# second gate (the model is told to say "not found").
DENSE_FLOOR = 0.30


class ContextBuilder:
    def __init__(
        self,
        search: KnowledgeSearch,
        store: ReadStore,
        tokens: LaneTokenizer,
        lane: Lane = Lane.FAST_RAG,
    ) -> None:
        self._search = search
        self._store = store
        self.tokens = tokens
        self.lane = lane

    def build(
        self, project_id: str, question: str, token_budget: int, *, overhead: Sequence[str] = ()
    ) -> ContextPack:
        """The pack for ``question`` in one project; ``overhead`` (the prompt's own texts) is
        counted against the budget with the same tokenizer."""
        where = ChunkFilter(project_ids=[project_id])
        result = self._search.search(SearchQuery(question, "hybrid", CHUNK_POOL, where))
        chunks = [_chunk(hit) for hit in result.hits if _relevant(hit)]
        ideas = self._ideas(project_id, question)
        ranked = sorted([*chunks, *ideas], key=lambda item: -item.score)  # ties: chunks first
        kept, duplicates = drop_near_duplicates(ranked, lambda item: item.text)

        def pack(counter: Counter) -> ContextPack:
            spent = sum(counter.count(text) for text in overhead)
            items, used = _fit(kept, token_budget - spent, counter)
            return ContextPack(
                question=question,
                items=items,
                token_budget=token_budget,
                tokens=used,
                overhead_tokens=spent,
                tokenizer=counter.name,
                candidates=len(result.hits) + len(ideas),
                relevant=len(chunks) + len(ideas),
                dropped_duplicates=duplicates,
                dropped_over_budget=len(kept) - len(items),
                unavailable=dict(result.unavailable),
            )

        return self.tokens.counting(self.lane, pack)

    def _ideas(self, project_id: str, question: str) -> list[ContextItem]:
        wanted = [word for word in words(question) if word not in STOP_WORDS] or words(question)
        wanted = wanted[:MAX_QUERY_WORDS]
        least = max(1, math.ceil(HYBRID_MIN_WORD_SHARE * len(wanted)))
        rows = ideas_with_words(self._store, project_id, wanted, least=least, limit=IDEA_POOL)
        return [
            ContextItem(
                kind="idea",
                title=str(row["title"]),
                text=str(row["body"]).strip() or str(row["title"]),  # the header names it
                score=1.0 / (RRF_K + rank),
                retrievers=("idea_words",),
                idea_id=str(row["id"]),
                status=str(row["status"]),
            )
            for rank, (row, _) in enumerate(rows, start=1)
        ]


def _relevant(hit: Hit) -> bool:
    return "keyword" in hit.retrievers or (hit.dense_score or 0.0) >= DENSE_FLOOR


def _chunk(hit: Hit) -> ContextItem:
    return ContextItem(
        kind="chunk",
        title=hit.title,
        text=hit.text,
        score=hit.score,
        retrievers=tuple(hit.retrievers),
        document_id=hit.document_id,
        chunk_id=hit.chunk_id,
        position=hit.position,
        heading=hit.heading,
        start_offset=hit.start_offset,
        end_offset=hit.end_offset,
    )


def _fit(ranked: list[ContextItem], room: int, counter: Counter) -> tuple[list[ContextItem], int]:
    """Whole items, best first, while they fit; a smaller one may still fit after a big one."""
    items: list[ContextItem] = []
    used = 0
    for candidate in ranked:
        item = replace(candidate, citation=f"c{len(items) + 1}")
        tokens = counter.count(item.source())
        if used + tokens <= room:
            items.append(replace(item, tokens=tokens))
            used += tokens
    return items, used
