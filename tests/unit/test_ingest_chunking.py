"""chunk_text by example: sections, code definitions, CSV rows, long paragraphs and overlap."""

from __future__ import annotations

import re
from functools import cache
from itertools import pairwise
from pathlib import Path

import pytest

from cortex.ingest.chunking import Span, chunk_text
from cortex.ingest.extract import extract_text
from cortex.ingest.tokenizer import DEFAULT_MODEL_NAME, ChunkTokenizer, TokenCounter

WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "and", "keeps"]


@cache
def tokenizer() -> ChunkTokenizer:
    return ChunkTokenizer()


def chunks(text: str, kind: str, max_tokens: int, overlap_tokens: int) -> list[Span]:
    counter = tokenizer().counter(text)
    return chunk_text(text, kind, counter, max_tokens=max_tokens, overlap_tokens=overlap_tokens)


def words(count: int, offset: int = 0) -> str:
    return " ".join(WORDS[(offset + n) % len(WORDS)] for n in range(count))


def model_tokens(text: str) -> int:
    return len(tokenizer().tokenizer.encode(text, add_special_tokens=False).ids)


def chunk_holding(text: str, spans: list[Span], needle: str) -> list[Span]:
    at = text.index(needle)
    return [span for span in spans if span.start <= at and at + len(needle) <= span.end]


# --- the tokenizer --------------------------------------------------------------------------


def test_tokenizer_is_the_bundled_minilm_and_counts_by_character_offsets() -> None:
    assert tokenizer().name == DEFAULT_MODEL_NAME
    text = "hello world, again"
    counter = tokenizer().counter(text)
    assert isinstance(counter, TokenCounter)
    assert counter.count(0, len(text)) == model_tokens(text) == 4
    assert counter.count(0, 5) == 1
    assert counter.count(5, len(text)) == 3
    assert counter.count(3, 3) == 0


def test_missing_tokenizer_folder_is_reported(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        ChunkTokenizer(str(tmp_path))


# --- Markdown -------------------------------------------------------------------------------


GUIDE = (
    f"# Cortex\n\n{words(30)}\n\n"
    f"## Setup\n\n{words(30, 3)}\n\n"
    f"### Linux ###\n\n{words(30, 5)}\n\n"
    f"## Usage\n\n{words(30, 7)}\n"
)


def test_each_sizeable_section_starts_its_own_chunk_named_by_its_section_path() -> None:
    spans = chunks(GUIDE, "markdown", max_tokens=48, overlap_tokens=0)
    starts = [(GUIDE[span.start : span.end].split("\n")[0], span.heading) for span in spans]
    assert starts == [
        ("# Cortex", "Cortex"),
        ("## Setup", "Cortex > Setup"),
        ("### Linux ###", "Cortex > Setup > Linux"),
        ("## Usage", "Cortex > Usage"),
    ]


@pytest.mark.parametrize("overlap", [0, 8])
def test_heading_shares_a_chunk_with_the_start_of_its_section(overlap: int) -> None:
    spans = chunks(GUIDE, "markdown", max_tokens=48, overlap_tokens=overlap)
    for heading, first_words in [
        ("# Cortex", words(3)),
        ("## Setup", words(3, 3)),
        ("### Linux", words(3, 5)),
        ("## Usage", words(3, 7)),
    ]:
        holding = chunk_holding(GUIDE, spans, heading)
        assert holding, f"{heading} is in no chunk"
        for span in holding:
            assert first_words in GUIDE[span.start : span.end], f"{heading} cut from its text"


# A short section followed by a section whose text nearly fills the budget: the heading line
# joins the previous (small) chunk, and the section's text no longer fits after it.
ORPHAN = f"# Title\n\n{' '.join(['intro'] * 10)}\n\n## Setup\n\n{' '.join(['setup'] * 88)}\n"


@pytest.mark.parametrize("overlap", [0, 8])
def test_a_chunk_never_ends_on_a_heading_whose_section_has_text(overlap: int) -> None:
    spans = chunks(ORPHAN, "markdown", max_tokens=100, overlap_tokens=overlap)
    for span in spans:
        last_line = ORPHAN[span.start : span.end].split("\n")[-1]
        assert not re.match(r"#{1,6}\s", last_line), f"chunk ends on heading {last_line!r}"


def test_orphaned_heading_is_repeated_with_its_text_when_chunks_overlap() -> None:
    spans = chunks(ORPHAN, "markdown", max_tokens=100, overlap_tokens=8)
    assert any("## Setup\n\nsetup" in ORPHAN[span.start : span.end] for span in spans)
    assert all(span.tokens <= 100 for span in spans)


def test_headings_inside_code_fences_are_not_sections() -> None:
    text = (
        f"# Guide\n\n{words(20)}\n\n```python\n# not a heading\nx = 1\n## nor this\n```\n\n"
        f"{words(40, 2)}\n"
    )
    spans = chunks(text, "markdown", max_tokens=24, overlap_tokens=0)
    assert len(spans) > 2
    assert {span.heading for span in spans} == {"Guide"}


def test_an_oversized_section_is_split_and_every_piece_keeps_the_section_path() -> None:
    text = f"# Doc\n\n{words(20)}\n\n## Big\n\n{words(150)}\n\n## After\n\nend text here\n"
    spans = chunks(text, "markdown", max_tokens=64, overlap_tokens=8)
    big = [span for span in spans if span.heading == "Doc > Big"]
    assert len(big) >= 3
    assert text[big[0].start :].startswith("## Big\n\n")
    assert all(span.tokens <= 64 for span in spans)
    assert spans[-1].heading == "Doc > After"
    assert text[spans[-1].start : spans[-1].end] == "## After\n\nend text here"


def test_extracted_html_is_chunked_by_its_headings() -> None:
    page = (
        f"<html><head><title>Manual</title></head><body><h1>Manual</h1><p>{words(30)}</p>"
        f"<h2>Install</h2><p>{words(30, 4)}</p><h2>Upgrade</h2><p>{words(30, 8)}</p></body></html>"
    )
    text, _ = extract_text(page.encode(), "html")
    spans = chunks(text, "html", max_tokens=48, overlap_tokens=0)
    assert [span.heading for span in spans] == ["Manual", "Manual > Install", "Manual > Upgrade"]


# --- plain text -----------------------------------------------------------------------------


def test_a_long_paragraph_is_cut_at_sentence_ends_when_it_can_be() -> None:
    text = " ".join(f"Sentence number {n} says something short." for n in range(40))
    spans = chunks(text, "text", max_tokens=64, overlap_tokens=0)
    assert len(spans) > 3
    for span in spans:
        assert text[span.start : span.end].endswith("short.")
        assert span.tokens <= 64


def test_chunks_of_one_long_paragraph_overlap_by_at_most_the_overlap() -> None:
    text = words(400)
    counter = tokenizer().counter(text)
    spans = chunk_text(text, "text", counter, max_tokens=64, overlap_tokens=16)
    assert len(spans) > 5
    for previous, current in pairwise(spans):
        assert current.start < previous.end, "no overlap between chunks of one paragraph"
        assert 0 < counter.count(current.start, previous.end) <= 16
        assert text[current.start - 1] == " "  # the overlap starts at a word


def test_without_overlap_chunks_do_not_overlap() -> None:
    text = words(400)
    spans = chunks(text, "text", max_tokens=64, overlap_tokens=0)
    assert len(spans) > 5
    for previous, current in pairwise(spans):
        assert current.start >= previous.end


def test_a_run_without_spaces_is_cut_into_token_windows() -> None:
    text = "a.b,c;" * 100
    spans = chunks(text, "text", max_tokens=32, overlap_tokens=4)
    assert len(spans) > 10
    assert "".join(text[span.start : span.end] for span in spans) == text
    assert all(0 < span.tokens <= 32 for span in spans)


def test_chunk_token_counts_match_what_the_model_reads() -> None:
    text = "\n\n".join(f"Paragraph {n}: {words(25 + n, n)}. Done, really!" for n in range(12))
    spans = chunks(text, "text", max_tokens=48, overlap_tokens=8)
    for span in spans:
        assert span.tokens == model_tokens(text[span.start : span.end])


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t \n"])
def test_text_without_content_has_no_chunks(text: str) -> None:
    assert chunks(text, "text", max_tokens=32, overlap_tokens=0) == []
    assert chunks(text, "markdown", max_tokens=32, overlap_tokens=0) == []


def test_chunking_the_same_text_twice_gives_the_same_chunks() -> None:
    first = chunks(GUIDE, "markdown", max_tokens=40, overlap_tokens=8)
    fresh = ChunkTokenizer().counter(GUIDE)
    again = chunk_text(GUIDE, "markdown", fresh, max_tokens=40, overlap_tokens=8)
    assert first == again
    assert len(first) > 2


# --- code -----------------------------------------------------------------------------------


def function(name: str, lines: int) -> str:
    body = "".join(f"    total_{n} = value + {n}\n" for n in range(lines))
    return f"def {name}(value):\n{body}    return value\n"


PYTHON = (
    "import os\n\n\n"
    + "\n\n".join(function(f"step_{n}", 3) for n in range(6))
    + "\n\nclass Thing:\n    def first(self):\n        return 1\n\n"
    + "    def second(self):\n        return 2\n\n\n"
    + "@cache\n# a comment about it\ndef last():\n    pass\n"
)


def test_python_chunks_start_at_top_level_definitions() -> None:
    spans = chunks(PYTHON, "code", max_tokens=64, overlap_tokens=8)
    first_lines = [PYTHON[span.start : span.end].split("\n")[0] for span in spans]
    assert first_lines == [
        "import os",
        *[f"def step_{n}(value):" for n in range(1, 6)],
        "class Thing:",
        "@cache",
    ]
    assert [span.heading for span in spans] == [
        "",
        *[f"def step_{n}(value):" for n in range(1, 6)],
        "class Thing:",
        "def last():",
    ]


def test_small_functions_are_never_split_across_chunks() -> None:
    spans = chunks(PYTHON, "code", max_tokens=64, overlap_tokens=8)
    for needle in [function(f"step_{n}", 3).rstrip("\n") for n in range(6)] + [
        "class Thing:\n    def first(self):\n        return 1\n\n    def second(self):",
        "@cache\n# a comment about it\ndef last():",
    ]:
        assert chunk_holding(PYTHON, spans, needle), f"split: {needle[:30]!r}"


def test_small_definitions_are_packed_together_up_to_a_quarter_of_the_budget() -> None:
    text = "\n\n".join(f"def f{n}():\n    return {n}\n" for n in range(12))
    spans = chunks(text, "code", max_tokens=200, overlap_tokens=32)
    assert len(spans) < 12
    for span in spans:
        assert re.match(r"def f\d+\(\):", text[span.start : span.end])


# --- CSV ------------------------------------------------------------------------------------


CSV = "name,age,city\n" + "".join(f"person{n},{20 + n},Town number {n}\n" for n in range(40))


@pytest.mark.parametrize("overlap", [0, 12])
def test_csv_chunks_hold_whole_rows_and_carry_the_header_as_heading(overlap: int) -> None:
    spans = chunks(CSV, "csv", max_tokens=48, overlap_tokens=overlap)
    assert len(spans) > 3
    for span in spans:
        assert span.heading == "name,age,city"
        assert span.start == 0 or CSV[span.start - 1] == "\n", "chunk starts inside a row"
        assert span.end == len(CSV.rstrip("\n")) or CSV[span.end] == "\n", "chunk ends mid-row"
        assert span.tokens <= 48
    row_start = 0
    for row in CSV.splitlines():
        row_end = row_start + len(row)
        assert any(s.start <= row_start and row_end <= s.end for s in spans), f"{row} is split"
        row_start = row_end + 1
    overlapping = [b.start < a.end for a, b in pairwise(spans)]
    assert any(overlapping) == (overlap > 0)
