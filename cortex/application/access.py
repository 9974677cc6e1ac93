"""What a user may do, for work done on their behalf later (an agent's tool call, a workflow step).

The edge checks a request when it arrives; a worker acting for the user checks again at the time
of the action, through the ``Access`` port (bootstrap reads the auth and membership read
models). A ``Grant`` recorded when the work started caps it: an API key may hold less than its
owner, and what the key could not do, the work started with it cannot do either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from cortex.domain.roles import ProjectRole, Role, project_role_allows

WRITERS = frozenset({Role.ADMIN, Role.EDITOR})
CALLERS = frozenset(Role) - {Role.AUDITOR}  # calling a model records the call


class Access(Protocol):
    """The user's current global roles and project membership."""

    def roles(self, user_id: UUID) -> frozenset[Role] | None:
        """None when the user does not exist or is disabled."""

    def member_role(self, user_id: UUID, project_id: UUID) -> ProjectRole | None: ...


@dataclass(frozen=True)
class Grant:
    """What the starter could do when the work started: global roles and project role."""

    roles: frozenset[Role]
    project_role: ProjectRole | None

    @classmethod
    def of(cls, roles: tuple[str, ...], project_role: str | None) -> Grant:
        return cls(
            frozenset(Role(r) for r in roles), ProjectRole(project_role) if project_role else None
        )


@dataclass(frozen=True)
class Permission:
    """What an action needs: one of ``roles`` and at least ``project_role`` in the project."""

    roles: frozenset[Role]
    project_role: ProjectRole


def allowed(
    access: Access,
    user_id: UUID | None,
    project_id: UUID,
    grant: Grant,
    needed: Permission,
) -> bool:
    """Whether the user may act now, and could when the work started (the grant)."""
    if not _permits(grant.roles, grant.project_role, needed):
        return False
    if user_id is None:  # no user (authentication off): the grant is all there is
        return True
    current = access.roles(user_id)
    if current is None:
        return False
    return _permits(current, _project_role(access, user_id, project_id, current), needed)


def _permits(roles: frozenset[Role], role: ProjectRole | None, needed: Permission) -> bool:
    if Role.ADMIN in roles:
        return True
    if not roles & needed.roles or role is None:
        return False
    return project_role_allows(role, needed.project_role)


def _project_role(
    access: Access, user_id: UUID, project_id: UUID, roles: frozenset[Role]
) -> ProjectRole | None:
    if Role.ADMIN in roles:
        return ProjectRole.OWNER
    member = access.member_role(user_id, project_id)
    if member is None and Role.AUDITOR in roles:
        return ProjectRole.VIEWER
    return member
