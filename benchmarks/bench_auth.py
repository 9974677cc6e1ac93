"""Auth benchmark: what the app-wide guard costs, per token and per request.

Run:  .venv/bin/python benchmarks/bench_auth.py [--requests N] [--backend sqlite|postgres]
      [--rounds R] [--concurrency C] [--iterations I] [--profile] [--pg-admin-url URL]

1. Token verification, in process, in microseconds per call (best of 5 passes of I calls):
   - baseline: joserfc's raw ``jwt.decode`` of a Cortex access token (HS256);
   - ``TokenIssuer.verify`` (decode + the claims registry + AccessClaims);
   - the guard's SQL alone (``auth_queries.token_state``);
   - ``cortex.api.security.check`` for ``whoAmI`` and for ``getProject``, as an admin (verify +
     token_state) and as a project member (verify + token_state + project_role);
   - one ``anyio.to_thread.run_sync`` hop of a no-op (the guard runs check() in a worker thread).
   ``--profile`` adds a cProfile of I ``check()`` calls (getProject, as a member).
2. Requests/s of ``GET /api/projects/{id}`` served by real uvicorn processes
   (``python -m cortex.cli serve`` on 127.0.0.1, a free port, CORTEX_VAR_DIR in a temp dir):
   one server with auth skipped (CORTEX_SKIP_AUTH=true) and one with auth on, called with an
   admin's token and with a project member's token (the admin is made through
   POST /api/auth/bootstrap-admin, tokens come from POST /api/auth/token). The load is a bounded
   loop: C threads, each with its own keep-alive httpx client, N requests per case and round
   (after 200 warm-up requests), R rounds in alternating order. The table gives req/s, the
   server's CPU time per request (from /proc, so less noisy than req/s on a busy machine), and
   the guard's cost: 1 - auth req/s / skip req/s. Target: under 10 %.

On PostgreSQL every Cortex gets a fresh ``cortex_bench_<random>`` database, created through the
admin database and dropped at the end; on SQLite, files in a temporary directory. The servers are
stopped at the end, also on errors.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import logging
import os
import pstats
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import anyio
import httpx
import psycopg
import structlog
from joserfc import jwt
from measure import cpu_seconds, die_with_parent, free_port
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from cortex.api.permissions import PERMISSIONS
from cortex.api.security import check
from cortex.bootstrap import Cortex, bootstrap
from cortex.domain.roles import ProjectRole, Role
from cortex.settings import load_settings
from projections import auth_queries

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # loopback only
WARMUP_REQUESTS = 200
TARGET = 0.10  # the guard may cost at most this share of a cheap GET's throughput
PASSES = 5


def now() -> datetime:
    return datetime.now(UTC)


# --- databases ------------------------------------------------------------------------------------


class Databases:
    """Fresh database URLs: files in a temp dir (SQLite) or throw-away PostgreSQL databases."""

    def __init__(self, backend: str, admin_url: str, tmp: Path) -> None:
        self.backend = backend
        self.admin_url = admin_url
        self.tmp = tmp
        self.created: list[str] = []

    def fresh_url(self, name: str) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.tmp / name}.sqlite3"
        dbname = f"cortex_bench_{secrets.token_hex(6)}"
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        self.created.append(dbname)
        params = conninfo_to_dict(self.admin_url)
        user = str(params.get("user", "postgres"))
        if params.get("password"):
            user += f":{params['password']}"
        return f"postgresql://{user}@{params.get('host', HOST)}:{params.get('port', 5432)}/{dbname}"

    def cleanup(self) -> None:
        if not self.created:
            return
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
            for dbname in self.created:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(dbname)
                    )
                )
        self.created.clear()


# --- 1. token verification, in process ------------------------------------------------------------


def per_call_us(fn: Callable[[], object], iterations: int) -> float:
    """Best of PASSES passes, in microseconds per call."""
    for _ in range(min(200, iterations)):
        fn()
    best = float("inf")
    for _ in range(PASSES):
        started = time.perf_counter()
        for _ in range(iterations):
            fn()
        best = min(best, time.perf_counter() - started)
    return best / iterations * 1e6


def thread_hop_us(iterations: int) -> float:
    """One anyio.to_thread.run_sync of a no-op, awaited one at a time, in µs."""

    def noop() -> None:
        return None

    async def hops() -> float:
        for _ in range(min(200, iterations)):
            await anyio.to_thread.run_sync(noop)
        best = float("inf")
        for _ in range(PASSES):
            started = time.perf_counter()
            for _ in range(iterations):
                await anyio.to_thread.run_sync(noop)
            best = min(best, time.perf_counter() - started)
        return best / iterations * 1e6

    return anyio.run(hops)


@dataclass
class Fixture:
    cortex: Cortex
    project_id: UUID
    admin_token: str
    member_token: str


@contextlib.contextmanager
def in_process_fixture(url: str, var_dir: Path, password: str) -> Iterator[Fixture]:
    settings = load_settings(
        {
            "CORTEX_DATABASE_URL": url,
            "CORTEX_VAR_DIR": str(var_dir),
            "CORTEX_SKIP_AUTH": "false",
            "CORTEX_PROFILE": "local",
        }
    )
    cortex = bootstrap(settings, migrate_read_store=True)
    try:
        auth = cortex.auth
        admin_id = auth.register_user(
            username="bench-admin", password=password, roles=[Role.ADMIN], at=now(), bootstrap=True
        ).id
        member_id = auth.register_user(
            username="bench-member", password=password, roles=[Role.VIEWER], at=now()
        ).id
        project_id = uuid4()
        cortex.projects.create_project(
            project_id=project_id, name="Bench", description="", at=now(), owner_id=admin_id
        )
        cortex.projects.set_member(project_id, user_id=member_id, role=ProjectRole.VIEWER, at=now())
        admin = auth.login(username="bench-admin", password=password, client=HOST, at=now())
        member = auth.login(username="bench-member", password=password, client=HOST, at=now())
        for runner in cortex.runners.values():
            runner.catch_up()
        yield Fixture(cortex, project_id, admin.access_token, member.access_token)
    finally:
        cortex.close()


def bench_verification(
    url: str, var_dir: Path, password: str, iterations: int, profile: bool
) -> None:
    with in_process_fixture(url, var_dir, password) as fx:
        cortex = fx.cortex
        key = cortex.keys.verifying_key
        algorithms = [cortex.keys.algorithm]
        token = fx.admin_token
        claims = cortex.tokens.verify(token)
        who, get_project = PERMISSIONS["whoAmI"], PERMISSIONS["getProject"]
        path = {"project_id": fx.project_id}
        admin_header, member_header = f"Bearer {fx.admin_token}", f"Bearer {fx.member_token}"
        member_claims = cortex.tokens.verify(fx.member_token)
        # Each must succeed before it is timed, so a refusal does not pass for speed.
        assert check(cortex, who, admin_header, {}).user_id == claims.user_id
        assert check(cortex, get_project, member_header, path).user_id == member_claims.user_id

        rows: list[tuple[str, float]] = [
            (
                "baseline: joserfc jwt.decode (raw, HS256)",
                per_call_us(lambda: jwt.decode(token, key, algorithms=algorithms), iterations),
            ),
            ("TokenIssuer.verify", per_call_us(lambda: cortex.tokens.verify(token), iterations)),
            (
                "auth_queries.token_state (the guard's SQL alone)",
                per_call_us(
                    lambda: auth_queries.token_state(
                        cortex.read_store,
                        str(claims.user_id),
                        str(claims.session_id or ""),
                        claims.jti,
                    ),
                    iterations,
                ),
            ),
            (
                "check(): whoAmI, admin (verify + token_state)",
                per_call_us(lambda: check(cortex, who, admin_header, {}), iterations),
            ),
            (
                "check(): getProject, admin (verify + token_state)",
                per_call_us(lambda: check(cortex, get_project, admin_header, path), iterations),
            ),
            (
                "check(): getProject, member (+ project_role query)",
                per_call_us(lambda: check(cortex, get_project, member_header, path), iterations),
            ),
            ("anyio.to_thread.run_sync hop of a no-op", thread_hop_us(iterations)),
        ]
        base = rows[0][1]
        print(f"\n## 1. token verification ({cortex.read_store.dialect}), in process")
        print(f"   best of {PASSES} passes of {iterations} calls; ratio = row / raw jwt.decode\n")
        print(f"  {'what':<52} {'µs/call':>9} {'calls/s':>10} {'ratio':>7}")
        for label, us in rows:
            print(f"  {label:<52} {us:9.1f} {1e6 / us:10,.0f} {us / base:6.2f}x")
        print(f"\n  token: {len(token)} characters")

        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(iterations):
                check(cortex, get_project, member_header, path)
            profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("tottime").print_stats(20)
            print(f"\n  cProfile of {iterations} check() calls (getProject, member), by tottime:")
            print("\n".join("    " + line for line in out.getvalue().splitlines()[:45]))


# --- 2. requests/s through real servers -----------------------------------------------------------


class Server:
    """``python -m cortex.cli serve`` on 127.0.0.1 and a free port, with its own var dir."""

    def __init__(self, name: str, var_dir: Path, url: str, *, skip_auth: bool) -> None:
        self.name = name
        self.port = free_port(HOST)
        self.base = f"http://{HOST}:{self.port}"
        var_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CORTEX_")}
        env.update(
            CORTEX_PROFILE="local",
            CORTEX_VAR_DIR=str(var_dir),
            CORTEX_DATABASE_URL=url,
            CORTEX_SKIP_AUTH="true" if skip_auth else "false",
            CORTEX_LOG_LEVEL="WARNING",
            CORTEX_HOST=HOST,
            # Idle projectors poll less often; commands wake them up anyway.
            CORTEX_PROJECTION_POLL_SECONDS="0.5",
        )
        self.log_path = var_dir / "server.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cortex.cli", "serve", "--host", HOST, "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent if sys.platform == "linux" else None,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} server exited ({self.proc.returncode}):\n{self.tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/healthz", timeout=1.0).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} server not up after {timeout:.0f} s:\n{self.tail()}")

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
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self._log.close()


def expect(response: httpx.Response, status: int) -> dict[str, Any]:
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: expected {status}, "
            f"got {response.status_code}: {response.text[:500]}"
        )
    body: dict[str, Any] = response.json()
    return body


def login(client: httpx.Client, username: str, password: str) -> str:
    body = expect(
        client.post("/api/auth/token", data={"username": username, "password": password}), 200
    )
    return str(body["access_token"])


def prepare_auth_server(base: str, password: str) -> tuple[str, str, str]:
    """Admin (bootstrap), a viewer member, a project: the project id and both tokens."""
    with httpx.Client(base_url=base, timeout=30.0) as client:
        expect(
            client.post(
                "/api/auth/bootstrap-admin", json={"username": "bench-admin", "password": password}
            ),
            201,
        )
        admin = login(client, "bench-admin", password)
        bearer = {"Authorization": f"Bearer {admin}"}
        member_id = expect(
            client.post(
                "/api/auth/users",
                json={"username": "bench-member", "password": password, "roles": ["viewer"]},
                headers=bearer,
            ),
            201,
        )["id"]
        project = expect(
            client.post(
                "/api/projects/", json={"name": "Bench", "description": ""}, headers=bearer
            ),
            201,
        )
        added = expect(
            client.post(
                f"/api/projects/{project['id']}/members",
                json={"user_id": member_id, "role": "viewer"},
                headers=bearer,
            ),
            200,
        )
        member = login(client, "bench-member", password)
        # Read-your-writes once, so the timed GETs find the project and the membership.
        for token in (admin, member):
            expect(
                client.get(
                    f"/api/projects/{project['id']}",
                    params={"after": added["position"]},
                    headers={"Authorization": f"Bearer {token}"},
                ),
                200,
            )
        return str(project["id"]), admin, member


def prepare_skip_server(base: str) -> str:
    with httpx.Client(base_url=base, timeout=30.0) as client:
        project = expect(
            client.post("/api/projects/", json={"name": "Bench", "description": ""}), 201
        )
        expect(
            client.get(f"/api/projects/{project['id']}", params={"after": project["position"]}),
            200,
        )
        return str(project["id"])


@dataclass
class HttpCase:
    key: str
    label: str
    server: Server
    path: str
    headers: dict[str, str]
    requests: int = 0
    seconds: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    cpu_known: bool = True

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def drive(case: HttpCase, requests: int, concurrency: int) -> tuple[float, float | None, float]:
    """Send ``requests`` GETs from ``concurrency`` threads; wall seconds, server and client CPU."""
    shares = [requests // concurrency + (i < requests % concurrency) for i in range(concurrency)]
    start = threading.Barrier(concurrency + 1)
    failed = threading.Event()
    errors: list[str] = []

    def worker(count: int) -> None:
        with httpx.Client(base_url=case.server.base, headers=case.headers, timeout=30.0) as client:
            try:
                client.get("/healthz")  # open the keep-alive connection before the clock starts
                start.wait(timeout=60)
                for _ in range(count):
                    if failed.is_set():
                        return
                    response = client.get(case.path)
                    if response.status_code != 200:
                        errors.append(f"{response.status_code}: {response.text[:300]}")
                        failed.set()
                        return
            except (httpx.HTTPError, threading.BrokenBarrierError) as error:
                errors.append(repr(error))
                failed.set()
                with contextlib.suppress(threading.BrokenBarrierError):
                    start.abort()

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in shares]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        start.wait(timeout=60)
    cpu_before, client_before = case.server.cpu(), time.process_time()
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=600)
    seconds = time.perf_counter() - started
    cpu_after, client_after = case.server.cpu(), time.process_time()
    if errors or any(thread.is_alive() for thread in threads):
        raise RuntimeError(f"{case.label}: request failed: {errors[:1] or 'timed out'}")
    server_cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return seconds, server_cpu, client_after - client_before


def bench_http(
    dbs: Databases, tmp: Path, password: str, requests: int, rounds: int, concurrency: int
) -> None:
    servers: list[Server] = []
    try:
        skip = Server("skip-auth", tmp / "skip", dbs.fresh_url("skip"), skip_auth=True)
        servers.append(skip)
        auth = Server("auth", tmp / "auth", dbs.fresh_url("auth"), skip_auth=False)
        servers.append(auth)
        for server in servers:
            server.wait_ready()
        skip_project = prepare_skip_server(skip.base)
        project, admin, member = prepare_auth_server(auth.base, password)
        cases = [
            HttpCase("skip", "auth skipped (CORTEX_SKIP_AUTH=true)", skip,
                     f"/api/projects/{skip_project}", {}),
            HttpCase("admin", "auth on, admin token", auth, f"/api/projects/{project}",
                     {"Authorization": f"Bearer {admin}"}),
            HttpCase("member", "auth on, member token (+1 query)", auth,
                     f"/api/projects/{project}", {"Authorization": f"Bearer {member}"}),
        ]  # fmt: skip
        print(
            f"\n## 2. GET /api/projects/{{id}} through uvicorn ({dbs.backend}): {requests} requests"
            f" per case and round, {rounds} rounds, {concurrency} client threads",
            flush=True,
        )
        for round_no in range(rounds):
            order = cases if round_no % 2 == 0 else list(reversed(cases))
            for case in order:
                drive(case, WARMUP_REQUESTS, concurrency)
                seconds, server_cpu, client_cpu = drive(case, requests, concurrency)
                case.requests += requests
                case.seconds += seconds
                case.client_cpu += client_cpu
                if server_cpu is None:
                    case.cpu_known = False
                else:
                    case.server_cpu += server_cpu
                print(
                    f"  round {round_no + 1}/{rounds}: {case.label:<38} "
                    f"{requests / seconds:8,.0f} req/s",
                    flush=True,
                )
        print_http(cases)
    finally:
        for server in servers:
            server.stop()


def print_http(cases: list[HttpCase]) -> None:
    print(
        f"\n  {'case':<38} {'requests':>8} {'seconds':>8} {'req/s':>8} "
        f"{'server CPU µs/req':>17} {'client CPU µs/req':>17}"
    )
    for case in cases:
        server = f"{case.server_cpu / case.requests * 1e6:17,.0f}" if case.cpu_known else "n/a"
        print(
            f"  {case.label:<38} {case.requests:8} {case.seconds:8.2f} {case.rate:8,.0f} "
            f"{server:>17} {case.client_cpu / case.requests * 1e6:17,.0f}"
        )
    skip = cases[0]
    print("\n  the guard's cost, against auth skipped:")
    for case in cases[1:]:
        ratio = case.rate / skip.rate
        cost = 1 - ratio
        verdict = "PASS" if cost < TARGET else "FAIL"
        line = (
            f"    {case.label:<38} ratio {ratio:5.2f}x, costs {cost:6.1%} of throughput"
            f"  (target < {TARGET:.0%}: {verdict})"
        )
        if case.cpu_known and skip.cpu_known:
            ours, base = case.server_cpu / case.requests, skip.server_cpu / skip.requests
            line += (
                f"\n    {'':<38} server CPU +{(ours - base) * 1e6:,.0f} µs/req: were the server"
                f" CPU-bound, {1 - base / ours:.1%} of throughput"
            )
        print(line)
    print(
        "\n  with auth skipped the guard returns at once (no thread hop, no query); with auth on it"
        " verifies the\n  token (cached after the first request) and reads the auth read model"
        " (inline on SQLite, in a\n  worker thread on PostgreSQL). req/s is sensitive to other"
        " load on the machine;\n  the server CPU per request is steadier."
    )


# --- main -----------------------------------------------------------------------------------------


def _interrupted(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests", type=int, default=3000, help="timed requests per case and round (3000)"
    )
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (3)")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads (4)")
    parser.add_argument(
        "--iterations", type=int, default=5000, help="calls per pass in part 1 (5000)"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile check() in part 1")
    parser.add_argument("--pg-admin-url", default=DEFAULT_ADMIN_URL)
    args = parser.parse_args(argv)
    if not 100 <= args.requests <= 1_000_000:
        parser.error("--requests must be from 100 to 1000000")
    if not 1 <= args.rounds <= 10:
        parser.error("--rounds must be from 1 to 10")
    if not 1 <= args.concurrency <= 64:
        parser.error("--concurrency must be from 1 to 64")
    if not 100 <= args.iterations <= 1_000_000:
        parser.error("--iterations must be from 100 to 1000000")

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    # SIGTERM (and SIGINT, even where a shell ignored it) unwind, so the servers are stopped.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _interrupted)
    started = time.perf_counter()
    password = secrets.token_urlsafe(18)  # random, so no secret lives in the source
    with tempfile.TemporaryDirectory(prefix="cortex_bench_auth_") as tmp_name:
        tmp = Path(tmp_name)
        dbs = Databases(args.backend, args.pg_admin_url, tmp)
        try:
            bench_verification(
                dbs.fresh_url("inproc"), tmp / "inproc", password, args.iterations, args.profile
            )
            bench_http(dbs, tmp, password, args.requests, args.rounds, args.concurrency)
        finally:
            dbs.cleanup()
    print(f"\ntotal runtime: {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
