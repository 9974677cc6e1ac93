"""HTTP benchmark: what logging, metrics and tracing cost on ``GET /api/ideas``, against the same
app with all three off and against a bare Litestar app returning the same JSON, in one run.

Run:  .venv/bin/python benchmarks/bench_http.py [--duration S] [--rounds R] [--connections C]
      [--warmup W] [--ideas N] [--client auto|wrk|httpx] [--max-requests M] [--breakdown]
      [--profile]

Every app is served by uvicorn in a process of its own on 127.0.0.1 (this script, started again
with ``--serve KIND``), with ``uvicorn.run(app, log_config=None, log_level="warning",
access_log=False)`` as ``cortex serve`` does, and Cortex on SQLite. The data are seeded first in
this process: one project and N ideas (default 50, the list's default page) through
``cortex.projects`` / ``cortex.ideas``, the projectors caught up, then the folder is copied for
each server (each gets its own ``CORTEX_VAR_DIR``, ``CORTEX_PROFILE=local``, so auth is skipped).
A server bootstraps Cortex and passes it to ``create_app(cortex=...)``: no projector, worker or
model loading runs in the background, so the figures are the request path alone.

- on: ``create_app`` as in production. structlog at INFO in JSON (``CORTEX_LOG_LEVEL=INFO``,
  ``CORTEX_LOG_JSON=true``) to the server's stderr, which is a file in the temporary directory
  (one ``request_finished`` line per request); the HTTP metrics wrapper; tracing on
  (``CORTEX_ENABLE_TRACING=true``, ``CORTEX_OTEL_SAMPLE_RATIO=1``) with the OTLP/HTTP exporter
  behind a ``BatchSpanProcessor``, as in production, pointed at ``CORTEX_OTEL_EXPORTER_ENDPOINT``:
  a small receiver in another process (``--receiver``) that answers every POST /v1/traces with
  200 and counts the spans it was sent, by service name.
- off: the same ``create_app`` with structlog at WARNING, tracing off, and two names in
  ``cortex.api.app`` replaced in that server process only (cortex's code is not changed):
  ``log_requests`` and ``measure_requests`` by the identity, so neither the request-log
  wrapper nor the metrics wrapper is installed (the server spans are off with tracing).
- bare: a Litestar app with one async route, ``GET /api/ideas``, returning the bytes the off
  server answered (no database, no guard, no thread hop).
- with ``--breakdown``, three more Cortex servers, each with one of the three on: logs (INFO and
  the request-log wrapper), metrics (the wrapper), tracing (the server spans and the exporter).

The load is wrk (Debian's ``wrk`` package) when it is on the PATH: ``wrk -t1 -cC -dS --latency``
per run, so requests/s and its latency percentiles. Without it (or with ``--client httpx``), an
asyncio ``httpx.AsyncClient`` in this process with C connections and C tasks, each sending GETs
until S seconds have passed or M requests (default 100000) were sent in all. Every server gets W
seconds of untimed load first (default 3), then R rounds (default 3) of one S-second run per
server (default 10), in an order that rotates between rounds (bare off on, off on bare, ...), so
drift does not land on one side of a comparison. Per run: requests/s, p50 and p99 latency, and
the server process's CPU time per request from /proc. The summary gives, per server, the rounds'
requests over their seconds, and the median of the rounds' p50 and p99, then the overhead of on
over off and of off over bare: in throughput (1 - ours / theirs), p50 and server CPU per request.
Target: on costs at most 15 % over off, in throughput and in p50; the script prints PASS or FAIL.

``--profile`` runs py-spy (``py-spy record --gil``: the thread that holds the GIL, 250 Hz) on
the on server during one more S-second run and prints the samples' split between tracing,
logging, metrics and the rest (by the innermost frame that belongs to one of them, see
``PIECES``) and the functions with the most samples of their own. py-spy is not a dependency
(``pip install py-spy``) and needs the right to ptrace the server (root, or CAP_SYS_PTRACE).

Checks: the off server's responses carry no ``X-Request-ID`` and its /metrics no
``cortex_http_requests_total``; the on server's do, its log gets one ``request_finished`` line
per request, and the receiver is sent one span per request. The tracing servers are stopped
first, so that their exporters send what they still hold: the server processes exit normally on
SIGTERM for that (see ``serve``). At the defaults it takes about 2 minutes, 4 with
``--breakdown``. Everything is removed at the end, also after an error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import http.server
import json
import logging
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import structlog
from measure import close_child, cpu_seconds, die_with_parent, free_port, pct

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # loopback only
PATH = "/api/ideas"
TARGET = 0.15  # on may cost at most this share over off
DEFAULT_MAX_REQUESTS = 100_000


@dataclass(frozen=True)
class Variant:
    name: str
    logs: bool = False  # structlog at INFO and the request-log wrapper
    metrics: bool = False  # the HTTP metrics wrapper
    tracing: bool = False  # the server spans, sample ratio 1, OTLP/HTTP exporter
    bare: bool = False  # a one-route Litestar app, no Cortex


BARE = Variant("bare", bare=True)
OFF = Variant("off")
ON = Variant("on", logs=True, metrics=True, tracing=True)
BREAKDOWN = (
    Variant("logs", logs=True),
    Variant("metrics", metrics=True),
    Variant("tracing", tracing=True),
)
VARIANTS = {variant.name: variant for variant in (BARE, OFF, ON, *BREAKDOWN)}


# --- the server processes (this script with --serve KIND) ---------------------------------------


def bare_app(body: bytes) -> Any:
    from litestar import Litestar, get
    from litestar.enums import MediaType

    @get(PATH, media_type=MediaType.JSON)
    async def list_ideas() -> bytes:  # bytes are sent as they are
        return body

    return Litestar(route_handlers=[list_ideas], logging_config=None)


def without_observability(variant: Variant) -> None:
    """Take the request-log wrapper and the metrics wrapper out of ``create_app``, in this
    process only, for the variants that have them off."""
    import cortex.api.app as module

    if not variant.logs:
        setattr(module, "log_requests", lambda app: app)  # noqa: B010 (a patch, said loudly)
    if not variant.metrics:
        setattr(module, "measure_requests", lambda app: app)  # noqa: B010


def serve(kind: str, port: int, body_file: str | None) -> None:
    """Serve one variant until SIGTERM (uvicorn then returns, and the exporter flushes at exit)."""
    import uvicorn

    variant = VARIANTS[kind]
    cortex = None
    if variant.bare:
        assert body_file is not None
        app = bare_app(Path(body_file).read_bytes())
    else:
        from cortex.bootstrap import bootstrap
        from cortex.settings import load_settings

        without_observability(variant)
        import cortex.api.app as module

        cortex = bootstrap(load_settings())
        app = module.create_app(cortex=cortex)
    # uvicorn shuts down gracefully on SIGTERM, then raises it again with the handler that was
    # there before: the default one would kill the process before atexit, where the tracer
    # provider flushes the spans its BatchSpanProcessor still holds. This one exits normally.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    gc.collect()  # what the app's lifespan does after start-up under ``cortex serve``
    gc.freeze()
    try:
        uvicorn.run(
            app, host=HOST, port=port, log_config=None, log_level="warning", access_log=False
        )
    finally:
        if cortex is not None:
            cortex.close()


# --- the OTLP/HTTP receiver (this script with --receiver) ---------------------------------------


def receiver() -> None:
    """Accept POST /v1/traces, count the spans, answer 200; GET /stats gives the counts. Prints
    its port, serves until stdin closes."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
        ExportTraceServiceResponse,
    )

    counts: dict[str, int] = {"posts": 0, "bytes": 0}  # and spans by service name
    lock = threading.Lock()
    empty = ExportTraceServiceResponse().SerializeToString()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # the exporter keeps its connection alive

        def do_POST(self) -> None:
            data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            request = ExportTraceServiceRequest.FromString(data)
            with lock:
                counts["posts"] += 1
                counts["bytes"] += len(data)
                for spans in request.resource_spans:
                    service = next(
                        (
                            a.value.string_value
                            for a in spans.resource.attributes
                            if a.key == "service.name"
                        ),
                        "?",
                    )
                    count = sum(len(scope.spans) for scope in spans.scope_spans)
                    counts[service] = counts.get(service, 0) + count
            self._answer(empty, "application/x-protobuf")

        def do_GET(self) -> None:
            with lock:
                text = json.dumps(counts).encode()
            self._answer(text, "application/json")

        def _answer(self, content: bytes, media_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, *_: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer((HOST, 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()  # until the benchmark closes our stdin (or exits)
    server.shutdown()


# --- processes, from the benchmark's side ---------------------------------------------------------


def _popen(args: list[str], env: dict[str, str], **kwargs: Any) -> subprocess.Popen[Any]:
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), *args],
        cwd=ROOT,
        env=env,
        preexec_fn=die_with_parent if sys.platform == "linux" else None,
        **kwargs,
    )


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CORTEX_", "OTEL_"))}
    env["HF_HUB_OFFLINE"] = "1"
    return env


@contextlib.contextmanager
def otlp_receiver() -> Iterator[str]:
    """The receiver in a subprocess; yields its endpoint (http://127.0.0.1:port)."""
    process = _popen(
        ["--receiver"], base_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        if not port.isdigit():
            raise SystemExit("the OTLP receiver did not start")
        yield f"http://{HOST}:{port}"
    finally:
        close_child(process)


class Server:
    """One variant served by uvicorn in a subprocess (this script with --serve)."""

    def __init__(self, variant: Variant, folder: Path, env: dict[str, str], *extra: str) -> None:
        self.variant = variant
        self.port = free_port(HOST)
        self.url = f"http://{HOST}:{self.port}{PATH}"
        self.log_path = folder / f"server-{variant.name}.log"
        self.sent = 0  # requests this benchmark sent to it, all of them
        self._log = self.log_path.open("wb")
        self.proc = _popen(
            ["--serve", variant.name, "--port", str(self.port), *extra],
            env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"the {self.variant.name} server exited ({self.proc.returncode}):\n"
                    f"{self.tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url, timeout=2.0).status_code == 200:
                    self.sent += 1
                    return
            time.sleep(0.2)
        raise RuntimeError(f"the {self.variant.name} server is not up:\n{self.tail()}")

    def get(self, path: str = PATH) -> httpx.Response:
        response = httpx.get(f"http://{HOST}:{self.port}{path}", timeout=10.0)
        if path == PATH:
            self.sent += 1
        if response.status_code != 200:
            raise RuntimeError(
                f"{self.variant.name}: GET {path}: {response.status_code} {response.text[:300]}"
            )
        return response

    def cpu(self) -> float | None:
        return cpu_seconds(self.proc.pid)

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            self._log.flush()
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self._log.close()


def cortex_env(variant: Variant, var_dir: Path, endpoint: str) -> dict[str, str]:
    env = base_env()
    env.update(
        CORTEX_PROFILE="local",  # CORTEX_SKIP_AUTH defaults to true: no token needed
        CORTEX_VAR_DIR=str(var_dir),
        CORTEX_DATABASE_URL=f"sqlite:///{var_dir}/cortex.sqlite3",
        CORTEX_LOG_LEVEL="INFO" if variant.logs else "WARNING",
        CORTEX_LOG_JSON="true",
        CORTEX_ENABLE_TRACING="true" if variant.tracing else "false",
    )
    if variant.tracing:
        env.update(
            CORTEX_OTEL_EXPORTER_ENDPOINT=endpoint,
            CORTEX_OTEL_SAMPLE_RATIO=os.environ.get("BENCH_SAMPLE_RATIO", "1"),
            CORTEX_OTEL_SERVICE_NAME=f"bench-{variant.name}",  # the receiver counts by service
        )
    return env


def seed(var_dir: Path, ideas: int) -> None:
    """One project and ``ideas`` ideas, with the projectors caught up."""
    from cortex.bootstrap import bootstrap
    from cortex.settings import load_settings

    env = cortex_env(OFF, var_dir, "")
    settings = load_settings({k: v for k, v in env.items() if k.startswith("CORTEX_")})
    cortex = bootstrap(settings, migrate_read_store=True)
    try:
        project_id = uuid4()
        cortex.projects.create_project(
            project_id=project_id, name="HTTP bench", description="", at=datetime.now(UTC)
        )
        for number in range(ideas):
            cortex.ideas.capture_idea(
                idea_id=uuid4(),
                project_id=project_id,
                title=f"Idea {number}: cache the ideas list per project",
                body=f"Body of idea {number}. " + "Some words about what it is and why. " * 4,
                tags=["bench", f"tag{number % 5}"],
                at=datetime.now(UTC),
            )
        for runner in cortex.runners.values():
            runner.catch_up()
    finally:
        cortex.close()


# --- load -----------------------------------------------------------------------------------------


@dataclass
class Run:
    requests: int
    seconds: float
    p50: float  # seconds
    p99: float
    server_cpu: float | None = None

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_per_request(self) -> float | None:
        return None if self.server_cpu is None else self.server_cpu / max(self.requests, 1)


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _seconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if match is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match[1]) * _UNITS[match[2]]


def parse_wrk(output: str) -> Run:
    done = re.search(r"(\d+) requests in ([\d.]+(?:us|ms|s|m|h)),", output)
    p50 = re.search(r"^\s*50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s*99%\s+(\S+)", output, re.MULTILINE)
    if done is None or p50 is None or p99 is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    if bad := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        raise RuntimeError(f"{bad[1]} responses were not 200:\n{output}")
    if errors := re.search(r"Socket errors: (.*)", output):
        raise RuntimeError(f"wrk: socket errors ({errors[1]}):\n{output}")
    return Run(int(done[1]), _seconds(done[2]), _seconds(p50[1]), _seconds(p99[1]))


def wrk(url: str, seconds: float, connections: int) -> Run:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    command += ["--timeout", "30s", url]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


async def _httpx_load(url: str, seconds: float, connections: int, max_requests: int) -> Run:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    latencies: list[float] = []
    errors: list[str] = []
    budget = [max_requests]
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:
        await asyncio.gather(*(client.get(url) for _ in range(connections)))  # connect first
        started = time.perf_counter()
        deadline = started + seconds

        async def worker() -> None:
            while budget[0] > 0 and not errors and time.perf_counter() < deadline:
                budget[0] -= 1
                sent = time.perf_counter()
                response = await client.get(url)
                latencies.append(time.perf_counter() - sent)
                if response.status_code != 200:
                    errors.append(f"{response.status_code}: {response.text[:300]}")

        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"GET {url}: {errors[0]}")
    return Run(len(latencies), elapsed, pct(latencies, 50), pct(latencies, 99))


def load(client: str, server: Server, seconds: float, connections: int, max_requests: int) -> Run:
    before = server.cpu()
    if client == "wrk":
        run = wrk(server.url, seconds, connections)
    else:
        run = asyncio.run(_httpx_load(server.url, seconds, connections, max_requests))
        server.sent += connections  # the connecting GETs
    after = server.cpu()
    server.sent += run.requests
    if before is not None and after is not None:
        run.server_cpu = after - before
    return run


# --- profile (--profile, with py-spy) -------------------------------------------------------------

# Which piece a sampled stack belongs to: the first frame, from the innermost out, whose file
# matches one of these; frames of the NEUTRAL files (stdlib helpers any piece may call) are
# skipped; any other frame puts the sample in "the rest" (the app, Litestar, uvicorn, asyncio).
PIECES = (
    ("/opentelemetry/", "tracing"),
    ("/litestar/plugins/opentelemetry/", "tracing"),
    ("/cortex/api/tracing.py", "tracing"),
    ("/google/protobuf/", "tracing"),  # the OTLP encoding
    ("/requests/", "tracing"),  # the OTLP/HTTP exporter's client
    ("/urllib3/", "tracing"),
    ("/structlog/", "logging"),
    ("/logging/__init__.py", "logging"),
    ("/cortex/observability/logging.py", "logging"),
    ("/cortex/observability/redaction.py", "logging"),
    ("/cortex/observability/request_logging.py", "logging"),
    ("/prometheus_client/", "metrics"),
    ("/litestar/plugins/prometheus/", "metrics"),
)
NEUTRAL = (
    "/json/", "/re/", "/uuid.py", "/enum.py", "/functools.py", "/typing.py", "/copy.py",
    "/http/client.py", "/socket.py", "/threading.py", "/queue.py", "/datetime.py", "/abc.py",
    "/encodings/", "/collections/", "/os.py", "/contextlib.py", "/weakref.py", "/random.py",
)  # fmt: skip


def _frames(stack: str) -> list[tuple[str, str]]:
    """``func (file:line);...`` (py-spy's raw format, outermost first) as (func, file) pairs."""
    frames = []
    for frame in stack.split(";"):
        match = re.fullmatch(r"(.*) \((.*):\d+\)", frame)
        frames.append((match[1], match[2]) if match else (frame, ""))
    return frames


def _piece(frames: list[tuple[str, str]]) -> str:
    for _, path in reversed(frames):
        for part, piece in PIECES:
            if part in path:
                return piece
        if not any(part in path for part in NEUTRAL):
            return "the rest"
    return "the rest"


def summarize_profile(raw: Path, top: int = 15) -> list[str]:
    pieces: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = _frames(stack)
        total += int(count)
        pieces[_piece(frames)] += int(count)
        func, path = frames[-1]
        own[f"{func} ({'/'.join(Path(path).parts[-2:])})"] += int(count)
    if not total:
        return ["  py-spy recorded no samples"]
    lines = [
        "  by piece (the innermost frame that belongs to one): "
        + ", ".join(f"{piece} {count / total:.1%}" for piece, count in pieces.most_common())
    ]
    lines.append(f"  the {top} functions with the most samples of their own:")
    lines += [f"    {count / total:6.1%}  {name}" for name, count in own.most_common(top)]
    return lines


def profile(
    server: Server, client: str, seconds: float, connections: int, max_requests: int, temp: Path
) -> list[str]:
    """py-spy (``--gil``: the thread holding the GIL) on the server during one more run."""
    spy = shutil.which("py-spy")
    if spy is None:
        return ["  py-spy is not on the PATH (pip install py-spy): no profile"]
    raw = temp / f"{server.variant.name}.pyspy.txt"
    duration = max(1, round(seconds))
    command = [spy, "record", "--pid", str(server.proc.pid), "--duration", str(duration)]
    command += ["--rate", "250", "--gil", "--nonblocking", "--full-filenames"]
    command += ["--format", "raw", "--output", str(raw)]
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as recorder:
        time.sleep(0.5)  # attached
        run = load(client, server, duration + 0.5, connections, max_requests)
        _, errors = recorder.communicate(timeout=duration + 60)
    if recorder.returncode != 0 or not raw.exists():
        return [
            f"  py-spy failed ({recorder.returncode}): {errors.decode(errors='replace')[-500:]}"
        ]
    samples = sum(
        int(line.rpartition(" ")[2]) for line in raw.read_text().splitlines() if line.strip()
    )
    return [
        f"  py-spy --gil at 250 Hz: {samples:,} samples of the thread holding the GIL, during"
        f" a run at {run.rate:,.0f} req/s (slowed down by the sampling)",
        *summarize_profile(raw),
    ]


# --- report ---------------------------------------------------------------------------------------


@dataclass
class Result:
    variant: Variant
    runs: list[Run] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return sum(r.requests for r in self.runs) / sum(r.seconds for r in self.runs)

    @property
    def p50(self) -> float:
        return statistics.median(r.p50 for r in self.runs)

    @property
    def p99(self) -> float:
        return statistics.median(r.p99 for r in self.runs)

    @property
    def cpu_per_request(self) -> float | None:
        if any(r.server_cpu is None for r in self.runs):
            return None
        return sum(r.server_cpu or 0.0 for r in self.runs) / sum(r.requests for r in self.runs)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def us(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e6:.0f}"


HEADER = f"{'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU µs/req':>10}"


def row(label: str, figures: Run | Result) -> str:
    return (
        f"  {label:<16} {figures.rate:>9,.0f} {ms(figures.p50):>8} {ms(figures.p99):>8}"
        f" {us(figures.cpu_per_request):>10}"
    )


def verdict(value: float) -> str:
    return f"  {'PASS' if value <= TARGET else 'FAIL'} (target <= {TARGET:.0%})"


def compare(ours: Result, theirs: Result, *, judge: bool) -> list[str]:
    loss = 1 - ours.rate / theirs.rate
    slower = ours.p50 / theirs.p50 - 1
    lines = [
        f"  throughput: {ours.rate:,.0f} vs {theirs.rate:,.0f} req/s, {loss:.1%} lost"
        + (verdict(loss) if judge else ""),
        f"  p50: {ms(ours.p50)} vs {ms(theirs.p50)} ms, {slower:+.1%}"
        + (verdict(slower) if judge else ""),
        f"  p99: {ms(ours.p99)} vs {ms(theirs.p99)} ms, {ours.p99 / theirs.p99 - 1:+.1%}",
    ]
    if ours.cpu_per_request is not None and theirs.cpu_per_request is not None:
        extra = ours.cpu_per_request - theirs.cpu_per_request
        lines.append(
            f"  server CPU: {us(ours.cpu_per_request)} vs {us(theirs.cpu_per_request)} µs/request,"
            f" {extra * 1e6:+.0f} µs ({ours.cpu_per_request / theirs.cpu_per_request - 1:+.1%});"
            f" {1 - theirs.cpu_per_request / ours.cpu_per_request:.1%} of throughput lost if the"
            " server is CPU-bound"
        )
    return lines


def count_lines(path: Path, needle: bytes) -> int:
    with path.open("rb") as handle:
        return sum(1 for line in handle if needle in line)


def report(
    results: dict[str, Result],
    servers: dict[str, Server],
    checks: list[str],
    spans: dict[str, int],
    profiled: list[str],
) -> bool:
    print(f"\n  {'server':<16} {HEADER}")
    for name, result in results.items():
        print(row(name, result))
    print(
        "  req/s: the rounds' requests / their seconds; p50, p99: the median of the rounds';"
        " CPU: the server process's, per request"
    )
    on, off, bare = results["on"], results["off"], results["bare"]
    # When bare is not far above off, the client sets the pace (the httpx client, on a small
    # machine): req/s and latency then say little, the server's CPU per request still does.
    client_bound = bare.rate < 2 * off.rate and bool(on.cpu_per_request and off.cpu_per_request)
    print("\non vs off (what logging, metrics and tracing cost):")
    print("\n".join(compare(on, off, judge=not client_bound)))
    print("\noff vs bare (the rest of Cortex's request path: guard, DI, thread hop, SQL, JSON):")
    print("\n".join(compare(off, bare, judge=False)))
    alone = [results[v.name] for v in BREAKDOWN if v.name in results]
    if alone:
        print("\neach alone vs off:")
        for result in alone:
            cpu = ""
            if result.cpu_per_request is not None and off.cpu_per_request is not None:
                extra = (result.cpu_per_request - off.cpu_per_request) * 1e6
                cpu = f", server CPU {extra:+.0f} µs/request"
            print(
                f"  {result.variant.name:<8} throughput {1 - result.rate / off.rate:.1%} lost,"
                f" p50 {result.p50 / off.p50 - 1:+.1%}{cpu}"
            )

    print("\nchecks:")
    print("\n".join(f"  {line}" for line in checks))
    for server in servers.values():
        if server.variant.logs:
            lines = count_lines(server.log_path, b'"request_finished"')
            size = server.log_path.stat().st_size / 1e6
            print(
                f"  {server.variant.name}: {lines:,} request_finished lines ({size:.1f} MB) for"
                f" {server.sent:,} requests counted by the client"
            )
    print(f"  receiver: {spans['posts']:,} POSTs of spans ({spans['bytes'] / 1e6:.1f} MB)")
    for server in servers.values():
        if server.variant.tracing:
            dropped = count_lines(server.log_path, b"Queue full")
            print(
                f"  {server.variant.name}: {spans.get(f'bench-{server.variant.name}', 0):,} spans"
                f" received for {server.sent:,} requests counted by the client;"
                f" {dropped} 'Queue full, dropping' warnings in its log"
            )
    print(
        "  (the client does not count the requests still in flight when a run ends: up to one"
        " per connection and run more reach the server)"
    )
    if profiled:
        print("\nprofile of the on server:")
        print("\n".join(profiled))
    loss, slower = 1 - on.rate / off.rate, on.p50 / off.p50 - 1
    if client_bound and on.cpu_per_request and off.cpu_per_request:
        loss = 1 - off.cpu_per_request / on.cpu_per_request
        passed = loss <= TARGET
        print(
            f"\nnote: bare serves only {bare.rate / off.rate:.1f}x off's requests/s: the client"
            " bounds req/s and latency here, so the verdict uses the server's CPU per request."
        )
        print(
            f"{'PASS' if passed else 'FAIL'}: logging + metrics + tracing (on vs off) cost"
            f" {loss:.1%} of a CPU-bound server's throughput (target <= {TARGET:.0%})"
        )
        return passed
    passed = loss <= TARGET and slower <= TARGET
    print(
        f"\n{'PASS' if passed else 'FAIL'}: logging + metrics + tracing (on vs off) cost"
        f" {loss:.1%} of throughput and {slower:+.1%} at p50 (target <= {TARGET:.0%})"
    )
    return passed


def observability_checks(servers: dict[str, Server]) -> list[str]:
    """Is each piece really on, or off, where it should be?"""
    lines = []
    for name, server in servers.items():
        if server.variant.bare:
            continue
        has_id = "x-request-id" in server.get().headers
        counted = "cortex_http_requests_total{" in server.get("/metrics").text
        if has_id != server.variant.logs or counted != server.variant.metrics:
            raise RuntimeError(
                f"the {name} server: X-Request-ID {has_id}, cortex_http_requests_total {counted}"
            )
        lines.append(
            f"{name}: X-Request-ID {'yes' if has_id else 'no'},"
            f" cortex_http_requests_total {'yes' if counted else 'no'},"
            f" tracing {'on' if server.variant.tracing else 'off'}"
        )
    return lines


def start_servers(
    variants: list[Variant], temp: Path, endpoint: str, servers: dict[str, Server]
) -> bytes:
    """Start every server (into ``servers``, for the clean-up); the JSON they all answer."""
    cortex_variants = [variant for variant in variants if not variant.bare]
    for variant in cortex_variants:
        var_dir = temp / f"var-{variant.name}"
        shutil.copytree(temp / "seed", var_dir)
        servers[variant.name] = Server(variant, temp, cortex_env(variant, var_dir, endpoint))
    for variant in cortex_variants:
        servers[variant.name].wait_ready()
    body = servers["off"].get().content
    for variant in cortex_variants:
        if servers[variant.name].get().content != body:
            raise RuntimeError(f"the {variant.name} server answers other JSON than off")
    body_file = temp / "ideas.json"
    body_file.write_bytes(body)
    servers["bare"] = Server(BARE, temp, base_env(), "--body-file", str(body_file))
    servers["bare"].wait_ready()
    if servers["bare"].get().content != body:
        raise RuntimeError("the bare server answers other JSON")
    return body


# --- main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run (10)")
    parser.add_argument(
        "--sample-ratio",
        default="1",
        help="CORTEX_OTEL_SAMPLE_RATIO of the servers with tracing on (1: every request)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rotating rounds (3)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (16)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up load (3)")
    parser.add_argument("--ideas", type=int, default=50, help="ideas in the project (50)")
    parser.add_argument("--client", choices=("auto", "wrk", "httpx"), default="auto")
    parser.add_argument(
        "--max-requests",
        type=int,
        default=DEFAULT_MAX_REQUESTS,
        help=f"httpx client: at most this many requests per run ({DEFAULT_MAX_REQUESTS})",
    )
    parser.add_argument(
        "--breakdown", action="store_true", help="also logs, metrics and tracing each alone"
    )
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the on server during one more run"
    )
    parser.add_argument("--serve", choices=sorted(VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--body-file", help=argparse.SUPPRESS)
    parser.add_argument("--receiver", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.serve:
        os.environ["BENCH_SAMPLE_RATIO"] = args.sample_ratio  # the servers inherit it
    if args.serve:
        serve(args.serve, args.port, args.body_file)
        return 0
    if args.receiver:
        receiver()
        return 0
    if args.duration <= 0 or args.rounds < 1 or args.connections < 1 or args.ideas < 1:
        parser.error("--duration, --rounds, --connections and --ideas must be positive")
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "httpx"
    elif client == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not on the PATH (Debian: apt-get install wrk)")
    if client == "wrk":
        load_text = f"wrk -t1 -c{args.connections} -d{max(1, round(args.duration))}s --latency"
    else:
        load_text = (
            f"httpx.AsyncClient, {args.connections} connections,"
            f" {args.duration:g} s or {args.max_requests:,} requests"
        )

    # SIGTERM unwinds like Ctrl-C, so that the clean-up below runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    started = time.perf_counter()
    variants = [BARE, OFF, ON, *(BREAKDOWN if args.breakdown else ())]
    temp = Path(tempfile.mkdtemp(prefix="cortex_bench_http_"))
    servers: dict[str, Server] = {}
    try:
        seed(temp / "seed", args.ideas)
        with otlp_receiver() as endpoint:
            body = start_servers(variants, temp, endpoint, servers)
            checks = observability_checks(servers)
            items = len(json.loads(body)["items"])
            print(
                f"== GET {PATH}: {items} ideas, {len(body):,} bytes of JSON; {load_text} per run,"
                f" {args.rounds} rotating rounds ==",
                flush=True,
            )
            for variant in variants:  # warm-up, untimed
                load(
                    client, servers[variant.name], args.warmup, args.connections, args.max_requests
                )
            results = {variant.name: Result(variant) for variant in variants}
            print(f"\n  {'round server':<16} {HEADER}")
            for number in range(args.rounds):
                shift = number % len(variants)
                for variant in variants[shift:] + variants[:shift]:
                    server = servers[variant.name]
                    run = load(client, server, args.duration, args.connections, args.max_requests)
                    results[variant.name].runs.append(run)
                    print(row(f"{number + 1:>5} {variant.name}", run), flush=True)
            profiled = (
                profile(
                    servers["on"], client, args.duration, args.connections, args.max_requests, temp
                )
                if args.profile
                else []
            )
            # Stop the tracing servers first: their exporter sends what it still holds at exit.
            for server in servers.values():
                if server.variant.tracing:
                    server.stop()
            spans = httpx.get(f"{endpoint}/stats", timeout=10.0).json()
        for server in servers.values():
            server.stop()
        report(results, servers, checks, spans, profiled)
    finally:
        for server in servers.values():
            with contextlib.suppress(Exception):
                server.stop()
        shutil.rmtree(temp, ignore_errors=True)
    print(f"\ntotal runtime: {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
