"""The vector index contract, on Qdrant's local mode and, when CORTEX_TEST_QDRANT_URL names one,
on a Qdrant server (none can be installed on this machine: that half is skipped, saying so)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from qdrant_client import QdrantClient

from projections.vector_index import VectorIndex, collection_name, holds_model

SERVER = os.environ.get("CORTEX_TEST_QDRANT_URL", "")


NO_SERVER = pytest.mark.skipif(
    not SERVER, reason="no Qdrant server: set CORTEX_TEST_QDRANT_URL to run this half"
)


@pytest.fixture(params=["local", pytest.param("server", marks=NO_SERVER)])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorIndex]:
    if request.param == "local":
        folder = str(tmp_path / "qdrant")
        vectors = VectorIndex(lambda: QdrantClient(path=folder), description="local")
    else:
        vectors = VectorIndex(lambda: QdrantClient(url=SERVER), description="server")
    yield vectors
    for name in vectors.collections():
        vectors.drop(name)
    vectors.close()


def unit(seed: int, dimension: int = 8) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=dimension).astype(np.float32)
    return vector / np.linalg.norm(vector)


def payload(project: str, document: uuid.UUID, job: uuid.UUID, position: int) -> dict[str, object]:
    return {
        "project_id": project,
        "document_id": str(document),
        "job_id": str(job),
        "version": 1,
        "position": position,
        "kind": "text",
        "tags": [],
    }


def test_points_are_written_searched_within_projects_and_deleted(index: VectorIndex) -> None:
    collection = index.write_collection("test-model", 8)
    assert index.active_collection() == collection
    document, other_document, job = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    ids = [uuid.uuid4() for _ in range(3)]
    vectors = np.stack([unit(i) for i in range(3)])
    index.upsert(collection, ids, vectors, [payload("a", document, job, i) for i in range(3)])
    index.upsert(
        collection, [uuid.uuid4()], np.stack([unit(0)]), [payload("b", other_document, job, 0)]
    )

    hits = index.search(unit(0), project_ids=["a"], limit=10)
    assert hits[0].chunk_id == str(ids[0])
    assert {hit.payload["project_id"] for hit in hits} == {"a"}
    assert index.search(unit(0), project_ids=[], limit=10) == []
    assert len(index.search(unit(0), project_ids=None, limit=10)) == 4

    index.upsert(collection, ids[:1], np.stack([unit(5)]), [payload("a", document, job, 0)])
    assert index.count(document_id=str(document)) == 3  # the same id again replaces

    newer = uuid.uuid4()
    newest_payload = {**payload("a", document, newer, 0), "version": 2}
    index.upsert(collection, [uuid.uuid4()], np.stack([unit(7)]), [newest_payload])
    index.delete(document_id=document, version=2, from_position=1)
    assert index.count(document_id=str(document)) == 4
    index.delete(document_id=document, below_version=2)
    assert index.count(document_id=str(document)) == 1
    index.delete(document_id=document, job=job)
    assert index.count(document_id=str(document)) == 1
    index.delete(document_id=document, version=2, from_position=0)
    assert index.count(document_id=str(document)) == 0
    index.upsert(collection, [uuid.uuid4()], np.stack([unit(7)]), [newest_payload])
    index.delete(document_id=document, job=newer)
    assert index.count(document_id=str(document)) == 0
    index.upsert(collection, [uuid.uuid4()], np.stack([unit(7)]), [newest_payload])
    index.delete(document_id=document)
    assert index.count(document_id=str(document)) == 0
    assert index.count(document_id=str(other_document)) == 1


def test_the_alias_switches_to_a_rebuilt_collection(index: VectorIndex) -> None:
    first = index.write_collection("model-a", 8)
    rebuilt = collection_name("model-b", 8) + "_r1"
    index.ensure_collection(rebuilt, 8, alias=False)
    assert index.active_collection() == first
    index.switch_alias(rebuilt)
    assert index.active_collection() == rebuilt
    assert holds_model(rebuilt, "model-b", 8)
    assert not holds_model(rebuilt, "model-a", 8)
    assert index.write_collection("model-b", 8) == rebuilt
