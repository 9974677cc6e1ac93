"""The context pack's rules on their own: citations read from an answer, near-duplicates, and
token counts by a lane's /tokenize (vLLM's and llama.cpp's forms) or the fallback tokenizer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cortex.context.answers import cited
from cortex.context.duplicates import drop_near_duplicates
from cortex.lanes.config import lane_configs
from cortex.lanes.gateway import LaneGateway
from cortex.lanes.tokens import Counter, LaneTokenizer
from cortex.lanes.types import Lane
from cortex.settings import load_settings
from tests.support.llm_server import FakeLLMServer

PASSAGE = " ".join(f"word{number}" for number in range(100))


def test_citations_are_read_in_order_once_each() -> None:
    text = "Lava [c2] flows [c1, c3]; [C2] again, [c4][c5] and [ c6 ; c7 ], not c8 or [x1]."
    assert cited(text) == ["c2", "c1", "c3", "c4", "c5", "c6", "c7"]
    assert cited("no sources at all") == []


def test_a_copy_with_a_word_changed_is_a_near_duplicate() -> None:
    copy = PASSAGE.replace("word50", "changed")
    kept, dropped = drop_near_duplicates([PASSAGE, copy], str)
    assert (kept, dropped) == ([PASSAGE], 1)


def test_overlapping_neighbours_and_unrelated_texts_are_kept() -> None:
    words = PASSAGE.split()
    first, second = " ".join(words[:60]), " ".join(words[45:])  # 15 words of overlap
    kept, dropped = drop_near_duplicates([first, second, "something else entirely"], str)
    assert dropped == 0
    assert len(kept) == 3


def test_a_passage_held_by_a_better_item_is_dropped() -> None:
    part = " ".join(PASSAGE.split()[10:40])
    kept, dropped = drop_near_duplicates([PASSAGE, part], str)
    assert (kept, dropped) == ([PASSAGE], 1)


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(model="lane-model") as fake:
        yield fake


def tokenizer(**env: str) -> LaneTokenizer:
    configs = lane_configs(load_settings({"CORTEX_LLM_MODEL": "lane-model", **env}).llm)
    gateway = LaneGateway(
        configs, retries=0, backoff_seconds=0, breaker_failures=3, breaker_cooldown_seconds=1
    )
    return LaneTokenizer(gateway, lambda text: len(text), "chars")


def count(tokens: LaneTokenizer, *texts: str) -> tuple[list[int], str]:
    def work(counter: Counter) -> tuple[list[int], str]:
        return [counter.count(text) for text in texts], counter.name

    return tokens.counting(Lane.FAST_RAG, work)


def test_vllms_tokenize_counts(server: FakeLLMServer) -> None:
    tokens = tokenizer(CORTEX_LLM_BASE_URL=server.base_url)
    assert count(tokens, "one two three", "four") == ([3, 1], "lane ORCHESTRATOR (lane-model)")
    first = server.tokenize_requests[0].body
    assert first == {"model": "lane-model", "prompt": "one two three", "add_special_tokens": False}


def test_llama_cpp_servers_tokenize_is_recognised_and_remembered(server: FakeLLMServer) -> None:
    server.tokenize = "llama_cpp"
    tokens = tokenizer(CORTEX_LLM_BASE_URL=server.base_url)
    assert count(tokens, "one two three") == ([3], "lane ORCHESTRATOR (lane-model)")
    assert len(server.tokenize_requests) == 2  # vLLM's form answered without a count
    server.reset()
    assert count(tokens, "four five")[0] == [2]
    assert [request.body for request in server.tokenize_requests] == [
        {"content": "four five", "add_special": False}
    ]


def test_a_server_without_tokenize_falls_back(server: FakeLLMServer) -> None:
    server.tokenize = None
    tokens = tokenizer(CORTEX_LLM_BASE_URL=server.base_url)
    assert count(tokens, "one two") == ([7], "chars (the lane has no /tokenize)")


def test_a_server_that_is_down_falls_back(server: FakeLLMServer) -> None:
    tokens = tokenizer(CORTEX_LLM_BASE_URL=server.base_url)
    server.down()
    counts, name = count(tokens, "one two")
    assert counts == [7]
    assert name == "chars (the lane's /tokenize failed: ConnectError)"


def test_lanes_without_a_server_fall_back() -> None:
    assert count(tokenizer(), "abc")[1] == "chars (no model lane is configured)"
    program = tokenizer(
        CORTEX_LLM_BACKEND="llama_cpp",
        CORTEX_LLAMA_CPP_BINARY="/usr/bin/llama-completion",
        CORTEX_LLAMA_CPP_MODEL_PATH="/models/m.gguf",
    )
    assert count(program, "abc") == (
        [3],
        "chars (the ORCHESTRATOR lane runs llama.cpp as a program)",
    )
