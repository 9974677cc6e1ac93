"""The router against the labelled routing set, with the real tokenizer and embedding model.

Each prompt with ``pad_tokens`` gets that many tokens of real prose (paragraphs of the README)
appended, as a user pasting long material would. The set is never used to tune the examples."""

from __future__ import annotations

import json
import os
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from cortex.embeddings.chain import load_model
from cortex.ingest.tokenizer import ChunkTokenizer
from cortex.lanes import rules
from cortex.lanes.router import TOP_K, Router, load_examples
from cortex.lanes.types import Lane

ROOT = Path(__file__).resolve().parents[2]
PROMPTS = ROOT / "tests" / "data" / "routing_prompts.jsonl"
CONTEXT = {lane: 131072 if lane == Lane.SUPER_READER else 8192 for lane in Lane}
MIN_OVERALL = 0.85
MIN_PER_LANE = 0.6

Case = tuple[Lane, str]
Embed = Callable[[list[str]], np.ndarray]


@pytest.fixture(scope="module")
def tokenizer() -> ChunkTokenizer:
    return ChunkTokenizer()


@pytest.fixture(scope="module")
def count_tokens(tokenizer: ChunkTokenizer) -> Callable[[str], int]:
    def count(text: str) -> int:
        return len(tokenizer.tokenizer.encode(text, add_special_tokens=False).ids)

    return count


@pytest.fixture(scope="module")
def embed() -> Embed:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is bundled; never download
    model = load_model("all-MiniLM-L6-v2", "cpu")
    return lambda texts: model.embed_passages(texts).vectors


@pytest.fixture(scope="module")
def cases(tokenizer: ChunkTokenizer) -> list[Case]:
    prose = _readme_prose()
    loaded = []
    for line in PROMPTS.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        prompt = row["prompt"]
        if row.get("pad_tokens"):
            prompt += "\n\n" + _pad(tokenizer, prose, int(row["pad_tokens"]))
        loaded.append((Lane(row["lane"]), prompt))
    return loaded


def _readme_prose() -> list[str]:
    """The README's paragraphs of running text (no code blocks, tables, headings or lists)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    paragraphs, fenced = [], False
    for block in text.split("\n\n"):
        if block.count("```") % 2:
            fenced = not fenced
            continue
        first = block.lstrip()[:1]
        if not fenced and first and first not in "#|-*`>0123456789" and len(block.split()) >= 20:
            paragraphs.append(" ".join(block.split()))
    assert paragraphs, "README.md has no prose paragraphs to pad with"
    return paragraphs


def _pad(tokenizer: ChunkTokenizer, prose: list[str], tokens: int) -> str:
    """Exactly ``tokens`` tokens of prose: the paragraphs repeated, cut at a token boundary."""
    sizes = [len(tokenizer.tokenizer.encode(text, add_special_tokens=False).ids) for text in prose]
    chosen: list[str] = []
    total = 0
    while total <= tokens:  # paragraph counts add up to about the joined text's count
        chosen.append(prose[len(chosen) % len(prose)])
        total += sizes[(len(chosen) - 1) % len(prose)]
    text = "\n\n".join(chosen)
    cut = tokenizer.counter(text).offset_after(0, tokens)
    assert len(tokenizer.tokenizer.encode(text[:cut], add_special_tokens=False).ids) == tokens
    return text[:cut]


def _accuracy(predicted: list[Lane], cases: list[Case]) -> dict[str, tuple[int, int]]:
    """lane -> (right, total), plus "overall"."""
    table: dict[str, tuple[int, int]] = {}
    for lane in Lane:
        pairs = [
            (want, got) for (want, _), got in zip(cases, predicted, strict=True) if want == lane
        ]
        table[str(lane)] = (sum(want == got for want, got in pairs), len(pairs))
    right = sum(want == got for (want, _), got in zip(cases, predicted, strict=True))
    table["overall"] = (right, len(cases))
    return table


def _table(columns: dict[str, dict[str, tuple[int, int]]]) -> str:
    names = list(columns)
    lines = [f"{'lane':<14}" + "".join(f"{name:>20}" for name in names)]
    for row in [*(str(lane) for lane in Lane), "overall"]:
        cells = []
        for name in names:
            right, total = columns[name][row]
            cells.append(f"{right / total:>12.1%} {right:>3}/{total:<3}")
        lines.append(f"{row:<14}" + "".join(cells))
    return "\n".join(lines)


def _embeddings_only(
    embed: Embed, router: Router, cases: list[Case], tokens: list[int]
) -> list[Lane]:
    """The similarity signal alone: the lane of the most similar examples (length still applies)."""
    examples = load_examples()
    lanes = list(examples)
    vectors = embed([text for lane in lanes for text in examples[lane]])
    bounds = np.cumsum([0, *(len(examples[lane]) for lane in lanes)])
    queries = embed([rules.embedding_text(prompt) for _, prompt in cases])
    chosen = []
    for query, count in zip(queries, tokens, strict=True):
        sims = vectors @ query
        means = [
            np.sort(sims[bounds[i] : bounds[i + 1]])[-TOP_K:].mean() for i in range(len(lanes))
        ]
        lane = lanes[int(np.argmax(means))]
        chosen.append(Lane.SUPER_READER if count > CONTEXT[lane] else lane)
    return chosen


def test_routes_the_labelled_set_accurately(
    cases: list[Case], count_tokens: Callable[[str], int], embed: Embed
) -> None:
    combined = Router(context_tokens=CONTEXT, count_tokens=count_tokens, embed=embed)
    rules_only = Router(context_tokens=CONTEXT, count_tokens=count_tokens)
    decisions = [combined.route(prompt) for _, prompt in cases]
    columns = {
        "rules+embeddings": _accuracy([d.lane for d in decisions], cases),
        "rules only": _accuracy([rules_only.route(p).lane for _, p in cases], cases),
        "embeddings only": _accuracy(
            _embeddings_only(embed, combined, cases, [d.tokens for d in decisions]), cases
        ),
    }
    misses = [
        f"  {want} -> {d.lane} [{d.method}] {prompt[:70]!r}: {d.reason}"
        for (want, prompt), d in zip(cases, decisions, strict=True)
        if d.lane != want
    ]
    methods = Counter(d.method for d in decisions)
    report = f"{_table(columns)}\nmethods: {dict(methods)}\nmisrouted (rules+embeddings):\n"
    report += "\n".join(misses)
    print("\n" + report)
    accuracy = columns["rules+embeddings"]
    right, total = accuracy["overall"]
    assert right / total >= MIN_OVERALL, report
    for lane in Lane:
        right, total = accuracy[str(lane)]
        assert right / total >= MIN_PER_LANE, f"{lane} ignored?\n{report}"


def test_routes_a_short_prompt_quickly_once_examples_are_cached(
    count_tokens: Callable[[str], int], embed: Embed
) -> None:
    router = Router(context_tokens=CONTEXT, count_tokens=count_tokens, embed=embed)
    prompt = "Which database did we pick for the event store, and why?"
    for _ in range(5):  # the first embeds the examples; the next few warm the model's kernels
        router.route(prompt)
    timings = []
    for _ in range(30):
        start = time.perf_counter()
        router.route(prompt)
        timings.append(time.perf_counter() - start)
    p50 = statistics.median(timings)
    print(f"\nroute() p50 {p50 * 1000:.1f} ms, max {max(timings) * 1000:.1f} ms (short prompt)")
    assert p50 < 0.5  # generous: the machine is shared; a cached route is one small embedding
