"""The projectors Cortex runs, by name."""

from __future__ import annotations

from projections.auth import AuthProjection
from projections.base import SqlProjection
from projections.ideas import IdeasProjection
from projections.projects import ProjectsProjection

PROJECTIONS: dict[str, type[SqlProjection]] = {
    projection.name: projection
    for projection in (ProjectsProjection, IdeasProjection, AuthProjection)
}
