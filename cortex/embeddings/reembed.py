"""Re-embedding every indexed chunk into a fresh collection, then switching the search alias to it
in one step: what `cortex projections rebuild vectors` and a change of model do.

Search keeps answering from the old collection meanwhile. Chunks indexed while it runs are
picked up by a second pass before the switch and a last one after it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from uuid import UUID

import structlog

from cortex.embeddings.model import EmbeddingModel
from cortex.embeddings.passages import passage_text
from projections.chunk_queries import indexed_chunks
from projections.store import ReadStore
from projections.vector_index import VectorIndex, collection_name

logger = structlog.get_logger("cortex.embeddings")
BATCH = 256


def reembed_all(
    store: ReadStore,
    index: VectorIndex,
    model: EmbeddingModel,
    *,
    progress: Callable[[int], None] | None = None,
) -> tuple[str, int]:
    """Fill a new collection with every indexed chunk's vector; returns (collection, count)."""
    target = f"{collection_name(model.name, model.dimension)}_r{int(time.time())}"
    index.ensure_collection(target, model.dimension, alias=False)
    done: set[str] = set()
    _fill(store, index, model, target, done, progress)
    _fill(store, index, model, target, done, progress)
    previous = index.active_collection()
    index.switch_alias(target)
    _fill(store, index, model, target, done, progress)
    for name in index.collections():
        if name != target:
            index.drop(name)
    logger.info(
        "vectors_rebuilt", collection=target, previous=previous, chunks=len(done), model=model.name
    )
    return target, len(done)


def _fill(
    store: ReadStore,
    index: VectorIndex,
    model: EmbeddingModel,
    target: str,
    done: set[str],
    progress: Callable[[int], None] | None,
) -> None:
    after = ""
    while rows := indexed_chunks(store, after=after, limit=BATCH):
        after = str(rows[-1]["id"])
        fresh = [row for row in rows if str(row["id"]) not in done]
        if not fresh:
            continue
        embedded = model.embed_passages(
            [passage_text(str(row["text"]), str(row["heading"])) for row in fresh]
        )
        index.upsert(
            target,
            [UUID(str(row["id"])) for row in fresh],
            embedded.vectors,
            [
                {
                    "project_id": str(row["project_id"]),
                    "document_id": str(row["document_id"]),
                    "job_id": str(row["job_id"]),
                    "version": int(row["document_version"]),
                    "position": int(row["position"]),
                    "kind": str(row["kind"]),
                    "tags": list(row["tags"]),
                    "model": model.name,
                }
                for row in fresh
            ],
        )
        done.update(str(row["id"]) for row in fresh)
        if progress:
            progress(len(fresh))
