"""Answers to questions about a project's knowledge: a context pack that fits the FAST_RAG lane,
a prompt that asks for answers cited like [c1], the call made (and recorded) like any model call,
and the citations resolved to the pack's documents, chunks and ideas.

When retrieval finds nothing relevant the answer is "not found in the project's knowledge" and
no model is called: there is nothing to answer from, and a model asked anyway would invent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import UUID

from cortex.application.model_calls import Generated, ModelCallService
from cortex.context.builder import ContextBuilder
from cortex.context.pack import ContextItem, ContextPack

NOT_FOUND = "not found in the project's knowledge"
# The chat template's own tokens (role markers around two messages and the answer's opening):
# ChatML and Llama 3 templates take 4-7 per message; this leaves room to spare.
CHAT_TEMPLATE_TOKENS = 32
UNKNOWN_CONTEXT_TOKENS = 4096  # a lane whose context size is not configured (0)
SYSTEM_PROMPT = (
    "You answer questions about a project using only the numbered sources the user gives you. "
    "Cite the source of every statement with its id in square brackets, like [c1] or [c1][c3]. "
    "Do not use anything you know from elsewhere. If the sources do not answer the question, "
    f"reply exactly: {NOT_FOUND}."
)
_CITATIONS = re.compile(r"\[\s*(c\d+(?:\s*[,;]\s*c\d+)*)\s*\]", re.IGNORECASE)
_CITATION = re.compile(r"c\d+", re.IGNORECASE)


class NoRoomForSources(Exception):
    """Relevant sources were found but the lane's context leaves no room for any of them."""


@dataclass(frozen=True)
class Answer:
    text: str
    found: bool
    citations: list[ContextItem]  # in the order the answer first cites them
    unknown_citations: list[str]  # ids the answer cites that the pack does not hold
    pack: ContextPack
    call: Generated | None  # None: nothing relevant, no model was called


def user_message(sources: str, question: str) -> str:
    return f"Sources:\n\n{sources}Question: {question}"


def cited(text: str) -> list[str]:
    """The citation ids in an answer, each once, in order: [c1], [c1, c2], [C3]."""
    found = (
        citation.lower()
        for group in _CITATIONS.finditer(text)
        for citation in _CITATION.findall(group.group(1))
    )
    return list(dict.fromkeys(found))


class KnowledgeAnswers:
    def __init__(self, builder: ContextBuilder, calls: ModelCallService) -> None:
        self._builder = builder
        self._calls = calls

    def token_budget(self) -> int:
        """The lane's context less its answer's tokens and the chat template's."""
        gateway = self._calls.gateway
        config = gateway.configs[gateway.serving(self._builder.lane)]
        context = config.context_tokens or UNKNOWN_CONTEXT_TOKENS
        return context - config.max_tokens - CHAT_TEMPLATE_TOKENS

    def ask(self, project_id: UUID, question: str, *, requested_by: UUID | None) -> Answer:
        budget = self.token_budget()
        overhead = (SYSTEM_PROMPT, user_message("", question))
        pack = self._builder.build(str(project_id), question, budget, overhead=overhead)
        if not pack.items:
            if pack.relevant:
                raise NoRoomForSources(
                    f"the {self._builder.lane} lane's context leaves {budget} tokens, of which"
                    f" the prompt takes {pack.overhead_tokens}: no source fits"
                )
            return Answer(NOT_FOUND, False, [], [], pack, None)
        call = self._calls.generate(
            user_message(pack.sources(), question),
            project_id=project_id,
            requested_by=requested_by,
            lane=self._builder.lane,
            system=SYSTEM_PROMPT,
        )
        ids = cited(call.text)
        items = [item for item in map(pack.item, ids) if item is not None]
        unknown = [citation for citation in ids if pack.item(citation) is None]
        found = not call.text.strip().lower().startswith(NOT_FOUND)
        return Answer(call.text, found, items, unknown, pack, call)
