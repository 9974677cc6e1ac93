"""The router's decisions with a whitespace token counter and a fake embedding (or none)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import pytest

from cortex.lanes.router import Router, load_examples
from cortex.lanes.types import Lane

LANES = list(Lane)
SMALL = {lane: 131072 if lane == Lane.SUPER_READER else 8192 for lane in Lane}
# One made-up word per lane: the fake embedding puts each on its own axis.
EXAMPLES = {lane: [f"zq{index}"] for index, lane in enumerate(LANES)}


def words(text: str) -> int:
    return len(text.split())


class FakeEmbed:
    """Unit vectors: axis i for a text holding "zq{i}", the same off-axis vector otherwise."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.lock = threading.Lock()

    def __call__(self, texts: list[str]) -> np.ndarray:
        with self.lock:
            self.calls.append(list(texts))
        rows = np.full((len(texts), len(LANES)), 1.0, dtype=np.float32)
        for row, text in zip(rows, texts, strict=True):
            hits = [index for index in range(len(LANES)) if f"zq{index}" in text]
            if hits:
                row[:] = 0.0
                row[hits] = 1.0
        unit: np.ndarray = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        return unit


def router(
    embed: Callable[[list[str]], np.ndarray | None] | None = None,
    context: dict[Lane, int] | None = None,
    count_tokens: Callable[[str], int] = words,
) -> Router:
    return Router(
        context_tokens=context or SMALL, count_tokens=count_tokens, embed=embed, examples=EXAMPLES
    )


def test_explicit_lane_wins_over_everything() -> None:
    decision = router(FakeEmbed()).route("def f():\n    return 1\n", lane=Lane.GOVERNANCE)
    assert (decision.lane, decision.score, decision.method) == (Lane.GOVERNANCE, 1.0, "explicit")
    assert decision.tokens == 4
    assert decision.scores[str(Lane.GOVERNANCE)] == 1.0


def test_too_long_for_the_content_lane_goes_to_super_reader_with_the_numbers() -> None:
    context = {**dict.fromkeys(Lane, 100), Lane.SUPER_READER: 1000}
    prompt = "Refactor this function:\n```python\n" + "x = compute(x)\n" * 40 + "```"
    decision = router(context=context).route(prompt, max_tokens=50)
    assert (decision.lane, decision.method, decision.score) == (Lane.SUPER_READER, "length", 1.0)
    assert decision.tokens == 125
    assert "125 prompt tokens + 50 answer tokens = 175 > CODER's context of 100" in decision.reason
    assert "SUPER_READER reads 1000" in decision.reason


def test_answer_tokens_count_towards_the_context() -> None:
    context = {**dict.fromkeys(Lane, 100), Lane.SUPER_READER: 1000}
    prompt = "Plan the launch. " + "word " * 80
    assert router(context=context).route(prompt).lane == Lane.ORCHESTRATOR
    assert router(context=context).route(prompt, max_tokens=40).lane == Lane.SUPER_READER


def test_no_length_override_when_super_reader_reads_no_more() -> None:
    context = dict.fromkeys(Lane, 100)
    prompt = "Fix this bug:\n```python\n" + "x = compute(x)\n" * 40 + "```"
    decision = router(context=context).route(prompt)
    assert (decision.lane, decision.method) == (Lane.CODER, "rules")


def test_without_embeddings_routes_by_rules_and_says_so() -> None:
    decision = router(None).route("Does this data flow comply with GDPR?")
    assert (decision.lane, decision.method) == (Lane.GOVERNANCE, "rules")
    assert "embeddings unavailable" in decision.reason
    assert "GDPR" in decision.reason


def test_embed_without_a_model_falls_back_to_rules() -> None:
    decision = router(lambda texts: None).route("Does this data flow comply with GDPR?")
    assert decision.method == "rules"
    assert "no embedding model loaded" in decision.reason


def test_a_failing_embedding_model_does_not_stop_routing() -> None:
    def broken(texts: list[str]) -> np.ndarray:
        raise RuntimeError("CUDA out of memory")

    decision = router(broken).route("Does this data flow comply with GDPR?")
    assert (decision.lane, decision.method) == (Lane.GOVERNANCE, "rules")
    assert "embeddings failed (RuntimeError)" in decision.reason


@pytest.mark.parametrize(
    ("prompt", "evidence"),
    [
        ("Why does this fail?\n```\nprint(x[0])\n```", "fenced block"),
        (
            'Traceback (most recent call last):\n  File "app.py", line 3, in <module>\n'
            "KeyError: 'config'",
            "stack trace",
        ),
        ("Is this right?\n--- a/app.py\n+++ b/app.py\n-    x = 1\n+    x = 2\n", "diff"),
        ("x = load()\nif x:\n    y = x.items();\nreturn y", "lines"),
    ],
)
def test_code_by_its_shape_goes_to_coder(prompt: str, evidence: str) -> None:
    decision = router(None).route(prompt)
    assert decision.lane == Lane.CODER
    assert "code detected" in decision.reason
    assert evidence in decision.reason


@pytest.mark.parametrize(
    ("prompt", "lane"),
    [
        ("Write a Python function that merges two sorted lists.", Lane.CODER),
        ("Is it allowed under our policy to share customer PII with the vendor?", Lane.GOVERNANCE),
        (
            "Can we ship this GPL library in our product, or does the licence forbid it?",
            Lane.GOVERNANCE,
        ),
        ("What did we decide about caching in our design doc?", Lane.FAST_RAG),
        ("Find the notes from last week's meeting with the landlord.", Lane.FAST_RAG),
        ("Plan the office move: milestones, owners and dependencies.", Lane.ORCHESTRATOR),
        ("Coordinate the writer agent and the reviewer agent on this report.", Lane.ORCHESTRATOR),
        (
            "Read the entire transcript below and summarise it chapter by chapter.",
            Lane.SUPER_READER,
        ),
    ],
)
def test_wording_picks_the_lane(prompt: str, lane: Lane) -> None:
    decision = router(None).route(prompt)
    assert decision.lane == lane, decision.reason
    assert decision.score == decision.scores[str(lane)] == max(decision.scores.values())


def test_nothing_fires_the_default_lane_answers() -> None:
    decision = router(None).route("Hello there, how are you today?")
    assert decision.lane == Lane.ORCHESTRATOR
    assert "default lane" in decision.reason


def test_embedding_similarity_decides_when_the_rules_are_silent() -> None:
    decision = router(FakeEmbed()).route("zq4 hello there")
    assert (decision.lane, decision.method) == (Lane.GOVERNANCE, "rules+embeddings")
    assert "embedding similarity 1.00 to GOVERNANCE examples" in decision.reason


def test_wording_inside_pasted_material_does_not_count() -> None:
    filler = "The weather was mild and the harbour was quiet that spring. " * 40
    prompt = f"Translate the story below into French.\n\n{filler}GDPR audit consent.\n{filler}"
    assert router(None).route(prompt).lane == Lane.ORCHESTRATOR


def test_every_lane_has_a_score_between_zero_and_one() -> None:
    decision = router(FakeEmbed()).route("Write a Python function for our GDPR audit plan.")
    assert set(decision.scores) == {str(lane) for lane in Lane}
    assert all(0.0 <= score <= 1.0 for score in decision.scores.values())


def test_counts_tokens_once_per_route() -> None:
    counted: list[str] = []

    def count(text: str) -> int:
        counted.append(text)
        return words(text)

    routes = router(FakeEmbed(), count_tokens=count)
    routes.route("Plan the launch.")
    routes.route("Plan the launch.", lane=Lane.CODER)
    assert counted == ["Plan the launch.", "Plan the launch."]


def test_examples_are_embedded_once_even_from_many_threads() -> None:
    embed = FakeEmbed()
    routes = router(embed)
    threads = [threading.Thread(target=routes.route, args=(f"question {n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    example_calls = [call for call in embed.calls if len(call) == len(EXAMPLES)]
    assert len(example_calls) == 1
    assert len(embed.calls) == 1 + 8


def test_default_examples_come_from_the_package() -> None:
    examples = load_examples()
    assert set(examples) == set(Lane)
    assert all(len(texts) >= 16 for texts in examples.values())
    assert Router(context_tokens=SMALL, count_tokens=words).route("hello").lane == Lane.ORCHESTRATOR
