"""/api/knowledge/search: dense, keyword or hybrid search over the indexed chunks;
/api/knowledge/ask: an answer from the FAST_RAG lane that cites the project's knowledge."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.exceptions import ServiceUnavailableException
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from cortex.api.problems import problem_responses
from cortex.api.schemas.context import (
    AskKnowledge,
    Citation,
    ContextUsed,
    KnowledgeAnswer,
    UsedSource,
)
from cortex.api.schemas.knowledge import SearchHit, SearchKnowledge, SearchResults
from cortex.api.security import Principal, require_project
from cortex.bootstrap import Cortex
from cortex.context.answers import Answer, NoRoomForSources
from cortex.context.pack import ContextItem
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

    @post(
        "/ask",
        operation_id="askKnowledge",
        status_code=HTTP_200_OK,
        sync_to_thread=True,
        responses=problem_responses(400, 404, 422, 502, 503),
    )
    def ask(
        self,
        cortex: NamedDependency[Cortex],
        principal: NamedDependency[Principal],
        data: JSONBody[AskKnowledge],
    ) -> KnowledgeAnswer:
        """Build the question's context, ask the FAST_RAG lane (falling back like any model
        call, and recorded as one) to answer from it citing [c1]..., and resolve the citations
        to documents, chunks and offsets, or ideas. Nothing relevant: "not found in the
        project's knowledge", ``found: false``, and no model call."""
        require_project(principal, cortex, data.project_id, ProjectRole.VIEWER)
        try:
            answer = cortex.answers.ask(
                data.project_id, data.question, requested_by=principal.user_id
            )
        except NoRoomForSources as error:
            raise ServiceUnavailableException(str(error)) from None
        return _answer(answer)


def _citation(item: ContextItem) -> Citation:
    return Citation(
        citation=item.citation,
        kind=item.kind,
        title=item.title,
        document_id=UUID(item.document_id) if item.document_id else None,
        chunk_id=UUID(item.chunk_id) if item.chunk_id else None,
        position=item.position,
        start_offset=item.start_offset,
        end_offset=item.end_offset,
        idea_id=UUID(item.idea_id) if item.idea_id else None,
    )


def _answer(answer: Answer) -> KnowledgeAnswer:
    pack, call = answer.pack, answer.call
    return KnowledgeAnswer(
        answer=answer.text,
        found=answer.found,
        citations=[_citation(item) for item in answer.citations],
        unknown_citations=answer.unknown_citations,
        model_call_id=call.call_id if call else None,
        lane=call.answered.lane.value if call else None,
        model=call.answered.config.model if call else None,
        context=ContextUsed(
            items=[
                UsedSource(
                    citation=item.citation,
                    kind=item.kind,
                    id=UUID(item.source_id),
                    tokens=item.tokens,
                )
                for item in pack.items
            ],
            tokens=pack.tokens,
            token_budget=pack.token_budget,
            overhead_tokens=pack.overhead_tokens,
            tokenizer=pack.tokenizer,
            dropped_duplicates=pack.dropped_duplicates,
            dropped_over_budget=pack.dropped_over_budget,
        ),
        position=call.position if call else None,
    )
