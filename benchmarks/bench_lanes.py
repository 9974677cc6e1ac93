"""Model lanes benchmark: routing decision latency, and what a model call through Cortex costs on
top of a direct HTTP call to the same local OpenAI-compatible server, in one run.

Run:  .venv/bin/python benchmarks/bench_lanes.py [--routes R] [--calls N] [--rounds K]
      [--long-tokens T] [--postgres] [--seed S] [--pg-admin-url URL]

The model server is ``tests/support/llm_server.py``'s ``FakeLLMServer`` in a subprocess on
127.0.0.1 (a model server is another process; in this one it would share the GIL with the
client). It answers at once with an echo of the prompt, so every millisecond measured is
client-side work, HTTP on loopback and the server's own Python. Cortex is ``bootstrap``-ed as the
API wires it (``CORTEX_LLM_BASE_URL`` pointing at the server, ``CORTEX_EMBEDDING_MODELS=
all-MiniLM-L6-v2``, so the router combines its rules with MiniLM similarity), on SQLite in a
temporary directory. Two parts:

1. routing: ``cortex.model_calls.router.route(prompt)`` on short prompts (one line, one per
   lane), code prompts (a function, a traceback, a diff: a few hundred tokens) and long ones
   (generated prose of about T tokens, default 20000, with the ask before or after it), R times
   per kind (default 100), after a warm-up that loads the tokenizer and the model and caches the
   lane examples' vectors. p50 / p99 per kind, split into the token count, the prompt's
   embedding and the rest (rules and scoring), and the same prompts through a rules-only
   ``Router`` (``embed=None``, as with ``CORTEX_ROUTER_EMBEDDINGS=false``).
2. per call: N calls (default 300) of one short prompt through each path, after 20 warm-up calls
   per path, in K rounds (default 6) whose order rotates (ABCD, BCDA, ...), so that drift does not
   land on one side of a comparison:
   - raw: ``httpx.Client.post(base_url + "/chat/completions")`` with the body the lane sends, and
     ``response.json()``: the baseline;
   - gateway: ``cortex.model_calls.gateway.call(lane, messages, max_tokens=...)`` (backend,
     retries, breaker, metrics);
   - generate: ``cortex.model_calls.generate(prompt, project_id=...)`` (load the project, route,
     append ModelCallRequested, call the gateway, append ModelCallCompleted);
   - generate, rules-only: the same service with a rules-only router;
   - with --postgres, both generate paths again on a fresh ``cortex_bench_<random>`` database,
     created through the admin database and dropped at the end.
   p50 / p99 / mean per path, the overhead over raw (ms and ratio), and where the time goes:
   timing wrappers, set on the objects of this process only, split each call into routing (token
   count, embedding, rules), the event store (project load, the two commits), the HTTP call
   (``OpenAIBackend.complete``) and the rest of the gateway and of ``generate``.

structlog is set to WARNING, as in the other benchmarks: the ``lane_routed`` INFO line a server
writes per call is not in these figures. At the defaults it takes about 30 s on a quiet 2-core
machine. Everything is removed at the end, also after an error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is a local folder; never the network

import httpx
import structlog
from backends import PostgresBackend, SQLiteBackend
from measure import Phases, model_server, pct

from cortex.application.model_calls import ModelCallService
from cortex.bootstrap import Cortex, bootstrap
from cortex.lanes.router import Router
from cortex.lanes.types import Lane
from cortex.settings import load_settings

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
EMBEDDING_MODEL = "all-MiniLM-L6-v2"
LLM_MODEL = "bench-model"
WARMUP_CALLS = 20
CALL_PROMPT = "Summarise the plan for next week's release in three short bullet points."

# --- prompts --------------------------------------------------------------------------------------

SHORT_PROMPTS = (
    "Plan next week's release: split the ingest and search work between two agents.",
    "Why does my Python function return None instead of the list it builds?",
    "Read the whole contract and tell me what changes on renewal.",
    "What did we decide about the retention period for audit logs last quarter?",
    "Does keeping customers' email addresses in the application logs comply with GDPR?",
)

_FUNCTION = '''Refactor this function so that it streams the rows instead of loading them all,
and keep the behaviour on empty input:

```python
import csv
from pathlib import Path


def load_orders(path: Path, minimum: float = 0.0) -> list[dict[str, object]]:
    """Orders above ``minimum``, newest first."""
    rows = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            amount = float(row["amount"])
            if amount < minimum:
                continue
            rows.append({"id": int(row["id"]), "amount": amount, "placed": row["placed"]})
    rows.sort(key=lambda row: row["placed"], reverse=True)
    return rows


def total(path: Path) -> float:
    return sum(order["amount"] for order in load_orders(path))


class OrderReport:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.orders = load_orders(path)

    def largest(self, count: int = 10) -> list[dict[str, object]]:
        return sorted(self.orders, key=lambda order: order["amount"], reverse=True)[:count]
```
'''

_TRACE = """The worker crashes on every third job, what is wrong?

Traceback (most recent call last):
  File "/srv/app/worker.py", line 88, in run
    result = handler(job.payload)
  File "/srv/app/handlers/ingest.py", line 41, in handle
    chunks = chunk_text(text, size=policy.size, overlap=policy.overlap)
  File "/srv/app/ingest/chunking.py", line 112, in chunk_text
    window = tokens[start : start + size]
  File "/srv/app/ingest/chunking.py", line 97, in _advance
    start += size - overlap
  File "/srv/app/ingest/chunking.py", line 64, in _check
    raise ValueError(f"overlap {overlap} must be smaller than size {size}")
ValueError: overlap 256 must be smaller than size 256

The policy comes from settings.py:

    CHUNK_TOKENS = int(os.environ.get("CHUNK_TOKENS", "256"))
    CHUNK_OVERLAP = int(os.environ.get("CHUNK_OVERLAP", "32"))
"""

_DIFF = """Review this change before I merge it:

diff --git a/cortex/lanes/breaker.py b/cortex/lanes/breaker.py
--- a/cortex/lanes/breaker.py
+++ b/cortex/lanes/breaker.py
@@ -20,14 +20,17 @@ class CircuitBreaker:
     def allow(self) -> bool:
         with self._lock:
-            if self._opened_at is None:
-                return True
-            if time.monotonic() - self._opened_at >= self._cooldown:
-                self._half_open = True
-                return True
-            return False
+            now = time.monotonic()
+            if self._opened_at is None:
+                return True
+            if now - self._opened_at < self._cooldown:
+                return False
+            if self._probing:
+                return False
+            self._probing = True
+            return True

     def record_success(self) -> None:
         with self._lock:
-            self._failures = 0
-            self._opened_at = None
+            self._failures = 0
+            self._opened_at = None
+            self._probing = False
"""

CODE_PROMPTS = (_FUNCTION, _TRACE, _DIFF)

_WORDS_TEXT = (
    "the of and to in is that for it as with on be by this are from at or an which can not we "
    "our when if then after before into all has have will should does more than one data event "
    "store worker queue document chunk token index search project idea vote user service request "
    "response server client cache memory disk network latency replica primary backup restore "
    "schema migration table query plan transaction commit lock retry timeout failure error log "
    "metric trace alert deploy release build test review branch version config setting secret "
    "policy role permission account session audit report design architecture component module "
    "customer product feature roadmap budget cost estimate risk decision meeting notes action"
)
_WORDS = _WORDS_TEXT.split()


def long_prompt(
    count_tokens: Callable[[str], int], target: int, rng: random.Random, ask_first: int
) -> str:
    """About ``target`` tokens of generated prose, with the ask before or after it."""

    def paragraph() -> str:
        sentences = []
        for _ in range(rng.randint(3, 7)):
            words = rng.choices(_WORDS, k=rng.randint(8, 20))
            sentences.append(" ".join(words).capitalize() + ".")
        return " ".join(sentences)

    paragraphs = [paragraph() for _ in range(40)]
    per_paragraph = count_tokens("\n\n".join(paragraphs)) / len(paragraphs)
    paragraphs += [paragraph() for _ in range(max(int(target / per_paragraph) - 40, 0))]
    material = "\n\n".join(paragraphs)
    if ask_first:
        return (
            "Summarise the design document below: its main decisions, and what is still open."
            f"\n\n{material}"
        )
    return f"{material}\n\nWhich of the decisions in the document above carry the most risk?"


# --- measurements ---------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 100 else f"{value:.0f}"


@dataclass
class CallPath:
    label: str
    call: Callable[[], object]
    totals: list[float] = field(default_factory=list)
    parts: list[dict[str, float]] = field(default_factory=list)


# --- the model server -----------------------------------------------------------------------------


def cortex_env(database_url: str, var_dir: Path, base_url: str) -> dict[str, str]:
    return {
        "CORTEX_DATABASE_URL": database_url,
        "CORTEX_VAR_DIR": str(var_dir),
        "CORTEX_LOG_LEVEL": "WARNING",
        "CORTEX_EMBEDDING_MODELS": EMBEDDING_MODEL,
        "CORTEX_LLM_BASE_URL": base_url,
        "CORTEX_LLM_MODEL": LLM_MODEL,
    }


@contextlib.contextmanager
def open_cortex(env: dict[str, str]) -> Iterator[Cortex]:
    cortex = bootstrap(load_settings(env), migrate_read_store=True)
    try:
        yield cortex
    finally:
        cortex.close()


def new_project(cortex: Cortex) -> UUID:
    project_id = uuid4()
    cortex.projects.create_project(
        project_id=project_id, name="lanes bench", description="", at=datetime.now(UTC)
    )
    return project_id


def rules_only(router: Router) -> Router:
    """A router like ``router`` without embeddings (CORTEX_ROUTER_EMBEDDINGS=false)."""
    return Router(
        context_tokens=router._context,
        count_tokens=router._count_tokens,
        embed=None,
    )


# --- part 1: routing ------------------------------------------------------------------------------


@dataclass
class KindResult:
    kind: str
    tokens: list[int]
    embedded: list[float] = field(default_factory=list)
    count: list[float] = field(default_factory=list)
    embed: list[float] = field(default_factory=list)
    rules: list[float] = field(default_factory=list)
    lanes: Counter[str] = field(default_factory=Counter)
    method: Counter[str] = field(default_factory=Counter)


def bench_routing(
    router: Router, plain: Router, phases: Phases, kinds: dict[str, tuple[str, ...]], rounds: int
) -> list[KindResult]:
    results = {
        kind: KindResult(kind, [router._count_tokens(prompt) for prompt in prompts])
        for kind, prompts in kinds.items()
    }
    for prompts in kinds.values():  # warm-up: tokenizer, model, the examples' vectors
        for prompt in prompts:
            router.route(prompt)
            plain.route(prompt)
    phases.take()
    gc.collect()
    for number in range(rounds):
        for kind, prompts in kinds.items():
            prompt = prompts[number % len(prompts)]
            result = results[kind]
            started = time.perf_counter()
            decision = router.route(prompt)
            result.embedded.append(time.perf_counter() - started)
            parts = phases.take()
            result.count.append(parts.get("tokens", 0.0))
            result.embed.append(parts.get("embed", 0.0))
            result.lanes[str(decision.lane)] += 1
            result.method[decision.method] += 1
            started = time.perf_counter()
            plain.route(prompt)
            result.rules.append(time.perf_counter() - started)
            phases.take()
    return list(results.values())


def print_routing(results: list[KindResult], rounds: int, device: str, contexts: str) -> None:
    print()
    print(
        f"== 1. routing decision latency: Router.route, {rounds} decisions per kind,"
        f" MiniLM on {device} =="
    )
    header = (
        f"{'prompt kind':<12} {'tokens':>13}  {'p50 ms':>8} {'p99 ms':>8}  {'count p50':>9}"
        f" {'embed p50':>9} {'rest p50':>9}  {'rules-only p50':>14} {'p99':>7}  lanes chosen"
    )
    print(header)
    for result in results:
        rest = [
            total - count - embed
            for total, count, embed in zip(result.embedded, result.count, result.embed, strict=True)
        ]
        tokens = f"{min(result.tokens)}-{max(result.tokens)}"
        lanes = ", ".join(f"{lane} {n}" for lane, n in result.lanes.most_common())
        print(
            f"{result.kind:<12} {tokens:>13}  {ms(pct(result.embedded, 50)):>8}"
            f" {ms(pct(result.embedded, 99)):>8}  {ms(pct(result.count, 50)):>9}"
            f" {ms(pct(result.embed, 50)):>9} {ms(pct(rest, 50)):>9}"
            f"  {ms(pct(result.rules, 50)):>14} {ms(pct(result.rules, 99)):>7}  {lanes}"
        )
    methods = Counter[str]()
    for result in results:
        methods.update(result.method)
    print(
        "count = the tokenizer's token count, embed = MiniLM on the ask (the first 600 characters"
        " of a long prompt), rest = rules and scoring; methods: "
        + ", ".join(f"{method} {n}" for method, n in methods.most_common())
    )
    print(
        f"context tokens: {contexts}. A prompt too long for the lane its content points to goes"
        " to SUPER_READER only when that lane reads more (CORTEX_LANE_SUPER_READER_*)."
    )


# --- part 2: per call -----------------------------------------------------------------------------


def instrument_router(router: Router, phases: Phases) -> None:
    """Timing wrappers on the router's token count and embedding (attributes it calls)."""
    phases.wrap(router, "_count_tokens", "tokens")
    phases.wrap(router, "_embed", "embed")


def instrument_calls(cortex: Cortex, phases: Phases, lane: Lane) -> None:
    """Timing wrappers on this Cortex's event log, model call service, gateway and backend."""
    service = cortex.model_calls
    phases.wrap(cortex.log, "load", "load")
    phases.wrap(cortex.log, "commit", "commit")
    phases.wrap(service, "route", "route")
    phases.wrap(service.gateway, "call", "gateway")
    phases.wrap(service.gateway.backend(service.gateway.serving(lane)), "complete", "http")


def generate_paths(
    cortex: Cortex, phases: Phases, lane: Lane, suffix: str, max_tokens: int
) -> list[CallPath]:
    """generate() through the bootstrapped service, and the same with a rules-only router."""
    project_id = new_project(cortex)
    service = cortex.model_calls
    plain = ModelCallService(
        cortex.log, service.gateway, rules_only(service.router), audit_prompts=False
    )
    phases.wrap(plain, "route", "route")
    for each in (service, plain):  # check once that the path answers as it should
        generated = each.generate(CALL_PROMPT, project_id=project_id)
        if generated.text != f"echo: {CALL_PROMPT}":
            raise SystemExit(f"unexpected answer from the fake server: {generated.text!r}")
    if service.route(CALL_PROMPT).method != "rules+embeddings":
        raise SystemExit("the router has no embedding model: is all-MiniLM-L6-v2 installed?")
    phases.take()
    return [
        CallPath(
            f"generate, {suffix}",
            lambda: service.generate(CALL_PROMPT, project_id=project_id),
        ),
        CallPath(
            f"generate rules-only, {suffix}",
            lambda: plain.generate(CALL_PROMPT, project_id=project_id),
        ),
    ]


def run_calls(paths: list[CallPath], phases: Phases, calls: int, rounds: int) -> None:
    for path in paths:
        for _ in range(WARMUP_CALLS):
            path.call()
    phases.take()
    per_round = [calls // rounds + (1 if index < calls % rounds else 0) for index in range(rounds)]
    for index, count in enumerate(per_round):
        order = paths[index % len(paths) :] + paths[: index % len(paths)]
        gc.collect()
        for path in order:
            for _ in range(count):
                started = time.perf_counter()
                path.call()
                path.totals.append(time.perf_counter() - started)
                path.parts.append(phases.take())


PARTS = (
    ("route: token count", "tokens"),
    ("route: embed the prompt (MiniLM)", "embed"),
    ("route: rules, scores, metric, log", "route_rest"),
    ("event store: load the project", "load"),
    ("event store: 2 commits", "commit"),
    ("HTTP: OpenAIBackend.complete", "http"),
    ("gateway: breaker, retries, metrics", "gateway_rest"),
    ("generate: the rest (events, hash)", "rest"),
)


def split(parts: dict[str, float], total: float) -> dict[str, float]:
    """The call's time by part; the inner parts are taken out of the outer ones."""
    route = parts.get("route", 0.0)
    gateway = parts.get("gateway", 0.0)
    http = parts.get("http", 0.0)
    tokens, embed = parts.get("tokens", 0.0), parts.get("embed", 0.0)
    load, commit = parts.get("load", 0.0), parts.get("commit", 0.0)
    if not route and not load:  # the gateway path: everything but HTTP is the gateway's
        gateway = total
    return {
        "tokens": tokens,
        "embed": embed,
        "route_rest": route - tokens - embed if route else 0.0,
        "load": load,
        "commit": commit,
        "http": http,
        "gateway_rest": gateway - http if gateway else 0.0,
        "rest": total - route - load - commit - gateway if route else 0.0,
    }


def print_calls(paths: list[CallPath], calls: int, rounds: int, server: str) -> None:
    raw = paths[0]
    print()
    print(
        f"== 2. per call: {calls} calls per path in {rounds} rotating rounds,"
        f" {len(CALL_PROMPT)}-character prompt, FakeLLMServer ({server}) =="
    )
    width = max(len(path.label) for path in paths)
    print(
        f"{'path':<{width}}  {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}"
        f"  {'+p50 ms':>8} {'+p99 ms':>8} {'+mean ms':>8}  {'x p50':>6} {'x mean':>6}"
    )
    for path in paths:
        p50, p99, mean = pct(path.totals, 50), pct(path.totals, 99), statistics.mean(path.totals)
        if path is raw:
            extra = f"  {'-':>8} {'-':>8} {'-':>8}  {'1.00':>6} {'1.00':>6}"
        else:
            raw50, raw99, raw_mean = (
                pct(raw.totals, 50),
                pct(raw.totals, 99),
                statistics.mean(raw.totals),
            )
            extra = (
                f"  {ms(p50 - raw50):>8} {ms(p99 - raw99):>8} {ms(mean - raw_mean):>8}"
                f"  {p50 / raw50:>6.2f} {mean / raw_mean:>6.2f}"
            )
        print(f"{path.label:<{width}}  {ms(p50):>8} {ms(p99):>8} {ms(mean):>8}{extra}")
    print("+ = ours - raw at that statistic (ms); x = ours / raw")

    ours = paths[1:]
    print()
    print("where the time goes: mean / p50 ms per call (the means add up to the path's mean)")
    labels = [path.label.replace("generate rules-only", "rules-only") for path in ours]
    cell = max(16, *(len(label) for label in labels))
    print(f"{'part':<36}" + "".join(f"  {label:>{cell}}" for label in labels))
    splits = [
        [split(parts, total) for parts, total in zip(path.parts, path.totals, strict=True)]
        for path in ours
    ]
    for label, key in PARTS:
        cells = []
        for rows in splits:
            values = [row[key] for row in rows]
            if max(values, default=0.0) <= 0.0:
                cells.append(f"{'-':>{cell}}")
            else:
                text = f"{ms(statistics.mean(values))} / {ms(pct(values, 50))}"
                cells.append(f"{text:>{cell}}")
        print(f"{label:<36}" + "".join(f"  {text}" for text in cells))
    cells = [
        f"{ms(statistics.mean(path.totals)) + ' / ' + ms(pct(path.totals, 50)):>{cell}}"
        for path in ours
    ]
    print(f"{'total':<36}" + "".join(f"  {text}" for text in cells))
    explain(raw, ours, splits)


def explain(raw: CallPath, ours: list[CallPath], splits: list[list[dict[str, float]]]) -> None:
    by_label = {path.label: (path, rows) for path, rows in zip(ours, splits, strict=True)}
    raw_mean = statistics.mean(raw.totals)

    def mean(rows: list[dict[str, float]], *keys: str) -> float:
        return statistics.mean(sum(row[key] for key in keys) for row in rows)

    gateway, gateway_rows = by_label["gateway.call"]
    print()
    print("reading the figures:")
    print(
        f"  - raw is one HTTP round trip to the fake server ({ms(raw_mean)} ms mean): JSON, a"
        " kept-alive loopback connection, and the server's Python handler; a real model adds"
        " its generation time to every path alike."
    )
    http = mean(gateway_rows, "http")
    print(
        f"  - gateway.call costs {ms(statistics.mean(gateway.totals) - raw_mean)} ms more than"
        f" raw on average: its HTTP part (OpenAIBackend.complete) takes {ms(http)} ms, the"
        f" breaker, retries loop and metrics {ms(mean(gateway_rows, 'gateway_rest'))} ms."
    )
    for label, (path, rows) in by_label.items():
        if not label.startswith("generate"):
            continue
        route = mean(rows, "tokens", "embed", "route_rest")
        store = mean(rows, "load", "commit")
        over = statistics.mean(path.totals) - raw_mean
        embed = mean(rows, "embed")
        of_which = f" (of which the MiniLM embedding {ms(embed)} ms)" if embed else ""
        print(
            f"  - {label}: +{ms(over)} ms over raw on average; routing {ms(route)} ms{of_which},"
            " event store"
            f" {ms(store)} ms (project load {ms(mean(rows, 'load'))}, the 2 commits"
            f" {ms(mean(rows, 'commit'))}), HTTP {ms(mean(rows, 'http'))} ms, the rest"
            f" {ms(mean(rows, 'gateway_rest', 'rest'))} ms."
        )
    print(
        "  - the HTTP part inside generate takes longer than the same request in gateway.call,"
        " which runs back to back: there it follows other work (colder caches, a server process"
        " that has gone idle)."
    )


# --- main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--routes", type=int, default=100, help="routing decisions per prompt kind (default 100)"
    )
    parser.add_argument("--calls", type=int, default=300, help="calls per path (default 300)")
    parser.add_argument("--rounds", type=int, default=6, help="rotating rounds (default 6)")
    parser.add_argument(
        "--long-tokens", type=int, default=20_000, help="size of the long prompts (default 20000)"
    )
    parser.add_argument(
        "--postgres", action="store_true", help="also run generate on a fresh PostgreSQL database"
    )
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--pg-admin-url", default=DEFAULT_ADMIN_URL)
    args = parser.parse_args(argv)
    if args.routes < 1 or args.calls < 1:
        parser.error("--routes and --calls must be at least 1")
    if not 1 <= args.rounds <= args.calls:
        parser.error("--rounds must be between 1 and --calls")

    # SIGTERM unwinds like Ctrl-C, so that the clean-up below runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    started = time.perf_counter()
    temp = Path(tempfile.mkdtemp(prefix="cortex_bench_lanes_"))
    sqlite = SQLiteBackend(temp)
    postgres = PostgresBackend(args.pg_admin_url) if args.postgres else None
    try:
        if postgres is not None:
            postgres.check()
        with contextlib.ExitStack() as stack:
            base_url = stack.enter_context(model_server(LLM_MODEL))
            phases = Phases()
            cortex = stack.enter_context(
                open_cortex(cortex_env(sqlite.fresh_url(), temp / "var-sqlite", base_url))
            )
            router = cortex.model_calls.router
            plain = rules_only(router)
            instrument_router(router, phases)
            rng = random.Random(args.seed)
            count = router._count_tokens
            kinds = {
                "short": SHORT_PROMPTS,
                "code": CODE_PROMPTS,
                # the ask before the material, and after it
                "long": tuple(long_prompt(count, args.long_tokens, rng, first) for first in (1, 0)),
            }
            print(f"## 1. routing: {args.routes} decisions per prompt kind", flush=True)
            began = time.perf_counter()
            routing = bench_routing(router, plain, phases, kinds, args.routes)
            model = cortex.embedding.model()
            device = model.device if model is not None else "none"
            configs = cortex.model_calls.gateway.configs
            contexts = ", ".join(f"{lane} {configs[lane].context_tokens}" for lane in Lane)
            print(f"  .. part 1 took {time.perf_counter() - began:.0f} s", flush=True)

            print(f"## 2. per call: {args.calls} calls per path", flush=True)
            began = time.perf_counter()
            lane = router.route(CALL_PROMPT).lane
            max_tokens = cortex.model_calls.gateway.configs[lane].max_tokens
            messages = [{"role": "user", "content": CALL_PROMPT}]
            body = {
                "model": LLM_MODEL,
                "messages": messages,
                "max_tokens": max_tokens,
                "stream": False,
            }
            client = stack.enter_context(httpx.Client(timeout=60.0))
            url = base_url + "/chat/completions"

            def raw_call() -> object:
                response = client.post(url, json=body, headers={"Accept": "application/json"})
                response.raise_for_status()
                return response.json()["choices"][0]["message"]["content"]

            gateway = cortex.model_calls.gateway
            instrument_calls(cortex, phases, lane)  # the router's parts are wrapped since part 1
            paths = [
                CallPath("raw httpx post", raw_call),
                CallPath(
                    "gateway.call",
                    lambda: gateway.call(lane, list(messages), max_tokens=max_tokens),
                ),
            ]
            paths += generate_paths(cortex, phases, lane, "SQLite", max_tokens)
            if postgres is not None:
                env = cortex_env(postgres.fresh_url(), temp / "var-postgres", base_url)
                pg = stack.enter_context(open_cortex(env))
                instrument_router(pg.model_calls.router, phases)
                instrument_calls(pg, phases, lane)
                paths += generate_paths(pg, phases, lane, "PostgreSQL", max_tokens)
            run_calls(paths, phases, args.calls, args.rounds)
            print(f"  .. part 2 took {time.perf_counter() - began:.0f} s", flush=True)
        print_routing(routing, args.routes, device, contexts)
        print_calls(paths, args.calls, args.rounds, "subprocess")
    finally:
        try:
            if postgres is not None:
                postgres.cleanup()
        finally:
            shutil.rmtree(temp, ignore_errors=True)
    print(f"\ntotal runtime: {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
