"""The bounded tool-calling loop of an agent run, one recorded step at a time.

Each step reloads the run, so the loop is resumable (after a crash it carries on from the
recorded transcript) and a cancel lands between steps: a step whose commit finds the run changed
underneath looks again. A step is one of:

- stop: at the timeout, or before a model call once the step or token limit is reached;
- run the next pending tool call of the last turn (recorded as called before it runs, as
  returned after): a turn's tool calls always run, so a run stopped at a limit has a complete
  transcript (unless time ran out);
- ask the model for its next turn. A turn without tool calls is the final answer, unless it came
  after the deadline: then it is kept in the transcript and the run stops for the timeout.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from uuid import UUID

import structlog

from cortex.application.access import Grant
from cortex.application.agent_ports import ToolBox, ToolRequest
from cortex.application.errors import VersionConflict
from cortex.application.event_log import EventLog
from cortex.application.model_calls import ModelCallService
from cortex.domain.agent import AUTO_LANE
from cortex.domain.agent_run import AgentRun, PendingCall
from cortex.lanes.gateway import LaneRejected, NoLaneAnswered
from cortex.lanes.types import Lane

logger = structlog.get_logger("cortex.agents")
# A model asking for more tool calls in one turn gets the first ones run: each runs even past
# the step limit, so their number must be bounded.
TOOL_CALLS_PER_TURN = 8


class AgentLoop:
    def __init__(
        self,
        log: EventLog,
        model_calls: ModelCallService,
        tools: ToolBox,
        clock: Callable[[], datetime],
    ) -> None:
        self._log = log
        self._calls = model_calls
        self._tools = tools
        self._clock = clock
        self._active: set[UUID] = set()
        self._lock = threading.Lock()

    def run(self, run_id: UUID) -> str:
        """Drive the run until it ends; its final status (a closed run is left as it is).

        A second delivery while this process drives the run (the reconciler re-sent it) returns
        at once: two threads would ask the model twice for the same turn."""
        with self._lock:
            if run_id in self._active:
                return "running"
            self._active.add(run_id)
        try:
            return self._drive(run_id)
        finally:
            with self._lock:
                self._active.discard(run_id)

    def _drive(self, run_id: UUID) -> str:
        while True:
            run = self._log.load(run_id, AgentRun)
            if not run.open:
                return run.status
            try:
                self._step(run)
            except VersionConflict:
                continue  # cancelled, or another delivery moved it on: look again
            except Exception as error:
                logger.exception("agent_step_failed", run_id=str(run_id))
                self._fail(run_id, "internal", f"{type(error).__name__}: {error}")

    def _step(self, run: AgentRun) -> None:
        now = self._clock()
        if now >= run.deadline:
            seconds = run.spec.timeout_seconds
            run.stop("timeout", detail=f"no answer within {seconds} s", stopped_by=None, at=now)
        elif pending := run.pending_calls():
            self._call_tool(run, pending[0])
            return
        elif run.steps >= run.spec.max_steps:
            detail = f"{run.steps} model turns, the agent's limit"
            run.stop("max_steps", detail=detail, stopped_by=None, at=now)
        elif run.tokens >= run.spec.max_tokens:
            detail = f"{run.tokens} tokens used of {run.spec.max_tokens}"
            run.stop("max_tokens", detail=detail, stopped_by=None, at=now)
        else:
            self._turn(run)
        self._log.commit(run)

    def _turn(self, run: AgentRun) -> None:
        lane = None if run.spec.lane == AUTO_LANE else Lane(run.spec.lane)
        definitions = self._tools.definitions(run.spec.tools) if run.spec.tools else None
        try:
            conversed = self._calls.converse(
                run.transcript(),
                tools=definitions,
                project_id=run.project_id,
                requested_by=run.started_by,
                lane=lane,
            )
        except NoLaneAnswered as error:
            run.fail("unavailable", str(error), at=self._clock())
            return
        except LaneRejected as error:
            run.fail("rejected", str(error), at=self._clock())
            return
        completion = conversed.completion
        # Only these are recorded on the turn, so every recorded call gets its result.
        accepted = completion.tool_calls[:TOOL_CALLS_PER_TURN]
        calls = _unique_ids(
            {"id": call.id, "name": call.name, "arguments": call.arguments} for call in accepted
        )
        at = self._clock()
        run.record_turn(
            content=completion.text,
            tool_calls=calls,
            model_call_id=conversed.call_id,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            at=at,
        )
        if not calls and at < run.deadline:  # a late answer: the next step stops the run
            run.complete(completion.text, at=at)

    def _call_tool(self, run: AgentRun, call: PendingCall) -> None:
        if not call.called:
            run.call_tool(call, at=self._clock())
            self._log.commit(run)  # the intent is on record before the tool acts
        outcome = self._tools.execute(
            ToolRequest(
                name=call.name,
                arguments=call.arguments,
                call_id=call.id,
                run_id=run.id,
                turn=run.steps,
                project_id=run.project_id,
                user_id=run.started_by,
                grant=Grant.of(run.granted_roles, run.granted_project_role),
                available=run.spec.tools,
                at=self._clock(),
            )
        )
        run.return_tool(call, result=outcome.result, error=outcome.error, at=self._clock())
        self._log.commit(run)

    def _fail(self, run_id: UUID, kind: str, reason: str) -> None:
        run = self._log.load(run_id, AgentRun)
        if run.open:
            run.fail(kind, reason, at=self._clock())
            self._log.commit(run)


def _unique_ids(calls: Iterable[dict[str, str]]) -> tuple[dict[str, str], ...]:
    """The turn's calls with ids made unique (a server that repeats one would leave a call
    without its result)."""
    seen: set[str] = set()
    unique = []
    for index, call in enumerate(calls):
        if call["id"] in seen:
            call = {**call, "id": f"{call['id']}_{index}"}
        seen.add(call["id"])
        unique.append(call)
    return tuple(unique)
