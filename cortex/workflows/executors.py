"""One executor per step kind, calling the services a person would, for the run's starter.

Model calls are recorded as ModelCalls requested by the user who started the run (the step's
output names the call); search and answers read only the run's project. Errors become
StepFailure: outages are retried, a lane refusing the request or a missing project is not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from cortex.application.access import CALLERS, Access, Grant, Permission, allowed
from cortex.application.errors import NotFound
from cortex.application.model_calls import ModelCallService
from cortex.application.workflow_ports import StepContext, StepFailure
from cortex.context.answers import KnowledgeAnswers, NoRoomForSources
from cortex.domain.roles import ProjectRole
from cortex.lanes.gateway import LaneRejected, NoLaneAnswered
from cortex.lanes.types import Lane
from cortex.search.service import KnowledgeSearch, RetrieverUnavailable, SearchQuery
from cortex.workflows.templates import render
from projections.chunk_queries import ChunkFilter

# A step calls models and reads the project's knowledge, as generateText and askKnowledge do:
# the starter must still hold a role that may call models and at least view the project.
STEP_NEEDS = Permission(CALLERS, ProjectRole.VIEWER)
NOTHING_RECORDED = Grant(CALLERS, ProjectRole.OWNER)  # no cap recorded: today's roles decide


class StepExecutors:
    """The application's StepExecutor port."""

    def __init__(
        self,
        calls: ModelCallService,
        search: KnowledgeSearch,
        answers: KnowledgeAnswers,
        access: Access | None = None,
    ) -> None:
        self._calls = calls
        self._search = search
        self._answers = answers
        self._access = access
        self._kinds: dict[str, Callable[[dict[str, Any], StepContext], dict[str, Any]]] = {
            "generate": self._generate,
            "search": self._search_step,
            "ask": self._ask,
            "transform": self._transform,
        }

    def execute(self, step: dict[str, Any], context: StepContext) -> dict[str, Any]:
        kind = self._kinds.get(str(step["kind"]))
        if kind is None:
            raise StepFailure("kind", f"no executor for {step['kind']} steps", retryable=False)
        if not self._may_act(context.started_by, context.project_id):
            raise StepFailure(
                "forbidden", "the run's starter may no longer use this project", retryable=False
            )
        try:
            return kind(step, context)
        except NoLaneAnswered as error:
            raise StepFailure("unavailable", str(error), retryable=True) from None
        except LaneRejected as error:
            raise StepFailure("lane_rejected", str(error), retryable=False) from None
        except NotFound as error:
            raise StepFailure("not_found", str(error), retryable=False) from None
        except NoRoomForSources as error:
            raise StepFailure("no_room_for_sources", str(error), retryable=False) from None
        except RetrieverUnavailable as error:
            raise StepFailure("retriever_unavailable", str(error), retryable=True) from None

    def _may_act(self, user_id: UUID | None, project_id: UUID) -> bool:
        """Whether the run's starter may still do what a step does (checked at each attempt)."""
        if self._access is None:
            return True
        return allowed(self._access, user_id, project_id, NOTHING_RECORDED, STEP_NEEDS)

    def _generate(self, step: dict[str, Any], context: StepContext) -> dict[str, Any]:
        prompt = render(step["prompt"], context)
        system = render(step["system"], context) if step.get("system") else None
        lane = None if step.get("lane", "auto") == "auto" else Lane(step["lane"])
        generated = self._calls.generate(
            prompt,
            project_id=context.project_id,
            requested_by=context.started_by,
            lane=lane,
            max_tokens=step.get("max_tokens"),
            system=system,
        )
        return {
            "text": generated.text,
            "model_call_id": str(generated.call_id),
            "lane": str(generated.answered.lane),
            "model": generated.answered.config.model,
        }

    def _search_step(self, step: dict[str, Any], context: StepContext) -> dict[str, Any]:
        query = render(step["query"], context)
        where = ChunkFilter(project_ids=[str(context.project_id)])
        result = self._search.search(SearchQuery(query, step["mode"], int(step["limit"]), where))
        hits = [
            {
                "document_id": hit.document_id,
                "chunk_id": hit.chunk_id,
                "title": hit.title,
                "snippet": hit.snippet,
                "score": round(hit.score, 6),
            }
            for hit in result.hits
        ]
        text = "\n\n".join(hit.text or hit.snippet for hit in result.hits)
        return {"query": query, "hits": hits, "text": text}

    def _ask(self, step: dict[str, Any], context: StepContext) -> dict[str, Any]:
        question = render(step["question"], context)
        answer = self._answers.ask(context.project_id, question, requested_by=context.started_by)
        return {
            "text": answer.text,
            "found": answer.found,
            "citations": [
                {
                    "id": item.citation,
                    "document_id": item.document_id,
                    "chunk_id": item.chunk_id,
                    "title": item.title,
                }
                for item in answer.citations
            ],
            "model_call_id": str(answer.call.call_id) if answer.call else None,
        }

    def _transform(self, step: dict[str, Any], context: StepContext) -> dict[str, Any]:
        return {"text": render(step["template"], context)}
