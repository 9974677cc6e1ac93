"""Ingest benchmark: mixed documents through upload, extraction and chunking, end to end.

Run:  .venv/bin/python benchmarks/bench_ingest.py [--documents N] [--workers W] [--sqlite]
      [--seed S] [--http-sample H] [--pg-admin-url URL] [--redis-url URL]

N documents (default 1000) are generated in the script from a seed: plain text, Markdown with
headings, HTML with script and style, Python source, JSON, CSV and a few PDFs built with fpdf2,
from about 1 KB to about 50 KB each. They go through, in one process run:

- raw: the work alone, in a plain loop: ``extract_text`` then ``ChunkTokenizer.counter`` +
  ``chunk_text`` (200 tokens, 32 overlap, as the pipeline's defaults). This is the baseline of
  the ours / raw ratios.
- in-process: ``bootstrap`` on a fresh database, projections and the in-process Dramatiq worker
  (StubBroker, CORTEX_WORKER_THREADS threads) started, then every document uploaded through
  ``cortex.intake.add_documents`` (``stage_bytes`` first, as the HTTP layer does).
- redis: the same, with CORTEX_REDIS_URL (db flushed before and after) and
  CORTEX_WORKERS_IN_PROCESS=false. This process records the uploads and runs the projections;
  W ``cortex worker --queues ingest`` subprocesses (default 2) consume.

A pipeline run is timed from the first upload to the moment the ``ingest_jobs`` read model shows
every job finished (polled in bulk). The per-job stage times come from that read model:
queue wait (requested -> extract started), extract, record text (extracted -> chunk started: the
TextExtracted commit), chunk (tokenise + chunk), and end to end (requested -> finished).

Then an upload-only sample of H files (default 100) goes through the real HTTP layer (Litestar
TestClient on ``create_app(cortex=...)``, one multipart file per request) and, interleaved file by
file, through ``add_documents`` directly, on a fresh database with no worker: the edge's cost.

PostgreSQL by default (a throw-away ``cortex_bench_<random>`` database per case, created through
the admin database and dropped at the end); --sqlite uses files in a temporary directory instead.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import logging
import math
import os
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import redis
import structlog
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from cortex.bootstrap import Cortex, bootstrap
from cortex.ingest.chunking import chunk_text
from cortex.ingest.extract import extract_text
from cortex.ingest.sniff import sniff
from cortex.ingest.staging import stage_bytes
from cortex.ingest.tokenizer import ChunkTokenizer
from cortex.settings import Settings, load_settings
from projections import document_queries

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
MIN_BYTES = 1024
MAX_BYTES = 50 * 1024
PDF_EVERY = 50  # one document in 50 is a PDF
TERMINAL = ("completed", "failed", "cancelled")
JOB_TIMEOUT_S = 900.0
WORKER_START_TIMEOUT_S = 60.0

# --- the corpus -----------------------------------------------------------------------------------

WORDS = (
    "the of and to in is that for it as with on be by this are from at or an which can not "
    "data event store worker queue document chunk token index search project idea vote user "
    "service request response server client cache memory disk network latency throughput "
    "replica primary backup restore schema migration table column row query plan transaction "
    "commit rollback lock retry timeout failure error warning log metric trace span alert "
    "deploy release build test review merge branch version tag config setting secret key "
    "policy role permission account session audit report summary detail overview design "
    "architecture component module package library function method class object value field "
    "record stream batch pipeline stage step task job owner team week month quarter plan goal "
    "customer product feature roadmap budget cost estimate risk decision meeting notes action "
    "first second third last next previous every each some many few most other same new old "
    "fast slow large small high low early late simple complex stable careful clear quick"
).split()
CSS = (
    "body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 60rem; }\n"
    ".nav a { color: #245; text-decoration: none; padding: 0.25rem 0.5rem; }\n"
    "pre, code { background: #f4f4f4; border-radius: 3px; }\n"
)
SCRIPT = (
    "window.dataLayer = window.dataLayer || [];\n"
    "function track(name, value) { window.dataLayer.push({event: name, value: value}); }\n"
    "document.addEventListener('DOMContentLoaded', function () { track('view', location.href); "
    "});\n"
)


@dataclass(frozen=True)
class Doc:
    filename: str
    data: bytes
    label: str  # what the generator made (text, markdown, html, python, json, csv, pdf)
    kind: str  # what sniffing says it is: the extractor that will run


def _sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(6, 18))
    return " ".join(words).capitalize() + rng.choice(".....?!")


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(2, 7)))


def _title(rng: random.Random) -> str:
    return " ".join(rng.choices(WORDS, k=rng.randint(2, 6))).capitalize()


def _grow(target: int, first: str, more: Callable[[], str], last: str = "") -> str:
    parts = [first]
    size = len(first) + len(last)
    while size < target:
        part = more()
        parts.append(part)
        size += len(part)
    parts.append(last)
    return "".join(parts)


def gen_text(rng: random.Random, number: int, target: int) -> tuple[str, bytes]:
    body = _grow(target, f"Notes {number}: {_title(rng)}\n\n", lambda: _paragraph(rng) + "\n\n")
    return f"notes-{number}.txt", body.encode()


def gen_markdown(rng: random.Random, number: int, target: int) -> tuple[str, bytes]:
    def section() -> str:
        level = rng.choice(("##", "##", "###"))
        parts = [f"{level} {_title(rng)}\n\n"]
        for _ in range(rng.randint(1, 4)):
            roll = rng.random()
            if roll < 0.15:
                parts.append("".join(f"- {_sentence(rng)}\n" for _ in range(rng.randint(2, 6))))
                parts.append("\n")
            elif roll < 0.25:
                code = "".join(f"    step_{i} = run({i}, retries=3)\n" for i in range(3))
                parts.append(f"```python\ndef example():\n{code}```\n\n")
            else:
                parts.append(_paragraph(rng) + "\n\n")
        return "".join(parts)

    body = _grow(target, f"# Handbook {number}: {_title(rng)}\n\n{_paragraph(rng)}\n\n", section)
    return f"handbook-{number}.md", body.encode()


def gen_html(rng: random.Random, number: int, target: int) -> tuple[str, bytes]:
    head = (
        f"<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>Page {number}: {_title(rng)}</title>\n<style>\n{CSS}</style>\n"
        f"<script>\n{SCRIPT}</script>\n</head>\n<body>\n"
        f"<nav class='nav'><a href='/'>Home</a> <a href='/docs'>Docs</a></nav>\n"
        f"<h1>{_title(rng)}</h1>\n"
    )

    def block() -> str:
        roll = rng.random()
        if roll < 0.2:
            return f"<h2>{_title(rng)}</h2>\n"
        if roll < 0.3:
            items = "".join(f"<li>{_sentence(rng)}</li>" for _ in range(rng.randint(2, 5)))
            return f"<ul>{items}</ul>\n"
        if roll < 0.35:
            return f"<script>track('section', {rng.randint(1, 999)});</script>\n"
        if roll < 0.45:
            cells = "".join(f"<td>{rng.choice(WORDS)}</td>" for _ in range(4))
            return f"<table><tr>{cells}</tr><tr>{cells}</tr></table>\n"
        return f"<p class='body'>{_paragraph(rng)}</p>\n"

    body = _grow(target, head, block, "<footer>Generated page.</footer>\n</body></html>\n")
    return f"page-{number}.html", body.encode()


def gen_python(rng: random.Random, number: int, target: int) -> tuple[str, bytes]:
    head = (
        f'"""Module {number}: {_sentence(rng)}"""\n\nfrom __future__ import annotations\n\n'
        "import json\nimport logging\nfrom dataclasses import dataclass\n\n"
        "logger = logging.getLogger(__name__)\n\n"
    )
    counter = iter(range(1_000_000))

    def definition() -> str:
        n = next(counter)
        name = "_".join(rng.choices(WORDS, k=2))
        if rng.random() < 0.3:
            fields = "".join(f"    {rng.choice(WORDS)}_{i}: int = {i}\n" for i in range(4))
            method = (
                f"    def total(self) -> int:\n"
                f'        """{_sentence(rng)}"""\n'
                f"        return sum(vars(self).values())\n"
            )
            return f"\n@dataclass\nclass {name.title().replace('_', '')}{n}:\n{fields}\n{method}\n"
        lines = "".join(
            f"    {rng.choice(WORDS)}_{i} = len(items) * {rng.randint(1, 99)} + {i}\n"
            for i in range(rng.randint(2, 8))
        )
        return (
            f"\ndef {name}_{n}(items: list[str], limit: int = {rng.randint(1, 500)}) -> dict:\n"
            f'    """{_sentence(rng)}\n\n    {_sentence(rng)}\n    """\n'
            f"{lines}"
            f"    if len(items) > limit:\n"
            f"        logger.warning('too many items: %d', len(items))\n"
            f"    # {_sentence(rng)}\n"
            f"    return {{'count': len(items), 'limit': limit}}\n\n"
        )

    body = _grow(target, head, definition)
    return f"module_{number}.py", body.encode()


def gen_json(rng: random.Random, number: int, target: int) -> tuple[str, bytes]:
    records: list[dict[str, Any]] = []
    size = 0
    while size < target:
        record = {
            "id": f"{number}-{len(records)}",
            "name": _title(rng),
            "tags": rng.sample(WORDS, k=rng.randint(1, 4)),
            "score": round(rng.random() * 100, 3),
            "active": rng.random() < 0.7,
            "description": _sentence(rng),
        }
        records.append(record)
        encoded = json.dumps(record, indent=2)
        size += len(encoded) + 4 * encoded.count("\n") + 10  # as nested one level deeper
    data = json.dumps({"export": number, "records": records}, indent=2)
    return f"export-{number}.json", data.encode()


def gen_csv(rng: random.Random, number: int, target: int) -> tuple[str, bytes]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "date", "account", "amount", "status", "comment"])
    row = 0
    while out.tell() < target:
        writer.writerow(
            [
                f"{number}-{row}",
                f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                rng.choice(WORDS),
                f"{rng.uniform(-5000, 5000):.2f}",
                rng.choice(("open", "paid", "void")),
                _sentence(rng),
            ]
        )
        row += 1
    return f"ledger-{number}.csv", out.getvalue().encode()


def gen_pdf(rng: random.Random, number: int, target: int) -> tuple[str, bytes]:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_creation_date(datetime(2026, 1, 1, tzinfo=UTC))
    pdf.add_page()
    pdf.set_font("Helvetica", size=16)
    pdf.cell(0, 10, f"Report {number}: {_title(rng)}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    # Lines wrapped here: fpdf2's multi_cell is ten times slower. Compressed, the text takes
    # about 60 % of its length in the file.
    written = 0
    while written < target * 1.6:
        paragraph = _paragraph(rng)
        for line in textwrap.wrap(paragraph, 95):
            pdf.cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        written += len(paragraph)
    return f"report-{number}.pdf", bytes(pdf.output())


GENERATORS: tuple[tuple[str, Callable[[random.Random, int, int], tuple[str, bytes]]], ...] = (
    ("text", gen_text),
    ("markdown", gen_markdown),
    ("html", gen_html),
    ("python", gen_python),
    ("json", gen_json),
    ("csv", gen_csv),
)


def make_corpus(count: int, seed: int) -> list[Doc]:
    """count documents, the same for the same seed: sizes log-uniform from 1 KB to 50 KB."""
    rng = random.Random(seed)
    docs = []
    for number in range(count):
        target = int(math.exp(rng.uniform(math.log(MIN_BYTES), math.log(MAX_BYTES))))
        if number % PDF_EVERY == PDF_EVERY // 2:
            label, generate = "pdf", gen_pdf
        else:
            label, generate = rng.choice(GENERATORS)
        filename, data = generate(rng, number, target)
        sniffed = sniff(data[:8192], filename, len(data))
        docs.append(Doc(filename, data, label, sniffed.kind))
    return docs


