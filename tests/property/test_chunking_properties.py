"""chunk_text's guarantees, for generated Markdown, plain text and code-like text.

For every chunk (a character span of the text):

* 0 <= start < end <= len(text), and text[start:end] has no leading or trailing whitespace;
* ``tokens`` is the tokenizer's count for the span and never exceeds ``max_tokens``;
* chunks are in order: starts and ends strictly increase;
* every non-whitespace character of the text lies in some chunk (nothing is lost);
* consecutive chunks overlap only when ``overlap_tokens`` > 0, and then by at most that many
  tokens; code chunks that repeat the end of the previous chunk start at a line's start;
* for Markdown, the chunk's heading is the section path (``Title > Setup``) of a line the chunk
  holds, worked out here from the generated structure (headings inside code fences do not count);
* the same input always gives the same chunks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from cortex.ingest.chunking import Span, chunk_text
from cortex.ingest.tokenizer import ChunkTokenizer, TokenCounter

EXAMPLES = settings(max_examples=60, deadline=None)

# (max_tokens, overlap_tokens): overlap at most half the budget, as settings.py requires.
BUDGETS = st.sampled_from([(16, 0), (24, 4), (32, 8), (48, 0), (64, 16), (100, 25), (200, 32)])

WORDS = st.sampled_from(
    [
        "alpha", "beta", "gamma", "ingest", "pipeline", "chunk", "token", "Cortex", "event",
        "zürich", "naïve", "日本語", "emoji🙂", "x", "42", "3.14", "end.", "why?", "yes!", "a;b",
        "supercalifragilisticexpialidocious", "e=mc^2", "(paren)", "[link](http://x.y/z)",
    ]
)  # fmt: skip


@cache
def tokenizer() -> ChunkTokenizer:
    return ChunkTokenizer()


def counter_for(text: str) -> TokenCounter:
    return tokenizer().counter(text)


def sentences(min_words: int = 1, max_words: int = 40) -> st.SearchStrategy[str]:
    return st.lists(WORDS, min_size=min_words, max_size=max_words).map(" ".join)


@dataclass(frozen=True)
class Block:
    text: str
    path: str  # the section path every line of this block belongs to


@st.composite
def markdown_documents(draw: st.DrawFn) -> tuple[str, list[tuple[int, int, str]]]:
    """A Markdown document and, for each block, (start, end, section path) from its structure."""
    stack: list[tuple[int, str]] = []
    blocks: list[Block] = []
    for _ in range(draw(st.integers(1, 14))):
        choice = draw(st.sampled_from(["heading", "para", "para", "list", "fence", "long"]))
        if choice == "heading":
            level = draw(st.integers(1, 4))
            title = draw(sentences(1, 4))
            stack = [(lvl, t) for lvl, t in stack if lvl < level]
            stack.append((level, title))
            path = " > ".join(t for _, t in stack)
            blocks.append(Block(f"{'#' * level} {title}", path))
            continue
        path = " > ".join(t for _, t in stack)
        if choice == "para":
            lines = draw(st.lists(sentences(), min_size=1, max_size=4))
            blocks.append(Block("\n".join(lines), path))
        elif choice == "list":
            items = draw(st.lists(sentences(1, 8), min_size=1, max_size=6))
            blocks.append(Block("\n".join(f"- {item}" for item in items), path))
        elif choice == "fence":
            body = draw(
                st.lists(
                    st.sampled_from(
                        ["# not a heading", "x = 1", "", "def f():", "    return 2", "## nor this"]
                    ),
                    min_size=1,
                    max_size=6,
                )
            )
            blocks.append(Block("```python\n" + "\n".join(body) + "\n```", path))
        else:  # one long line without separators, cut into token windows
            blocks.append(Block("x" * draw(st.integers(50, 600)), path))
    separators = draw(
        st.lists(st.sampled_from(["\n\n", "\n\n\n", "\n \n", "\n\n  \n\n"]), min_size=len(blocks))
    )
    text = ""
    ranges: list[tuple[int, int, str]] = []
    for block, separator in zip(blocks, separators, strict=False):
        ranges.append((len(text), len(text) + len(block.text), block.path))
        text += block.text + separator
    return text, ranges


@st.composite
def code_files(draw: st.DrawFn) -> str:
    parts = []
    for number in range(draw(st.integers(1, 12))):
        if draw(st.booleans()):
            parts.append("@decorator")
        keyword = draw(st.sampled_from(["def", "class", "async def"]))
        body = draw(st.lists(sentences(1, 12), max_size=8))
        lines = [f"{keyword} name_{number}(arg):"] + [f"    {line}" for line in body]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + draw(st.sampled_from(["", "\n", "\n\n"]))


# Words, odd characters (zero-width space, a lone CR, emoji) and separators of every kind, with the
# occasional long run of letters that only a token window can cut.
plain_texts = st.integers(1, 400).flatmap(
    lambda size: st.lists(
        st.one_of(
            WORDS,
            st.sampled_from([" ", " ", "  ", "\n", "\n\n", "\n \n\n", ". ", "\t", "\u200b", "\r"]),
            st.integers(20, 300).map(lambda n: "q" * n),
            st.text(max_size=8),
        ),
        min_size=size,
        max_size=size,
    ).map("".join)
)


def assert_chunk_invariants(
    text: str, kind: str, spans: list[Span], counter: TokenCounter, max_tokens: int, overlap: int
) -> None:
    covered = [False] * len(text)
    for span in spans:
        assert 0 <= span.start < span.end <= len(text), span
        piece = text[span.start : span.end]
        assert piece == piece.strip(), f"untrimmed chunk {piece!r}"
        assert span.tokens == counter.count(span.start, span.end)
        assert span.tokens <= max_tokens, f"{span.tokens} tokens > {max_tokens}"
        for index in range(span.start, span.end):
            covered[index] = True
    lost = [i for i, char in enumerate(text) if not char.isspace() and not covered[i]]
    assert not lost, f"characters in no chunk: {[text[i] for i in lost[:20]]}"
    for previous, current in pairwise(spans):
        assert previous.start < current.start
        assert previous.end < current.end
        if current.start < previous.end:
            assert overlap > 0, "chunks overlap although overlap_tokens is 0"
            assert counter.count(current.start, previous.end) <= overlap
            if kind == "code":
                line_start = text.rfind("\n", 0, current.start) + 1
                assert not text[line_start : current.start].strip(), "overlap starts mid-line"


@EXAMPLES
@given(document=markdown_documents(), budget=BUDGETS)
def test_markdown_chunks_fit_cover_and_name_their_section(
    document: tuple[str, list[tuple[int, int, str]]], budget: tuple[int, int]
) -> None:
    text, ranges = document
    max_tokens, overlap = budget
    counter = counter_for(text)
    spans = chunk_text(text, "markdown", counter, max_tokens=max_tokens, overlap_tokens=overlap)
    assert spans
    assert_chunk_invariants(text, "markdown", spans, counter, max_tokens, overlap)
    for span in spans:
        paths = {path for start, end, path in ranges if start < span.end and end > span.start}
        assert span.heading in paths, f"{span.heading!r} is none of the chunk's sections {paths}"


@EXAMPLES
@given(text=plain_texts, budget=BUDGETS)
def test_plain_text_chunks_fit_and_cover_the_text(text: str, budget: tuple[int, int]) -> None:
    max_tokens, overlap = budget
    counter = counter_for(text)
    spans = chunk_text(text, "text", counter, max_tokens=max_tokens, overlap_tokens=overlap)
    assert_chunk_invariants(text, "text", spans, counter, max_tokens, overlap)
    assert bool(spans) == bool(text.strip())
    assert all(span.heading == "" for span in spans)


@EXAMPLES
@given(text=code_files(), budget=BUDGETS)
def test_code_chunks_fit_cover_and_overlap_whole_lines(text: str, budget: tuple[int, int]) -> None:
    max_tokens, overlap = budget
    counter = counter_for(text)
    spans = chunk_text(text, "code", counter, max_tokens=max_tokens, overlap_tokens=overlap)
    assert spans
    assert_chunk_invariants(text, "code", spans, counter, max_tokens, overlap)


@settings(max_examples=25, deadline=None)
@given(document=markdown_documents(), budget=BUDGETS)
def test_chunking_is_deterministic(
    document: tuple[str, list[tuple[int, int, str]]], budget: tuple[int, int]
) -> None:
    text, _ = document
    max_tokens, overlap = budget
    first = chunk_text(
        text, "markdown", counter_for(text), max_tokens=max_tokens, overlap_tokens=overlap
    )
    again = chunk_text(
        text,
        "markdown",
        ChunkTokenizer().counter(text),
        max_tokens=max_tokens,
        overlap_tokens=overlap,
    )
    assert first == again
