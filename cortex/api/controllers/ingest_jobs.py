"""/api/ingest/jobs: each job's status, attempts, stage timings and error."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from cortex.api.dependencies import After, decode_cursor, keyset_page, wait_for_position
from cortex.api.problems import QUERY_PROBLEMS
from cortex.api.schemas.documents import IngestJobPage, IngestJobRead, JobStatus, StageTimings
from cortex.api.security import Principal, require_project
from cortex.application.errors import NotFound
from cortex.bootstrap import Cortex
from cortex.domain.roles import ProjectRole
from projections.document_queries import get_job, list_jobs


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    delta = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    return round(delta.total_seconds(), 6)


def job_read(row: dict[str, Any]) -> IngestJobRead:
    timings = StageTimings(
        queued_seconds=_seconds(row["requested_at"], row["extract_started_at"]),
        extract_seconds=_seconds(row["extract_started_at"], row["extracted_at"]),
        chunk_seconds=_seconds(row["chunk_started_at"], row["chunked_at"]),
        embed_seconds=_seconds(row["embed_started_at"], row["embedded_at"]),
        total_seconds=_seconds(row["requested_at"], row["finished_at"]),
    )
    return msgspec.convert({**row, "timings": timings}, IngestJobRead, from_attributes=True)


class IngestJobController(Controller):
    path = "/api/ingest/jobs"
    tags = ["ingest"]

    @get(
        "/{job_id:uuid}", operation_id="getIngestJob", sync_to_thread=True, responses=QUERY_PROBLEMS
    )
    def get_job(
        self, cortex: NamedDependency[Cortex], job_id: FromPath[UUID], after: After = None
    ) -> IngestJobRead:
        wait_for_position(cortex, "ingest_jobs", after)
        row = get_job(cortex.read_store, str(job_id))
        if row is None:
            raise NotFound("ingest job", job_id)
        return job_read(row)

    @get("/", operation_id="listIngestJobs", sync_to_thread=True, responses=QUERY_PROBLEMS)
    def list_jobs(
        self,
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        project_id: FromQuery[UUID | None] = None,
        status: FromQuery[JobStatus | None] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=1000)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        after: After = None,
    ) -> IngestJobPage:
        """Newest first, in the projects the caller may read."""
        wait_for_position(cortex, "ingest_jobs", after)
        if project_id is not None:
            require_project(principal, cortex, project_id, ProjectRole.VIEWER)
            project_ids: list[str] | None = [str(project_id)]
        else:
            project_ids = principal.visible_project_ids(cortex)
        start = decode_cursor(cursor, 2)
        rows = list_jobs(
            cortex.read_store,
            project_ids=project_ids,
            status=status,
            after=(str(start[0]), str(start[1])) if start else None,
            limit=limit + 1,
        )
        rows, next_cursor = keyset_page(rows, limit, "requested_at", "id")
        return IngestJobPage(
            items=[job_read(row) for row in rows],
            next_cursor=next_cursor,
        )
