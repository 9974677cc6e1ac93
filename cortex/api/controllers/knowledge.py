"""/api/knowledge/search: dense, keyword or hybrid search over the indexed chunks."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.exceptions import ServiceUnavailableException
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from cortex.api.problems import problem_responses
from cortex.api.schemas.knowledge import SearchHit, SearchKnowledge, SearchResults
from cortex.api.security import Principal, require_project
from cortex.bootstrap import Cortex
from cortex.domain.roles import ProjectRole
from cortex.search.service import RetrieverUnavailable, SearchQuery
from projections.chunk_queries import ChunkFilter


class KnowledgeController(Controller):
    path = "/api/knowledge"
    tags = ["knowledge"]

    @post(
        "/search",
        operation_id="searchKnowledge",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=problem_responses(400, 404, 422, 503),
    )
    def search(
        self,
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        data: JSONBody[SearchKnowledge],
    ) -> SearchResults:
        """Each hit: its document and chunk, a snippet, character offsets into the document's
        text, the score and which retrievers found it."""
        if data.project_id is not None:
            require_project(principal, cortex, data.project_id, ProjectRole.VIEWER)
            project_ids: list[str] | None = [str(data.project_id)]
        else:
            project_ids = principal.visible_project_ids(cortex)
        filters = data.filters
        where = ChunkFilter(
            project_ids=project_ids,
            document_id=str(filters.document_id) if filters.document_id else None,
            kind=filters.type,
            tags=list(filters.tags) or None,
        )
        query = SearchQuery(data.query, data.mode, data.limit, where, rerank=data.rerank)
        try:
            result = cortex.search.search(query)
        except RetrieverUnavailable as error:
            raise ServiceUnavailableException(str(error)) from None
        return SearchResults(
            hits=[
                SearchHit(
                    chunk_id=UUID(hit.chunk_id),
                    document_id=UUID(hit.document_id),
                    title=hit.title,
                    type=hit.kind,
                    document_version=hit.document_version,
                    position=hit.position,
                    heading=hit.heading,
                    snippet=hit.snippet,
                    snippet_offset=hit.snippet_offset,
                    start_offset=hit.start_offset,
                    end_offset=hit.end_offset,
                    score=hit.score,
                    retrievers=hit.retrievers,
                )
                for hit in result.hits
            ],
            mode=data.mode,
            model=result.model,
            unavailable=result.unavailable,
            reranked=result.reranked,
        )
