"""The chunk vectors in Qdrant: one collection per embedding model, searched through an alias.

Point ids are chunk ids, so writing a chunk's vector again replaces it. The payload carries what
search filters on (project, document, kind, tags) and what clean-up needs (version, job).
"""

from __future__ import annotations

import re
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import numpy as np
from qdrant_client import QdrantClient, models

ALIAS = "cortex_chunks"
PREFIX = "chunks_"
FILTER_FIELDS: dict[str, models.PayloadSchemaType] = {
    "project_id": models.PayloadSchemaType.KEYWORD,
    "document_id": models.PayloadSchemaType.KEYWORD,
    "job_id": models.PayloadSchemaType.KEYWORD,
    "kind": models.PayloadSchemaType.KEYWORD,
    "tags": models.PayloadSchemaType.KEYWORD,
    "version": models.PayloadSchemaType.INTEGER,
    "position": models.PayloadSchemaType.INTEGER,
}


@dataclass(frozen=True)
class VectorHit:
    chunk_id: str
    score: float
    payload: dict[str, Any]


def collection_name(model: str, dimension: int) -> str:
    """The collection of a model's vectors; rebuilds add ``_r<time>`` to it."""
    slug = re.sub(r"[^a-z0-9]+", "_", model.lower()).strip("_")
    return f"{PREFIX}{slug}_{dimension}"


def holds_model(collection: str, model: str, dimension: int) -> bool:
    base = collection_name(model, dimension)
    return collection == base or collection.startswith(base + "_r")


class VectorIndex:
    """Qdrant, opened on first use (local mode holds a lock on its folder for one process)."""

    def __init__(self, connect: Callable[[], QdrantClient], *, description: str) -> None:
        self._connect = connect
        self._client: QdrantClient | None = None
        self._lock = threading.RLock()
        self.description = description

    @contextmanager
    def client(self) -> Iterator[QdrantClient]:
        # The local mode is not safe for concurrent use; a server does not mind the lock.
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            yield self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def ensure_collection(self, name: str, dimension: int, *, alias: bool = True) -> None:
        """Create the collection (with payload indexes) if missing; point the alias at it when
        there is no alias yet."""
        with self.client() as client:
            if not client.collection_exists(name):
                client.create_collection(
                    name,
                    vectors_config=models.VectorParams(
                        size=dimension, distance=models.Distance.COSINE
                    ),
                )
                with warnings.catch_warnings():
                    # The local mode filters by scanning and warns that indexes do nothing there.
                    warnings.simplefilter("ignore")
                    for field, schema in FILTER_FIELDS.items():
                        client.create_payload_index(name, field, schema)
            if alias and self.active_collection() is None:
                self.switch_alias(name)

    def write_collection(self, model: str, dimension: int) -> str:
        """Where this model's vectors go: the alias's collection when it holds this model (a
        rebuild's), else the model's own (created, and aliased when nothing is)."""
        active = self.active_collection()
        if active is not None and holds_model(active, model, dimension):
            return active
        name = collection_name(model, dimension)
        self.ensure_collection(name, dimension)
        return name

    def active_collection(self) -> str | None:
        with self.client() as client:
            for entry in client.get_aliases().aliases:
                if entry.alias_name == ALIAS:
                    return str(entry.collection_name)
        return None

    def switch_alias(self, name: str) -> None:
        """Point the alias at another collection in one operation (search keeps answering)."""
        operations: list[Any] = []
        if self.active_collection() is not None:
            operations.append(
                models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=ALIAS))
            )
        operations.append(
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name=name, alias_name=ALIAS)
            )
        )
        with self.client() as client:
            client.update_collection_aliases(operations)

    def collections(self) -> list[str]:
        with self.client() as client:
            return [
                c.name for c in client.get_collections().collections if c.name.startswith(PREFIX)
            ]

    def drop(self, name: str) -> None:
        with self.client() as client:
            client.delete_collection(name)

    def upsert(
        self,
        collection: str,
        ids: Sequence[UUID],
        vectors: np.ndarray[Any, Any],
        payloads: Sequence[dict[str, Any]],
    ) -> None:
        points = [
            models.PointStruct(id=str(point_id), vector=vector.tolist(), payload=payload)
            for point_id, vector, payload in zip(ids, vectors, payloads, strict=True)
        ]
        with self.client() as client:
            for start in range(0, len(points), 256):
                client.upsert(collection, points[start : start + 256], wait=True)

    def delete(
        self,
        *,
        document_id: UUID,
        job: UUID | None = None,
        below_version: int | None = None,
        version: int | None = None,
        from_position: int | None = None,
    ) -> None:
        """Delete a document's points in every collection: all of them, or those of one job,
        of the versions below one, or of one version from a position on."""
        must: list[Any] = [_match("document_id", str(document_id))]
        if job is not None:
            must.append(_match("job_id", str(job)))
        if below_version is not None:
            must.append(models.FieldCondition(key="version", range=models.Range(lt=below_version)))
        if version is not None:
            must.append(
                models.FieldCondition(key="version", match=models.MatchValue(value=version))
            )
        if from_position is not None:
            must.append(
                models.FieldCondition(key="position", range=models.Range(gte=from_position))
            )
        selector = models.FilterSelector(filter=models.Filter(must=must))
        for name in self.collections():
            with self.client() as client:
                client.delete(name, points_selector=selector, wait=True)

    def set_tags(self, document_id: UUID, tags: Sequence[str]) -> None:
        """Put the document's tags on all its points, in every collection."""
        selector = models.FilterSelector(
            filter=models.Filter(must=[_match("document_id", str(document_id))])
        )
        for name in self.collections():
            with self.client() as client:
                client.set_payload(name, payload={"tags": list(tags)}, points=selector, wait=True)

    def search(
        self,
        vector: np.ndarray[Any, Any],
        *,
        project_ids: list[str] | None,
        document_id: str | None = None,
        kind: str | None = None,
        tags: list[str] | None = None,
        limit: int,
    ) -> list[VectorHit]:
        """Nearest chunks of the alias's collection, filtered inside Qdrant."""
        must: list[Any] = []
        if project_ids is not None:
            must.append(
                models.FieldCondition(key="project_id", match=models.MatchAny(any=project_ids))
            )
        if document_id:
            must.append(_match("document_id", document_id))
        if kind:
            must.append(_match("kind", kind))
        if tags:
            must.append(models.FieldCondition(key="tags", match=models.MatchAny(any=tags)))
        with self.client() as client:
            if not client.collection_exists(ALIAS):
                return []
            response = client.query_points(
                ALIAS,
                query=vector.tolist(),
                query_filter=models.Filter(must=must) if must else None,
                limit=limit,
                with_payload=True,
            )
        return [
            VectorHit(str(p.id), float(p.score), dict(p.payload or {})) for p in response.points
        ]

    def count(self, collection: str | None = None, document_id: str | None = None) -> int:
        with self.client() as client:
            name = collection or ALIAS
            if not client.collection_exists(name):
                return 0
            selector = (
                models.Filter(must=[_match("document_id", document_id)]) if document_id else None
            )
            return int(client.count(name, count_filter=selector, exact=True).count)

    def check(self) -> None:
        with self.client() as client:
            client.get_collections()


def _match(key: str, value: str) -> models.FieldCondition:
    return models.FieldCondition(key=key, match=models.MatchValue(value=value))
