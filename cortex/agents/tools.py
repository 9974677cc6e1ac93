"""The tools that read: knowledge search, cited answers, the ideas read model; and the JSON
schema helpers every tool's parameters are written with."""

from __future__ import annotations

from typing import Any, Protocol

from cortex.agents.registry import Tool, ToolError
from cortex.application.access import CALLERS, WRITERS, Permission
from cortex.application.agent_ports import ToolRequest
from cortex.context.answers import KnowledgeAnswers, NoRoomForSources
from cortex.domain.roles import ProjectRole, Role
from cortex.search.service import KnowledgeSearch, RetrieverUnavailable, SearchQuery
from projections.chunk_queries import ChunkFilter

READ = Permission(frozenset(Role), ProjectRole.VIEWER)
CALL = Permission(CALLERS, ProjectRole.VIEWER)
WRITE = Permission(WRITERS, ProjectRole.EDITOR)
SNIPPET_CHARS = 1500
UUID_PATTERN = "^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"


class IdeaLookup(Protocol):
    """The ideas read model: one idea, or a project's ideas holding some words."""

    def get(self, idea_id: str) -> dict[str, Any] | None: ...

    def find(self, project_id: str, text: str | None, limit: int) -> list[dict[str, Any]]: ...


def text_schema(max_length: int, description: str) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_length, "description": description}


def limit_schema(default: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": 1, "maximum": 20, "default": default}


def object_schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def knowledge_search(search: KnowledgeSearch) -> Tool:
    def run(arguments: dict[str, Any], request: ToolRequest) -> Any:
        where = ChunkFilter(project_ids=[str(request.project_id)])
        query = SearchQuery(arguments["query"], "hybrid", arguments["limit"], where)
        try:
            result = search.search(query)
        except RetrieverUnavailable as error:
            raise ToolError(f"search is unavailable: {error}") from None
        hits = [
            {
                "document_id": hit.document_id,
                "chunk_id": hit.chunk_id,
                "title": hit.title,
                "heading": hit.heading,
                "score": round(hit.score, 4),
                "text": hit.text[:SNIPPET_CHARS],
            }
            for hit in result.hits
        ]
        return {"hits": hits}

    return Tool(
        "knowledge_search",
        "Search the project's documents (keywords and meaning); returns the best passages.",
        object_schema(
            {"query": text_schema(500, "What to look for"), "limit": limit_schema(5)}, ["query"]
        ),
        READ,
        run,
    )


def ask(answers: KnowledgeAnswers) -> Tool:
    def run(arguments: dict[str, Any], request: ToolRequest) -> Any:
        try:
            answer = answers.ask(
                request.project_id, arguments["question"], requested_by=request.user_id
            )
        except NoRoomForSources as error:
            raise ToolError(str(error)) from None
        return {
            "answer": answer.text,
            "found": answer.found,
            "citations": [
                {
                    "citation": item.citation,
                    "kind": item.kind,
                    "title": item.title,
                    "document_id": item.document_id,
                    "idea_id": item.idea_id,
                }
                for item in answer.citations
            ],
            "model_call_id": str(answer.call.call_id) if answer.call else None,
        }

    return Tool(
        "ask",
        "Ask a question of the project's knowledge; returns an answer citing its sources.",
        object_schema({"question": text_schema(2000, "The question")}, ["question"]),
        CALL,
        run,
    )


def idea_lookup(ideas: IdeaLookup) -> Tool:
    def run(arguments: dict[str, Any], request: ToolRequest) -> Any:
        project = str(request.project_id)
        if "idea_id" in arguments:
            idea = ideas.get(arguments["idea_id"])
            if idea is None or str(idea["project_id"]) != project:
                raise ToolError(f"no idea {arguments['idea_id']} in this project")
            return {"ideas": [idea]}
        return {"ideas": ideas.find(project, arguments.get("query"), arguments["limit"])}

    return Tool(
        "idea_lookup",
        "Look up the project's ideas: one by its id, or those matching some words.",
        object_schema(
            {
                "idea_id": {"type": "string", "pattern": UUID_PATTERN},
                "query": text_schema(200, "Words the ideas must hold"),
                "limit": limit_schema(10),
            },
            [],
        ),
        READ,
        run,
    )
