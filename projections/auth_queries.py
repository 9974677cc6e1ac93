"""Queries the guard and the auth routes make on the auth and membership read models."""

from __future__ import annotations

from typing import Any

from projections.store import ReadStore

# Routes about a project-scoped resource find its project through the resource's read model.
RESOURCE_TABLES = {
    "idea": "ideas",
    "document": "documents",
    "ingest_job": "ingest_jobs",
    "model_call": "model_calls",
    "agent": "agents",
    "agent_run": "agent_runs",
    "workflow": "workflows",
    "workflow_run": "workflow_runs",
}


def _caller_state_sql(table: str) -> str:
    return (
        "SELECT u.token_version, u.disabled, u.roles,"
        " (SELECT s.revoked FROM auth_sessions s WHERE s.id = ?) AS session_revoked,"
        " EXISTS (SELECT 1 FROM auth_token_blacklist b WHERE b.jti = ?) AS blacklisted,"
        f" (SELECT r.project_id FROM {table} r WHERE r.id = ?) AS resource_project_id,"
        " (SELECT m.role FROM project_members m WHERE m.user_id = u.id AND m.project_id ="
        f"   COALESCE(?, (SELECT r.project_id FROM {table} r WHERE r.id = ?))) AS project_role"
        " FROM auth_users u WHERE u.id = ?"
    )


CALLER_STATE_SQL = {kind: _caller_state_sql(table) for kind, table in RESOURCE_TABLES.items()}
Resource = tuple[str, str]  # (kind, id)


def caller_state_sql(resource: Resource | None) -> str:
    return CALLER_STATE_SQL[resource[0] if resource else "idea"]


def token_state_params(
    user_id: str, session_id: str, jti: str, project_id: str | None, resource: Resource | None
) -> tuple[str | None, ...]:
    resource_id = resource[1] if resource else None
    return (session_id, jti, resource_id, project_id, resource_id, user_id)


def token_state(
    store: ReadStore,
    user_id: str,
    session_id: str,
    jti: str,
    *,
    project_id: str | None = None,
    resource: Resource | None = None,
) -> dict[str, Any] | None:
    """One round trip: the user's version, roles and status, the session and the blacklist,
    and, for a route about a project (or a resource in one), the project and the user's role."""
    with store.reading() as cur:
        cur.execute(
            caller_state_sql(resource),
            token_state_params(user_id, session_id, jti, project_id, resource),
        )
        return cur.fetchone()


def api_key(store: ReadStore, key_id: str) -> dict[str, Any] | None:
    with store.reading() as cur:
        cur.execute(
            "SELECT k.id, k.owner_id, k.secret_hash, k.role, k.project_ids, k.expires_at,"
            " k.revoked, k.last_used_at, u.disabled AS owner_disabled, u.roles AS owner_roles"
            " FROM auth_api_keys k JOIN auth_users u ON u.id = k.owner_id WHERE k.id = ?",
            (key_id,),
        )
        return cur.fetchone()


def project_role(store: ReadStore, project_id: str, user_id: str) -> str | None:
    with store.reading() as cur:
        cur.execute(
            "SELECT role FROM project_members WHERE project_id = ? AND user_id = ?",
            (project_id, user_id),
        )
        row = cur.fetchone()
    return None if row is None else str(row["role"])


def resource_project_id(store: ReadStore, resource: Resource) -> str | None:
    """The project a resource belongs to, or None when there is no such resource."""
    table = RESOURCE_TABLES[resource[0]]
    with store.reading() as cur:
        cur.execute(f"SELECT project_id FROM {table} WHERE id = ?", (resource[1],))
        row = cur.fetchone()
        return str(row["project_id"]) if row else None


def member_project_ids(store: ReadStore, user_id: str) -> list[str]:
    with store.reading() as cur:
        cur.execute("SELECT project_id FROM project_members WHERE user_id = ?", (user_id,))
        return [str(row["project_id"]) for row in cur.fetchall()]


def get_user(store: ReadStore, user_id: str) -> dict[str, Any] | None:
    with store.reading() as cur:
        cur.execute(
            "SELECT id, username, roles, disabled, locked_until, created_at, updated_at, version"
            " FROM auth_users WHERE id = ?",
            (user_id,),
        )
        row = cur.fetchone()
    return None if row is None else _user(row)


def list_users(store: ReadStore) -> list[dict[str, Any]]:
    with store.reading() as cur:
        cur.execute(
            "SELECT id, username, roles, disabled, locked_until, created_at, updated_at, version"
            " FROM auth_users ORDER BY username"
        )
        return [_user(row) for row in cur.fetchall()]


def _user(row: dict[str, Any]) -> dict[str, Any]:
    roles = [role for role in str(row["roles"]).split(",") if role]
    return {**row, "roles": roles, "disabled": bool(row["disabled"])}
