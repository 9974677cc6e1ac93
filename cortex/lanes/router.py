"""The lane router: picks the lane that should answer a prompt, from the prompt alone, and says why.

An explicit lane wins; a prompt too long for the lane its content points to goes to SUPER_READER
when that reads more; otherwise rule signals (rules.py) and, when an embedding model is loaded, the
similarity to each lane's examples are combined into one score per lane and the best one answers.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import structlog

from cortex.lanes import rules
from cortex.lanes.types import DEFAULT_LANE, Lane

logger = structlog.get_logger("cortex.lanes")

EXAMPLES_FILE = Path(__file__).with_name("lane_examples.json")
TOP_K = 3  # the mean of a few best matches: one odd example neither makes nor breaks a lane
EMBEDDING_WEIGHT = 0.5  # the two signals count alike; each alone misses what the other catches
# Cosine similarities of all-MiniLM-L6-v2 between related sentences sit around 0.2-0.7; this
# range is stretched to 0..1 so that a similarity counts about as much as a fired rule.
SIMILARITY_FLOOR = 0.15
SIMILARITY_SPAN = 0.45
LONG_SHARE = 0.5  # a prompt filling half the smallest context hints at long-material reading
LONG_WEIGHT = 0.3

Vectors = npt.NDArray[np.float32]
Embed = Callable[[list[str]], Vectors | None]


@dataclass(frozen=True)
class RoutingDecision:
    """The lane chosen for a prompt, how sure, why, and every lane's combined score."""

    lane: Lane
    score: float  # 0..1: the lane's combined score; 1.0 when requested or forced by length
    reason: str  # which signals decided, in words
    method: str  # "explicit" | "length" | "rules" | "rules+embeddings"
    tokens: int  # the prompt's tokens
    scores: dict[str, float]  # every lane's combined score from the content (lane name -> score)


def load_examples(path: Path = EXAMPLES_FILE) -> dict[Lane, list[str]]:
    """The example prompts for each lane that embedding similarity compares against."""
    raw: dict[str, list[str]] = json.loads(path.read_text(encoding="utf-8"))
    return {Lane(name): list(texts) for name, texts in raw.items()}


class Router:
    """Routes prompts to lanes; safe to share between threads."""

    def __init__(
        self,
        *,
        context_tokens: Mapping[Lane, int],
        count_tokens: Callable[[str], int],
        embed: Embed | None = None,
        examples: Mapping[Lane, Sequence[str]] | None = None,
    ) -> None:
        self._context = dict(context_tokens)
        self._count_tokens = count_tokens
        self._embed = embed
        chosen = load_examples() if examples is None else examples
        self._examples = {lane: list(texts) for lane, texts in chosen.items() if texts}
        self._example_vectors: dict[Lane, Vectors] | None = None
        self._lock = threading.Lock()

    def route(
        self, prompt: str, *, lane: Lane | None = None, max_tokens: int = 0
    ) -> RoutingDecision:
        """The lane that should answer ``prompt`` (``lane`` forces one)."""
        tokens = self._count_tokens(prompt)  # once: a 40k-token prompt is slow to count
        if lane is not None:
            scores = {str(each): float(each == lane) for each in Lane}
            return RoutingDecision(lane, 1.0, f"lane {lane} requested", "explicit", tokens, scores)
        evidence = rules.shape_evidence(prompt) + rules.wording_evidence(prompt)
        evidence += self._length_evidence(tokens)
        rule_scores = rules.combine(evidence)
        similarity, unavailable = self._similarities(prompt)
        combined = _combine(rule_scores, similarity)
        best = max(Lane, key=lambda each: (combined[each], each == DEFAULT_LANE))
        scores = {str(each): round(combined[each], 4) for each in Lane}
        content = _explain(best, evidence, similarity, combined)
        if unavailable:
            content += f"; {unavailable}, rules only"
        if (too_long := self._too_long(best, tokens, max_tokens)) is not None:
            reason = f"{too_long}; the content pointed to {best}: {content}"
            return RoutingDecision(Lane.SUPER_READER, 1.0, reason, "length", tokens, scores)
        method = "rules" if similarity is None else "rules+embeddings"
        return RoutingDecision(best, round(combined[best], 4), content, method, tokens, scores)

    def _context_of(self, lane: Lane) -> int:
        """A lane without its own context size uses the default lane's (0: unknown)."""
        return self._context.get(lane) or self._context.get(DEFAULT_LANE, 0)

    def _too_long(self, lane: Lane, tokens: int, max_tokens: int) -> str | None:
        """Why the prompt and its answer cannot fit ``lane`` but SUPER_READER reads more, if so."""
        need, limit = tokens + max_tokens, self._context_of(lane)
        reader = self._context_of(Lane.SUPER_READER)
        if lane == Lane.SUPER_READER or not limit or need <= limit or reader <= limit:
            return None
        beyond = "" if need <= reader else ", though even that is too small"
        return (
            f"{tokens} prompt tokens + {max_tokens} answer tokens = {need} > {lane}'s context of "
            f"{limit}; SUPER_READER reads {reader}{beyond}"
        )

    def _length_evidence(self, tokens: int) -> list[rules.Evidence]:
        """Length alone is a hint, not a verdict: short of the limit, the wording decides."""
        sizes = [self._context_of(lane) for lane in Lane if lane != Lane.SUPER_READER]
        smallest = min((size for size in sizes if size), default=0)
        if not smallest or tokens < LONG_SHARE * smallest:
            return []
        detail = f"{tokens} tokens of {smallest}"
        return [rules.Evidence(Lane.SUPER_READER, "long prompt", detail, LONG_WEIGHT)]

    def _similarities(self, prompt: str) -> tuple[dict[Lane, float] | None, str]:
        """Mean of the top-k cosine similarities to each lane's examples, or why there are none."""
        if self._embed is None:
            return None, "embeddings unavailable (no embedding model)"
        try:
            examples = self._cached_example_vectors()
            vectors = None if examples is None else self._embed([rules.embedding_text(prompt)])
        except Exception as error:  # a broken model must not stop routing: the rules still work
            logger.warning("routing_embeddings_failed", error=f"{type(error).__name__}: {error}")
            return None, f"embeddings failed ({type(error).__name__})"
        if examples is None or vectors is None:
            return None, "embeddings unavailable (no embedding model loaded)"
        query = vectors[0]
        result = {}
        for lane, rows in examples.items():
            top = np.sort(rows @ query)[-TOP_K:]
            result[lane] = float(top.mean())
        return result, ""

    def _cached_example_vectors(self) -> dict[Lane, Vectors] | None:
        """The examples' vectors, computed once on first use (None while no model is loaded)."""
        if self._example_vectors is not None:
            return self._example_vectors
        with self._lock:
            if self._example_vectors is None and self._embed is not None:
                lanes = list(self._examples)
                texts = [text for lane in lanes for text in self._examples[lane]]
                vectors = self._embed(texts) if texts else None
                if vectors is None:
                    return None
                split, start = {}, 0
                for lane in lanes:
                    end = start + len(self._examples[lane])
                    split[lane] = np.asarray(vectors[start:end], dtype=np.float32)
                    start = end
                self._example_vectors = split
            return self._example_vectors


def _combine(
    rule_scores: dict[Lane, float], similarity: dict[Lane, float] | None
) -> dict[Lane, float]:
    if similarity is None:
        return rule_scores
    combined = {}
    for lane in Lane:
        stretched = (similarity.get(lane, 0.0) - SIMILARITY_FLOOR) / SIMILARITY_SPAN
        embedded = min(max(stretched, 0.0), 1.0)
        combined[lane] = (1 - EMBEDDING_WEIGHT) * rule_scores[lane] + EMBEDDING_WEIGHT * embedded
    return combined


def _explain(
    lane: Lane,
    evidence: list[rules.Evidence],
    similarity: dict[Lane, float] | None,
    combined: dict[Lane, float],
) -> str:
    """Which signals decided: the lane's fired rules, its similarity, and the runner-up."""
    parts = [rules.describe(lane, evidence)]
    if similarity is not None and lane in similarity:
        parts.append(f"embedding similarity {similarity[lane]:.2f} to {lane} examples")
    runner_up = max((each for each in Lane if each != lane), key=lambda each: combined[each])
    if combined[runner_up] > 0:
        parts.append(f"runner-up {runner_up} {combined[runner_up]:.2f}")
    return "; ".join(parts)
