"""Chunk ids: deterministic per (document, version, position). IngestJob: open until terminal."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from cortex.domain.ingest_job import TERMINAL, IngestJob, IngestStatus, chunk_id

DOCUMENT = UUID("0b6f1c2e-8d4a-4c1b-9e7f-3a2b1c0d9e8f")


def test_chunk_id_is_the_same_every_time_for_the_same_document_version_and_position() -> None:
    assert chunk_id(DOCUMENT, 2, 7) == chunk_id(UUID(str(DOCUMENT)), 2, 7)
    assert chunk_id(DOCUMENT, 2, 7).version == 5


def test_chunk_id_is_stable_across_releases() -> None:
    # Golden value from the first release: ids already stored must keep matching after upgrades.
    assert chunk_id(DOCUMENT, 1, 0) == UUID("c036cdbe-27e0-5487-847a-5e64fd4109bf")


def test_chunk_ids_differ_across_versions_positions_and_documents() -> None:
    other = uuid4()
    ids = {
        chunk_id(document, version, position)
        for document in (DOCUMENT, other)
        for version in (1, 2, 3)
        for position in range(50)
    }
    assert len(ids) == 2 * 3 * 50


def test_version_and_position_cannot_be_confused() -> None:
    assert chunk_id(DOCUMENT, 1, 12) != chunk_id(DOCUMENT, 11, 2)
    assert chunk_id(DOCUMENT, 12, 1) != chunk_id(DOCUMENT, 1, 21)


@pytest.mark.parametrize("status", list(IngestStatus))
def test_a_job_is_open_until_it_reaches_a_terminal_status(status: IngestStatus) -> None:
    job = IngestJob(id=uuid4(), version=1, reason="upload", status=status)
    assert job.open is (status not in TERMINAL)
    assert (status in TERMINAL) is (status in ("completed", "failed", "cancelled"))
