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

A pipeline run is timed from the first upload to the last job's ``finished_at``; the
``ingest_jobs`` read model is polled in bulk (jobs by status) until every job has ended, and the
moments the poll saw it and every projection caught up are printed too. The per-job stage times
come from that read model: queue wait (requested -> extract started), extract, record text
(extracted -> chunk started: loading the document and committing TextExtracted), chunk
(tokenise + chunk_text), and end to end (requested -> finished). CPU seconds are this process's
plus the worker processes' over the same span, and the whole machine's (PostgreSQL included).

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
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import redis
import structlog

from cortex.bootstrap import Cortex, bootstrap
from cortex.ingest.chunking import chunk_text
from cortex.ingest.extract import extract_text
from cortex.ingest.sniff import SNIFF_BYTES, sniff
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

_VOCABULARY = (
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
)
WORDS = tuple(_VOCABULARY.split())
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
        sniffed = sniff(data[:SNIFF_BYTES], filename, len(data))
        docs.append(Doc(filename, data, label, sniffed.kind))
    return docs


# --- where the data goes --------------------------------------------------------------------------


from backends import Backend, PostgresBackend, SQLiteBackend  # noqa: E402
from measure import pct  # noqa: E402

# --- measurements ---------------------------------------------------------------------------------


STAGES = ("queue wait", "extract", "record text", "chunk", "end to end")


@dataclass
class Result:
    name: str
    documents: int
    size: int
    wall: float
    stages: dict[str, list[float]]  # seconds per job, by stage name
    notes: list[str] = field(default_factory=list)
    upload_s: float | None = None
    cpu_s: float = 0.0

    @property
    def docs_per_min(self) -> float:
        return self.documents / self.wall * 60 if self.wall else float("inf")

    @property
    def mb_per_s(self) -> float:
        return self.size / 1e6 / self.wall if self.wall else float("inf")


def chunking_policy() -> tuple[int, int]:
    defaults = load_settings({}).ingest
    return defaults.chunk_tokens, defaults.chunk_overlap_tokens


def raw_baseline(docs: list[Doc]) -> Result:
    """extract_text + tokenise + chunk_text over the documents in a plain loop: the work alone."""
    max_tokens, overlap = chunking_policy()
    started = time.perf_counter()
    tokenizer = ChunkTokenizer()
    load = time.perf_counter() - started
    extract: list[float] = []
    chunk: list[float] = []
    chunks = 0
    cpu = time.process_time()
    started = time.perf_counter()
    for doc in docs:
        t0 = time.perf_counter()
        text, _ = extract_text(doc.data, doc.kind)
        t1 = time.perf_counter()
        counter = tokenizer.counter(text)
        spans = chunk_text(text, doc.kind, counter, max_tokens=max_tokens, overlap_tokens=overlap)
        t2 = time.perf_counter()
        extract.append(t1 - t0)
        chunk.append(t2 - t1)
        chunks += len(spans)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    ends = [a + b for a, b in zip(extract, chunk, strict=True)]
    result = Result(
        "raw loop",
        len(docs),
        sum(len(doc.data) for doc in docs),
        wall,
        {"extract": extract, "chunk": chunk, "end to end": ends},
    )
    result.cpu_s = cpu
    result.notes.append(f"{chunks} chunks; tokenizer loaded in {load * 1000:.0f} ms, untimed")
    return result


def _seconds(later: str | None, earlier: str | None) -> float | None:
    if later is None or earlier is None:
        return None
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


def stage_times(jobs: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Per completed job, from the ingest_jobs read model's timestamps."""
    pairs = {
        "queue wait": ("extract_started_at", "requested_at"),
        "extract": ("extracted_at", "extract_started_at"),
        "record text": ("chunk_started_at", "extracted_at"),
        "chunk": ("chunked_at", "chunk_started_at"),
        "end to end": ("finished_at", "requested_at"),
    }
    stages: dict[str, list[float]] = {name: [] for name in pairs}
    for job in jobs:
        if job["status"] != "completed":
            continue
        for name, (later, earlier) in pairs.items():
            seconds = _seconds(job[later], job[earlier])
            if seconds is not None:
                stages[name].append(seconds)
    return stages


# --- the pipeline, end to end ---------------------------------------------------------------------


def cortex_env(database_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    return {
        "CORTEX_DATABASE_URL": database_url,
        "CORTEX_VAR_DIR": str(var_dir),
        "CORTEX_LOG_LEVEL": "WARNING",
        **extra,
    }


def skipped_deliveries() -> float:
    """This process's count of job runs that found nothing to do (duplicate deliveries)."""
    from prometheus_client import REGISTRY

    value = REGISTRY.get_sample_value("cortex_ingest_jobs_total", {"status": "skipped"})
    return value or 0.0


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def start_worker_processes(env: dict[str, str], count: int, log_dir: Path) -> list[WorkerProcess]:
    """`cortex worker --queues ingest` subprocesses, returned once each says it is consuming."""
    base = {key: value for key, value in os.environ.items() if not key.startswith("CORTEX_")}
    workers: list[WorkerProcess] = []
    try:
        for number in range(count):
            log = log_dir / f"worker{number}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "-m", "cortex.cli", "worker", "--queues", "ingest"],
                    env={**base, **env},
                    cwd=ROOT,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            workers.append(WorkerProcess(process, log))
    except BaseException:
        stop_worker_processes(workers)
        raise
    try:
        deadline = time.monotonic() + WORKER_START_TIMEOUT_S
        for worker in workers:
            while "worker consuming" not in worker.log.read_text(errors="replace"):
                if worker.process.poll() is not None:
                    raise RuntimeError(f"a worker exited at start:\n{worker.tail()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"a worker did not start in time:\n{worker.tail()}")
                time.sleep(0.05)
    except BaseException:
        stop_worker_processes(workers)
        raise
    return workers


def stop_worker_processes(workers: list[WorkerProcess]) -> None:
    for worker in workers:
        if worker.process.poll() is None:
            worker.process.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait()


def upload_all(cortex: Cortex, project_id: Any, docs: list[Doc]) -> None:
    """Each document as its own add_documents call, at the moment it is sent."""
    folder = cortex.store.staging_dir()
    max_bytes = cortex.settings.ingest.max_bytes
    for doc in docs:
        staged = stage_bytes(doc.filename, doc.data, folder, max_bytes)
        (intake,) = cortex.intake.add_documents(
            project_id, [staged], force=False, uploaded_by=None, at=datetime.now(UTC)
        )
        if intake.uploaded.job_id is None:
            raise RuntimeError(f"{doc.filename} was taken for a duplicate")


def wait_for_jobs(
    cortex: Cortex, count: int, workers: list[WorkerProcess], label: str, started: float
) -> dict[str, int]:
    """Poll the ingest_jobs read model until every job has ended; fail when progress stops."""
    last_progress = time.monotonic()
    last_print = time.monotonic()
    finished = -1
    while True:
        by_status = document_queries.jobs_by_status(cortex.read_store)
        done = sum(by_status.get(status, 0) for status in TERMINAL)
        if done >= count:
            return by_status
        if done != finished:
            finished, last_progress = done, time.monotonic()
        for worker in workers:
            if worker.process.poll() is not None:
                raise RuntimeError(
                    f"a worker exited (rc {worker.process.returncode}):\n{worker.tail()}"
                )
        if time.monotonic() - last_progress > 120:
            raise RuntimeError(f"{label}: no job finished in 120 s; jobs by status: {by_status}")
        if time.monotonic() - started > JOB_TIMEOUT_S:
            raise RuntimeError(f"{label}: timed out; jobs by status: {by_status}")
        if time.monotonic() - last_print >= 10:
            print(f"  .. {label}: {done}/{count} jobs finished", flush=True)
            last_print = time.monotonic()
        time.sleep(0.05)


def caught_up(cortex: Cortex, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    head = cortex.log.head()
    while any(runner.position() < head for runner in cortex.runners.values()):
        if time.monotonic() > deadline:
            raise RuntimeError("the projections did not catch up")
        time.sleep(0.05)


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; 0 elsewhere)."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def workers_cpu(workers: list[WorkerProcess]) -> float:
    return sum(process_cpu(worker.process.pid) for worker in workers)


def database_cpu(settings: Settings) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to the database (empty on SQLite:
    its work is done in the processes that use it)."""
    if not settings.uses_postgres:
        return {}
    with psycopg.connect(settings.database.url, autocommit=True) as conn:
        pids = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        ).fetchall()
    return {pid: process_cpu(pid) for (pid,) in pids}


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (all cores; Linux /proc/stat; 0 elsewhere)."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        ticks = [int(value) for value in fields]
        idle = ticks[3] + ticks[4]  # idle + iowait
        return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")
    return 0.0


def run_pipeline(
    label: str, docs: list[Doc], env: dict[str, str], *, processes: int, log_dir: Path
) -> Result:
    """Upload every document and wait for every job: in process (processes=0) or on workers."""
    settings = load_settings(env)
    cortex = bootstrap(settings, migrate_read_store=True)
    workers: list[WorkerProcess] = []
    try:
        cortex.start_projections()
        if processes:
            workers = start_worker_processes(env, processes, log_dir)
        # In process: every queue. With worker processes and Qdrant's local mode (one process
        # only): the embed queue, which writes to it (settings.in_process_queues decides).
        cortex.start_workers()
        project_id = cortex.projects.create_project(
            project_id=uuid4(), name="Ingest bench", description="", at=datetime.now(UTC)
        ).id
        skipped = skipped_deliveries()
        print(f"\n## {label}: uploading {len(docs)} documents", flush=True)
        cpu = time.process_time(), workers_cpu(workers), machine_busy()
        backends = database_cpu(settings)
        first_upload = datetime.now(UTC)
        started = time.monotonic()
        upload_all(cortex, project_id, docs)
        upload_s = time.monotonic() - started
        last_upload = datetime.now(UTC)
        print(f"  .. uploaded in {upload_s:.1f} s", flush=True)
        by_status = wait_for_jobs(cortex, len(docs), workers, label, started)
        seen = time.monotonic() - started
        main_cpu = time.process_time() - cpu[0]
        worker_cpu = workers_cpu(workers) - cpu[1]
        busy = machine_busy() - cpu[2]
        db_cpu = sum(
            seconds - backends.get(pid, 0.0) for pid, seconds in database_cpu(settings).items()
        )
        caught_up(cortex)
        read_models = time.monotonic() - started
        jobs = document_queries.list_jobs(
            cortex.read_store,
            project_ids=[str(project_id)],
            status=None,
            after=None,
            limit=len(docs) + 10,
        )
        skipped = skipped_deliveries() - skipped
    finally:
        stop_worker_processes(workers)
        cortex.close()
    last = max(datetime.fromisoformat(job["finished_at"]) for job in jobs)
    wall = (last - first_upload).total_seconds()
    result = Result(label, len(docs), sum(len(doc.data) for doc in docs), wall, stage_times(jobs))
    result.upload_s = upload_s
    result.cpu_s = main_cpu + worker_cpu
    failed = [job for job in jobs if job["status"] != "completed"]
    result.notes.append(
        f"jobs by status {by_status}; seen finished by polling at {seen:.1f} s, "
        f"read models caught up at {read_models:.1f} s"
    )
    result.notes.append(
        f"last job finished {(last - last_upload).total_seconds():.2f} s after the last upload; "
        f"CPU s: this process {main_cpu:.1f}"
        + (f", worker processes {worker_cpu:.1f}" if processes else "")
        + (f", PostgreSQL backends {db_cpu:.1f}" if settings.uses_postgres else "")
        + f"; the whole machine was busy {busy:.1f} of {seen * (os.cpu_count() or 1):.1f}"
        " (anything else running included)"
    )
    if not processes:
        result.notes.append(f"duplicate deliveries skipped: {skipped:.0f}")
    for job in failed[:3]:
        result.notes.append(f"job {job['id']} {job['status']}: {job['error'][:200]}")
    print(f"  .. last job finished {wall:.1f} s after the first upload", flush=True)
    return result


def run_redis(
    docs: list[Doc], env: dict[str, str], redis_url: str, processes: int, log_dir: Path
) -> Result:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    try:
        return run_pipeline(
            f"redis ({processes} worker{'s' if processes > 1 else ''})",
            docs,
            {**env, "CORTEX_REDIS_URL": redis_url, "CORTEX_WORKERS_IN_PROCESS": "false"},
            processes=processes,
            log_dir=log_dir,
        )
    finally:
        client.flushdb()
        client.close()


# --- the upload edge: HTTP against the application layer -----------------------------------------


@dataclass
class UploadSample:
    files: int
    size: int
    app: list[float]
    http: list[float]


def http_sample(docs: list[Doc], env: dict[str, str]) -> UploadSample:
    """The same files through add_documents and through POST .../documents, file by file."""
    from litestar.testing import TestClient

    from cortex.api.app import create_app

    # create_app configures logging from the settings: ERROR hides its warning that auth is
    # skipped (the local profile's default), and httpx logs every request at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = load_settings({**env, "CORTEX_LOG_LEVEL": "ERROR"})
    cortex = bootstrap(settings, migrate_read_store=True)  # no worker, no projection
    app_times: list[float] = []
    http_times: list[float] = []
    try:
        now = datetime.now(UTC)
        app_project, http_project = (
            cortex.projects.create_project(project_id=uuid4(), name=name, description="", at=now).id
            for name in ("app", "http")
        )
        folder = cortex.store.staging_dir()
        max_bytes = cortex.settings.ingest.max_bytes
        with TestClient(create_app(cortex=cortex)) as client:

            def by_app(doc: Doc) -> float:
                started = time.perf_counter()
                staged = stage_bytes(doc.filename, doc.data, folder, max_bytes)
                cortex.intake.add_documents(
                    app_project, [staged], force=False, uploaded_by=None, at=datetime.now(UTC)
                )
                return time.perf_counter() - started

            def by_http(doc: Doc) -> float:
                started = time.perf_counter()
                response = client.post(
                    f"/api/projects/{http_project}/documents",
                    files={"file": (doc.filename, doc.data)},
                )
                elapsed = time.perf_counter() - started
                if response.status_code != 201:
                    raise RuntimeError(f"upload of {doc.filename}: {response.text[:300]}")
                return elapsed

            for number in range(3):  # warm-up, untimed
                warm = Doc(f"warm-{number}.txt", f"Warm-up {number}.".encode(), "text", "text")
                by_app(warm)
                by_http(warm)
            for number, doc in enumerate(docs):
                if number % 2:
                    http_times.append(by_http(doc))
                    app_times.append(by_app(doc))
                else:
                    app_times.append(by_app(doc))
                    http_times.append(by_http(doc))
    finally:
        cortex.close()
    return UploadSample(len(docs), sum(len(doc.data) for doc in docs), app_times, http_times)


# --- reporting ------------------------------------------------------------------------------------


def print_corpus(docs: list[Doc], seed: int, seconds: float) -> None:
    print(f"corpus: {len(docs)} documents, seed {seed}, generated in {seconds:.1f} s")
    labels = Counter(doc.label for doc in docs)
    for label, count in sorted(labels.items()):
        sizes = [len(doc.data) for doc in docs if doc.label == label]
        print(
            f"  {label:<9} {count:>5}  {sum(sizes) / 1e6:6.2f} MB"
            f"  {min(sizes) / 1024:5.1f}-{max(sizes) / 1024:5.1f} KB"
        )
    total = sum(len(doc.data) for doc in docs)
    print(f"  {'all':<9} {len(docs):>5}  {total / 1e6:6.2f} MB", flush=True)


def ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def print_report(backend: str, results: list[Result], sample: UploadSample | None) -> None:
    raw = results[0]
    documents, size = raw.documents, raw.size
    print()
    print(f"== ingest: {documents} documents, {size / 1e6:.2f} MB, {backend} ==")
    width = max(len(result.name) for result in results)
    print(
        f"{'configuration':<{width}}  {'wall s':>7}  {'docs/min':>8}  {'MB/s':>6}"
        f"  {'ours/raw':>8}  {'upload s':>8}  {'CPU s':>6}  {'CPU/raw':>7}"
    )
    for result in results:
        upload = f"{result.upload_s:8.1f}" if result.upload_s is not None else f"{'-':>8}"
        print(
            f"{result.name:<{width}}  {result.wall:7.1f}  {result.docs_per_min:8,.0f}"
            f"  {result.mb_per_s:6.2f}  {result.docs_per_min / raw.docs_per_min:7.2f}x"
            f"  {upload}  {result.cpu_s:6.1f}  {result.cpu_s / raw.cpu_s:6.2f}x"
        )
    print(
        "  ours/raw: docs/min against the raw loop's (throughput ratio, 1.00x = as fast as the "
        "work alone);\n  CPU: this process plus the worker processes, from the first upload "
        "(PostgreSQL's and Redis's own CPU not counted)"
    )
    print()
    print("stage times per job: total s / p50 ms / p95 ms")
    columns = [result.name for result in results]
    cell = max(18, *(len(name) for name in columns))
    print(f"{'stage':<12}" + "".join(f"  {name:>{cell}}" for name in columns))
    for stage in STAGES:
        cells = []
        for result in results:
            seconds = result.stages.get(stage)
            if not seconds:
                cells.append(f"{'-':>{cell}}")
                continue
            text = f"{sum(seconds):.1f} / {ms(pct(seconds, 50))} / {ms(pct(seconds, 95))}"
            cells.append(f"{text:>{cell}}")
        print(f"{stage:<12}" + "".join(f"  {text}" for text in cells))
    print()
    for result in results:
        for note in result.notes:
            print(f"  {result.name}: {note}")
    if sample is not None:
        print()
        print(
            f"upload only, {sample.files} files ({sample.size / 1e6:.2f} MB), one file per call, "
            "interleaved; no worker:"
        )
        print(
            f"{'path':<32}  {'files/s':>7}  {'MB/s':>6}  {'mean ms':>7}  {'p50 ms':>6}"
            f"  {'p95 ms':>6}"
        )
        for name, times in (
            ("application: add_documents", sample.app),
            ("HTTP: TestClient multipart POST", sample.http),
        ):
            total = sum(times)
            print(
                f"{name:<32}  {len(times) / total:7.1f}  {sample.size / 1e6 / total:6.2f}"
                f"  {statistics.mean(times) * 1000:7.1f}  {pct(times, 50) * 1000:6.1f}"
                f"  {pct(times, 95) * 1000:6.1f}"
            )
        app, http = statistics.mean(sample.app), statistics.mean(sample.http)
        print(
            f"  HTTP / application time: {http / app:.2f}x; "
            f"the edge costs {(http - app) * 1000:.1f} ms per file"
        )


# --- main -----------------------------------------------------------------------------------------


def check_services(backend: Backend, redis_url: str) -> None:
    if isinstance(backend, PostgresBackend):
        try:
            with psycopg.connect(backend.admin_url, connect_timeout=3):
                pass
        except psycopg.Error as error:
            raise SystemExit(f"PostgreSQL at {backend.admin_url} unreachable: {error}") from None
    try:
        client = redis.Redis.from_url(redis_url, socket_connect_timeout=3)
        client.ping()
        client.close()
    except redis.RedisError as error:
        raise SystemExit(f"Redis at {redis_url} unreachable: {error}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1000, help="default 1000")
    parser.add_argument(
        "--workers", type=int, default=2, help="cortex worker processes on Redis (default 2)"
    )
    parser.add_argument(
        "--sqlite", action="store_true", help="SQLite files instead of PostgreSQL databases"
    )
    parser.add_argument("--seed", type=int, default=20260101, help="corpus seed")
    parser.add_argument(
        "--http-sample", type=int, default=100, help="files uploaded over HTTP (default 100)"
    )
    parser.add_argument("--pg-admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument(
        "--redis-url", default=DEFAULT_REDIS_URL, help="flushed before and after (default db 12)"
    )
    args = parser.parse_args(argv)
    if args.documents < 1:
        parser.error("--documents must be at least 1")
    if not 1 <= args.workers <= 16:
        parser.error("--workers must be from 1 to 16")

    # SIGTERM unwinds like Ctrl-C, so that the clean-up below runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    started = time.perf_counter()
    temp = Path(tempfile.mkdtemp(prefix="cortex_bench_ingest_"))
    backend: Backend = SQLiteBackend(temp) if args.sqlite else PostgresBackend(args.pg_admin_url)
    try:
        check_services(backend, args.redis_url)
        t0 = time.perf_counter()
        docs = make_corpus(args.documents, args.seed)
        print_corpus(docs, args.seed, time.perf_counter() - t0)

        print("\n## raw: extract_text + chunk_text in a plain loop", flush=True)
        results = [raw_baseline(docs)]
        print(f"  .. {results[0].wall:.1f} s", flush=True)

        threads = load_settings({}).workers.threads
        env = cortex_env(backend.fresh_url(), temp / "var-inprocess")
        results.append(
            run_pipeline(f"in-process ({threads} threads)", docs, env, processes=0, log_dir=temp)
        )
        env = cortex_env(backend.fresh_url(), temp / "var-redis")
        results.append(run_redis(docs, env, args.redis_url, args.workers, temp))

        sample = None
        if args.http_sample:
            step = max(len(docs) // args.http_sample, 1)
            chosen = docs[::step][: args.http_sample]
            print(f"\n## upload only: {len(chosen)} files, HTTP and application", flush=True)
            sample = http_sample(chosen, cortex_env(backend.fresh_url(), temp / "var-http"))
        print_report(backend.name, results, sample)
    finally:
        try:
            backend.cleanup()
        finally:
            shutil.rmtree(temp, ignore_errors=True)
    print(f"\ntotal runtime: {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
