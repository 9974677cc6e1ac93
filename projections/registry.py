"""The projectors Cortex runs, by name."""

from __future__ import annotations

from projections.agents import AgentsProjection
from projections.auth import AuthProjection
from projections.base import SqlProjection
from projections.chunks import ChunksProjection
from projections.documents import DocumentsProjection
from projections.ideas import IdeasProjection
from projections.ingest_jobs import IngestJobsProjection
from projections.model_calls import ModelCallsProjection
from projections.projects import ProjectsProjection
from projections.vectors import VectorsProjection
from projections.workflows import WorkflowsProjection

PROJECTIONS: dict[str, type[SqlProjection]] = {
    projection.name: projection
    for projection in (
        ProjectsProjection,
        IdeasProjection,
        AuthProjection,
        DocumentsProjection,
        IngestJobsProjection,
        ChunksProjection,
        VectorsProjection,
        ModelCallsProjection,
        AgentsProjection,
        WorkflowsProjection,
    )
}
