"""/api/context/build: the context pack for a question, each item with its citation id."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from cortex.api.problems import problem_responses
from cortex.api.schemas.context import BuildContext, ContextItemRead, ContextPackRead
from cortex.api.security import Principal, require_project
from cortex.bootstrap import Cortex
from cortex.context.pack import ContextItem, ContextPack
from cortex.domain.roles import ProjectRole


def _uuid(value: str | None) -> UUID | None:
    return UUID(value) if value else None


def item_read(item: ContextItem) -> ContextItemRead:
    return ContextItemRead(
        citation=item.citation,
        kind=item.kind,
        title=item.title,
        text=item.text,
        source=item.source(),
        tokens=item.tokens,
        score=item.score,
        retrievers=list(item.retrievers),
        document_id=_uuid(item.document_id),
        chunk_id=_uuid(item.chunk_id),
        position=item.position,
        heading=item.heading if item.kind == "chunk" else None,
        start_offset=item.start_offset,
        end_offset=item.end_offset,
        idea_id=_uuid(item.idea_id),
        status=item.status,
    )


def pack_read(pack: ContextPack) -> ContextPackRead:
    return ContextPackRead(
        question=pack.question,
        items=[item_read(item) for item in pack.items],
        token_budget=pack.token_budget,
        tokens=pack.tokens,
        overhead_tokens=pack.overhead_tokens,
        tokenizer=pack.tokenizer,
        candidates=pack.candidates,
        relevant=pack.relevant,
        dropped_duplicates=pack.dropped_duplicates,
        dropped_over_budget=pack.dropped_over_budget,
        unavailable=pack.unavailable,
    )


class ContextController(Controller):
    path = "/api/context"
    tags = ["knowledge"]

    @post(
        "/build",
        operation_id="buildContext",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=problem_responses(400, 404, 422),
    )
    def build(
        self,
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        data: JSONBody[BuildContext],
    ) -> ContextPackRead:
        """The project's chunks (hybrid search) and ideas relevant to the question,
        near-duplicates dropped, best first, whole items up to ``token_budget`` tokens of the
        FAST_RAG lane's model (its server's /tokenize; ``tokenizer`` names the fallback when it
        has none)."""
        require_project(principal, cortex, data.project_id, ProjectRole.VIEWER)
        pack = cortex.context.build(str(data.project_id), data.question, data.token_budget)
        return pack_read(pack)
