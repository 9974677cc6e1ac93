"""Roles: what a user may do everywhere, and what a member may do in one project."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Global roles. Admins do everything; auditors read everything and change nothing."""

    ADMIN = "admin"
    EDITOR = "editor"
    VIEWER = "viewer"
    AUDITOR = "auditor"


class ProjectRole(StrEnum):
    """A member's role in one project: owners manage it, editors change it, viewers read it."""

    OWNER = "owner"
    EDITOR = "editor"
    VIEWER = "viewer"


PROJECT_ROLE_RANK = {ProjectRole.VIEWER: 0, ProjectRole.EDITOR: 1, ProjectRole.OWNER: 2}


def project_role_allows(held: ProjectRole, needed: ProjectRole) -> bool:
    return PROJECT_ROLE_RANK[held] >= PROJECT_ROLE_RANK[needed]
