"""What every route needs, in one table keyed by operation id. A route missing here is refused.

``roles``: global roles that may call the route at all (admins always may).
``project``: how the route finds the project whose membership it needs, and the least project
role: from a path parameter, from the resource (idea, document, ingest job) in the path, or checked
in the handler (a project id
in the body, or a list filtered to the caller's projects).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cortex.domain.roles import ProjectRole, Role

ProjectSource = Literal[
    "path",
    "idea",
    "document",
    "ingest_job",
    "model_call",
    "agent",
    "agent_run",
    "workflow",
    "workflow_run",
    "handler",
]
# Resource kinds whose project the guard finds, and the path parameter naming the resource.
RESOURCE_PATH_PARAMETERS = {
    "idea": "idea_id",
    "document": "document_id",
    "ingest_job": "job_id",
    "model_call": "call_id",
    "agent": "agent_id",
    "agent_run": "run_id",
    "workflow": "workflow_id",
    "workflow_run": "run_id",
}
# The read model each resource kind is found in (what ?after= waits for).
RESOURCE_PROJECTIONS = {
    "idea": "ideas",
    "document": "documents",
    "ingest_job": "ingest_jobs",
    "model_call": "model_calls",
    "agent": "agents",
    "agent_run": "agents",
    "workflow": "workflows",
    "workflow_run": "workflows",
}
EVERYONE = frozenset(Role)
READERS = EVERYONE
WRITERS = frozenset({Role.ADMIN, Role.EDITOR})
ADMINS = frozenset({Role.ADMIN})
AUDIT = frozenset({Role.ADMIN, Role.AUDITOR})
# Calling a model records the call: auditors, who only read, may not.
CALLERS = EVERYONE - {Role.AUDITOR}


@dataclass(frozen=True)
class Rule:
    public: bool = False
    roles: frozenset[Role] = EVERYONE
    project: ProjectSource | None = None
    project_role: ProjectRole = ProjectRole.VIEWER
    allow_api_keys: bool = True


PUBLIC = Rule(public=True)

PERMISSIONS: dict[str, Rule] = {
    # Health, docs and login: deliberately public.
    "liveness": PUBLIC,
    "readiness": PUBLIC,
    "metrics": PUBLIC,
    "jwks": PUBLIC,
    "bootstrapAdmin": PUBLIC,
    "issueToken": PUBLIC,
    "refreshToken": PUBLIC,
    # The caller's own session and keys.
    "logout": Rule(allow_api_keys=False),
    "whoAmI": Rule(),
    "changeOwnPassword": Rule(allow_api_keys=False),
    "createApiKey": Rule(roles=WRITERS | {Role.VIEWER}, allow_api_keys=False),
    "revokeApiKey": Rule(allow_api_keys=False),
    # User administration.
    "listUsers": Rule(roles=AUDIT),
    "createUser": Rule(roles=ADMINS),
    "disableUser": Rule(roles=ADMINS),
    "enableUser": Rule(roles=ADMINS),
    "grantRole": Rule(roles=ADMINS),
    "revokeRole": Rule(roles=ADMINS),
    "resetPassword": Rule(roles=ADMINS),
    "signOutUserEverywhere": Rule(roles=ADMINS),
    # Projects.
    "createProject": Rule(roles=WRITERS),
    "listProjects": Rule(roles=READERS, project="handler"),
    "getProject": Rule(roles=READERS, project="path"),
    "updateProject": Rule(roles=WRITERS, project="path", project_role=ProjectRole.OWNER),
    "archiveProject": Rule(roles=WRITERS, project="path", project_role=ProjectRole.OWNER),
    "setProjectMember": Rule(roles=WRITERS, project="path", project_role=ProjectRole.OWNER),
    "removeProjectMember": Rule(roles=WRITERS, project="path", project_role=ProjectRole.OWNER),
    # Ideas.
    "captureIdea": Rule(roles=WRITERS, project="handler", project_role=ProjectRole.EDITOR),
    "listIdeas": Rule(roles=READERS, project="handler"),
    "getIdea": Rule(roles=READERS, project="idea"),
    "updateIdea": Rule(roles=WRITERS, project="idea", project_role=ProjectRole.EDITOR),
    "changeIdeaStatus": Rule(roles=WRITERS, project="idea", project_role=ProjectRole.EDITOR),
    "voteOnIdea": Rule(roles=WRITERS, project="idea", project_role=ProjectRole.EDITOR),
    "linkIdea": Rule(roles=WRITERS, project="idea", project_role=ProjectRole.EDITOR),
    "deleteIdea": Rule(roles=WRITERS, project="idea", project_role=ProjectRole.EDITOR),
    # Documents and ingest.
    "uploadDocuments": Rule(roles=WRITERS, project="path", project_role=ProjectRole.EDITOR),
    "listDocuments": Rule(roles=READERS, project="path"),
    "getDocument": Rule(roles=READERS, project="document"),
    "getDocumentContent": Rule(roles=READERS, project="document"),
    "listDocumentChunks": Rule(roles=READERS, project="document"),
    "uploadDocumentVersion": Rule(
        roles=WRITERS, project="document", project_role=ProjectRole.EDITOR
    ),
    "tagDocument": Rule(roles=WRITERS, project="document", project_role=ProjectRole.EDITOR),
    "reingestDocument": Rule(roles=WRITERS, project="document", project_role=ProjectRole.EDITOR),
    "deleteDocument": Rule(roles=WRITERS, project="document", project_role=ProjectRole.EDITOR),
    "getIngestJob": Rule(roles=READERS, project="ingest_job"),
    "listIngestJobs": Rule(roles=READERS, project="handler"),
    # Knowledge search (filtered to the caller's projects in the handler).
    "searchKnowledge": Rule(roles=READERS, project="handler"),
    "buildContext": Rule(roles=READERS, project="handler"),
    # Answers call a model, and the call is recorded: the callers' roles, as for generateText.
    "askKnowledge": Rule(roles=CALLERS, project="handler"),
    # Model lanes (the project is in the body or query: checked in the handler).
    "generateText": Rule(roles=CALLERS, project="handler"),
    "queueGeneration": Rule(roles=CALLERS, project="handler"),
    "getModelCall": Rule(roles=READERS, project="model_call"),
    "listModelCalls": Rule(roles=READERS, project="handler"),
    "listLanes": Rule(roles=AUDIT),
    # Agents: defined by a project's editors; runs started by those who may call models (their
    # tool calls then check what the starter may do), cancelled by the starter or an editor.
    "createAgent": Rule(roles=WRITERS, project="handler", project_role=ProjectRole.EDITOR),
    "listAgents": Rule(roles=READERS, project="handler"),
    "getAgent": Rule(roles=READERS, project="agent"),
    "reviseAgent": Rule(roles=WRITERS, project="agent", project_role=ProjectRole.EDITOR),
    "startAgentRun": Rule(roles=CALLERS, project="agent"),
    "listAgentRuns": Rule(roles=READERS, project="handler"),
    "getAgentRun": Rule(roles=READERS, project="agent_run"),
    "cancelAgentRun": Rule(roles=CALLERS, project="agent_run"),
    # Workflows: defined and revised by a project's editors; runs started by those who may call
    # models in the project (its steps call models for them, as generateText would); approving,
    # rejecting and cancelling steer the project's work: its editors.
    "defineWorkflow": Rule(roles=WRITERS, project="handler", project_role=ProjectRole.EDITOR),
    "listWorkflows": Rule(roles=READERS, project="handler"),
    "getWorkflow": Rule(roles=READERS, project="workflow"),
    "reviseWorkflow": Rule(roles=WRITERS, project="workflow", project_role=ProjectRole.EDITOR),
    "startWorkflowRun": Rule(roles=CALLERS, project="workflow"),
    "listWorkflowRuns": Rule(roles=READERS, project="handler"),
    "getWorkflowRun": Rule(roles=READERS, project="workflow_run"),
    "cancelWorkflowRun": Rule(
        roles=WRITERS, project="workflow_run", project_role=ProjectRole.EDITOR
    ),
    "approveWorkflowStep": Rule(
        roles=WRITERS, project="workflow_run", project_role=ProjectRole.EDITOR
    ),
    "rejectWorkflowStep": Rule(
        roles=WRITERS, project="workflow_run", project_role=ProjectRole.EDITOR
    ),
    # The system: readiness in detail, version and the effective configuration (secrets masked).
    "systemReady": Rule(roles=AUDIT),
    "systemInfo": Rule(roles=AUDIT),
    # History.
    "listAggregateEvents": Rule(roles=AUDIT),
}
