"""The `cortex` command: serve, worker, migrate, projections, ingest, events, users."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import click
import msgspec

from cortex.application.errors import NotFound
from cortex.bootstrap import Cortex, bootstrap
from cortex.domain.errors import DomainError
from cortex.domain.roles import Role
from cortex.eventstore.environment import DatabaseUnavailable
from cortex.lanes import calls as lane_calls
from cortex.observability import metrics
from cortex.observability.logging import configure_logging
from cortex.settings import WORK_QUEUES, SettingsError, get_settings
from projections import auth_queries
from projections.migrate import MigrationError, migrate
from projections.rebuild import rebuild
from projections.registry import PROJECTIONS
from projections.vectors import VectorsProjection


@contextmanager
def _cortex(*, migrate_read_store: bool | None = None) -> Iterator[Cortex]:
    try:
        settings = get_settings()
        configure_logging(settings.log)  # every command logs like the server, on stderr
        cortex = bootstrap(settings, migrate_read_store=migrate_read_store)
    except (SettingsError, DatabaseUnavailable, MigrationError) as error:
        raise click.ClickException(str(error)) from None
    try:
        yield cortex
    finally:
        cortex.close()


@click.group()
def main() -> None:
    """Cortex: an event-sourced backend for an AI knowledge workspace."""


@main.command()
@click.option("--host", default=None, help="Default: CORTEX_HOST (127.0.0.1).")
@click.option("--port", default=None, type=int, help="Default: CORTEX_PORT (8000).")
def serve(host: str | None, port: int | None) -> None:
    """Serve the HTTP API (and, in the local profile, the projections)."""
    import uvicorn

    try:
        settings = get_settings()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    configure_logging(settings.log)
    uvicorn.run(
        "cortex.api.app:create_app",
        factory=True,
        host=host or settings.server.host,
        port=port or settings.server.port,
        log_config=None,  # uvicorn's lines go through configure_logging's handler
        log_level=settings.log.level.lower(),
        access_log=False,  # the app logs each request (observability.request_logging)
    )


@contextmanager
def _shared_metrics(port: int) -> Iterator[dict[str, str]]:
    """The children's environment: with a metrics port, their metrics go to a multiprocess
    folder (a fresh one unless PROMETHEUS_MULTIPROC_DIR names one) that this process serves."""
    env = dict(os.environ)
    if not port:
        yield env
        return
    with tempfile.TemporaryDirectory(prefix="cortex-metrics-") as fresh:
        folder = env.setdefault("PROMETHEUS_MULTIPROC_DIR", fresh)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder  # what this process's scrape reads
        metrics.serve_metrics(port, "0.0.0.0")  # noqa: S104 - a container's scrape port
        yield env


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


@main.command()
@click.option("--processes", default=1, type=click.IntRange(1, 64), help="Worker processes.")
@click.option(
    "--threads", default=None, type=click.IntRange(1, 256), help="Default: CORTEX_WORKER_THREADS."
)
@click.option(
    "--queues",
    default=None,
    help="Comma-separated queues to consume. Default: every queue (ingest, embed, lanes, "
    "workflows, agents), without embed when Qdrant runs in local mode: the server process "
    "embeds then.",
)
@click.option(
    "--metrics-port",
    default=None,
    type=click.IntRange(0, 65535),
    help="Serve /metrics on this port (default CORTEX_METRICS_PORT; 0: not). With several "
    "processes the parent serves the sum of its children's metrics.",
)
def worker(
    processes: int, threads: int | None, queues: str | None, metrics_port: int | None
) -> None:
    """Consume the Dramatiq queues (Redis broker) until SIGINT or SIGTERM."""
    try:
        settings = get_settings()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    port = settings.server.metrics_port if metrics_port is None else metrics_port
    queues = queues or ",".join(q for q in WORK_QUEUES if settings.qdrant.url or q != "embed")
    if not settings.workers.redis_url:
        raise click.ClickException(
            "cortex worker needs CORTEX_REDIS_URL; without it the API runs an in-process worker"
        )
    configure_logging(settings.log)
    if processes > 1:  # each child configures its own logging the same way
        command = [sys.executable, "-m", "cortex.cli", "worker", "--queues", queues]
        command += ["--threads", str(threads)] if threads else []
        command += ["--metrics-port", "0"]  # the parent serves theirs
        with _shared_metrics(port) as env:
            # Our own interpreter and fixed arguments: nothing from outside reaches the command.
            children = [subprocess.Popen(command, env=env) for _ in range(processes)]  # noqa: S603
            try:
                _wait_for_signal()
            finally:
                for child in children:
                    child.terminate()
                for child in children:
                    child.wait(timeout=30)
        return
    with _cortex() as cortex:
        names = {name.strip() for name in queues.split(",") if name.strip()}
        lane_calls.use(cortex)
        if port:
            metrics.serve_metrics(port, "0.0.0.0")  # noqa: S104 - a container's scrape port
        cortex.start_workers(queues=names, threads=threads)
        click.echo(f"worker consuming: {', '.join(sorted(names))}")
        _wait_for_signal()


@main.group()
def ingest() -> None:
    """Owed ingest work."""


@ingest.command("reconcile")
@click.option(
    "--stale", default=0.0, type=click.FloatRange(0), help="Only work untouched this many seconds."
)
def ingest_reconcile(stale: float) -> None:
    """Re-send owed work: ingest jobs and purges whose last event is not terminal, workflow
    steps never started or past their timeout, agent runs silent too long."""
    with _cortex() as cortex:
        if not cortex.settings.workers.redis_url:
            raise click.ClickException(
                "nothing to send to without CORTEX_REDIS_URL; the API's in-process worker "
                "re-sends owed work when it starts"
            )
        sent = cortex.reconciler.run_once(stale)
        click.echo(f"re-sent {sent} message(s)")


@main.command("migrate")
def migrate_command() -> None:
    """Apply the numbered SQL files in migrations/ that have not been applied."""
    with _cortex(migrate_read_store=False) as cortex:
        try:
            applied = migrate(cortex.read_store)
        except MigrationError as error:
            raise click.ClickException(str(error)) from None
    click.echo("\n".join(f"applied {name}" for name in applied) or "nothing to apply")


@main.group()
def projections() -> None:
    """List, inspect, run and rebuild projections."""


@projections.command("list")
def projections_list() -> None:
    for name, projection in PROJECTIONS.items():
        click.echo(f"{name}\ttables: {', '.join(projection.tables)}")


@projections.command("status")
def projections_status() -> None:
    with _cortex() as cortex:
        head = cortex.log.head()
        click.echo(f"log head: {head}")
        for name, runner in cortex.runners.items():
            position = runner.position()
            click.echo(f"{name}\tposition {position}\tlag {max(0, head - position)}")


@projections.command("run")
@click.argument("names", nargs=-1)
@click.option(
    "--metrics-port",
    default=None,
    type=click.IntRange(0, 65535),
    help="Serve /metrics on this port (default CORTEX_METRICS_PORT; 0: not).",
)
def projections_run(names: tuple[str, ...], metrics_port: int | None) -> None:
    """Follow the log with the named projections (all by default) until SIGINT or SIGTERM."""
    with _cortex() as cortex:
        port = cortex.settings.server.metrics_port if metrics_port is None else metrics_port
        if port:
            metrics.serve_metrics(port, "0.0.0.0")  # noqa: S104 - a container's scrape port
        unknown = set(names) - set(cortex.runners)
        if unknown:
            raise click.ClickException(f"unknown projection(s): {', '.join(sorted(unknown))}")
        for name in set(cortex.runners) - set(names or cortex.runners):
            del cortex.runners[name]
        cortex.start_projections()
        click.echo(f"following: {', '.join(cortex.runners)}")
        _wait_for_signal()


@projections.command("rebuild")
@click.argument("name")
def projections_rebuild(name: str) -> None:
    """Rebuild NAME into fresh tables from the whole log, then switch; queries keep answering."""
    from tqdm import tqdm

    if name not in PROJECTIONS:
        raise click.ClickException(f"unknown projection {name!r}; try `cortex projections list`")
    if name == "vectors":
        _rebuild_vectors()
        return
    with (
        _cortex() as cortex,
        tqdm(total=cortex.log.head(), unit="ev", desc=f"rebuild {name}") as bar,
    ):
        applied = rebuild(
            PROJECTIONS[name],
            feed=cortex.log,
            store=cortex.read_store,
            batch_size=cortex.settings.projections.batch_size,
            progress=bar.update,
        )
    click.echo(f"rebuilt {name} from {applied} events")


def _rebuild_vectors() -> None:
    """Re-embed every indexed chunk into a new collection, then switch the search alias."""
    from tqdm import tqdm

    from cortex.embeddings.reembed import reembed_all
    from projections.chunk_queries import indexed_chunks

    with _cortex() as cortex:
        model = cortex.embedding.model()
        if model is None:
            raise click.ClickException("no embedding model could be loaded; see the log")
        rebuild(  # the projector's own bookkeeping tables, from the log
            VectorsProjection,
            feed=cortex.log,
            store=cortex.read_store,
            build=lambda names: VectorsProjection(names, index=cortex.vectors),
        )
        total = 0
        after = ""
        while rows := indexed_chunks(cortex.read_store, after=after, limit=5000):
            total += len(rows)
            after = str(rows[-1]["id"])
        with tqdm(total=total, unit="chunk", desc=f"re-embed with {model.name}") as bar:
            collection, count = reembed_all(
                cortex.read_store, cortex.vectors, model, progress=bar.update
            )
    click.echo(f"re-embedded {count} chunks into {collection}; search now reads it")


@main.group()
def users() -> None:
    """Create and manage users (passwords are read from a prompt or stdin, never argv)."""


def _password() -> str:
    if sys.stdin.isatty():
        value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        return value
    return sys.stdin.readline().rstrip("\n")


def _register(username: str, roles: list[Role], *, bootstrap_admin: bool) -> None:
    with _cortex() as cortex:
        try:
            result = cortex.auth.register_user(
                username=username,
                password=_password(),
                roles=roles,
                at=datetime.now(UTC),
                bootstrap=bootstrap_admin,
            )
        except DomainError as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"created user {username} ({', '.join(roles)}): {result.id}")


@users.command("bootstrap-admin")
@click.option("--username", required=True)
def users_bootstrap_admin(username: str) -> None:
    """Create the first admin; refused once any user exists."""
    _register(username, [Role.ADMIN], bootstrap_admin=True)


@users.command("create")
@click.option("--username", required=True)
@click.option(
    "--role",
    "roles",
    multiple=True,
    default=["viewer"],
    type=click.Choice([role.value for role in Role]),
    show_default=True,
)
def users_create(username: str, roles: tuple[str, ...]) -> None:
    _register(username, [Role(role) for role in roles], bootstrap_admin=False)


@users.command("list")
def users_list() -> None:
    with _cortex() as cortex:
        for runner in cortex.runners.values():
            runner.catch_up()
        for user in auth_queries.list_users(cortex.read_store):
            state = "disabled" if user["disabled"] else "active"
            click.echo(f"{user['username']}\t{','.join(user['roles'])}\t{state}\t{user['id']}")


def _user_id(cortex: Cortex, username: str) -> UUID:
    user_id = cortex.auth.user_id(username)
    if user_id is None:
        raise click.ClickException(f"no user {username!r}")
    return user_id


@users.command("disable")
@click.option("--username", required=True)
@click.option("--enable", is_flag=True, help="Enable the user again instead.")
def users_disable(username: str, enable: bool) -> None:
    """Disable a user (their tokens stop working), or enable them again."""
    with _cortex() as cortex:
        cortex.auth.set_disabled(_user_id(cortex, username), not enable, at=datetime.now(UTC))
    click.echo(f"{'enabled' if enable else 'disabled'} {username}")


@users.command("grant")
@click.option("--username", required=True)
@click.option("--role", required=True, type=click.Choice([role.value for role in Role]))
@click.option("--revoke", is_flag=True, help="Revoke the role instead.")
def users_grant(username: str, role: str, revoke: bool) -> None:
    with _cortex() as cortex:
        user_id = _user_id(cortex, username)
        command = cortex.auth.revoke_role if revoke else cortex.auth.grant_role
        command(user_id, Role(role), at=datetime.now(UTC))
    click.echo(
        f"{'revoked' if revoke else 'granted'} {role} {'from' if revoke else 'to'} {username}"
    )


@main.group()
def events() -> None:
    """Read the event log: replay an aggregate, export the log."""


def _until(value: str | None) -> tuple[int | None, datetime | None]:
    if value is None:
        return None, None
    if value.isdigit():
        return int(value), None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("expected a version number or an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise click.BadParameter("give the time with its offset, e.g. 2026-01-31T12:00:00+00:00")
    return None, moment


def _state(aggregate: Any) -> dict[str, Any]:
    return {
        key.lstrip("_"): value for key, value in vars(aggregate).items() if key != "_pending_events"
    }


@events.command("replay")
@click.option("--aggregate", "aggregate_id", required=True, type=click.UUID)
@click.option("--until", "until", default=None, help="A version number or an ISO 8601 time.")
def events_replay(aggregate_id: UUID, until: str | None) -> None:
    """Print an aggregate's history and its state as it was then."""
    until_version, until_time = _until(until)
    with _cortex(migrate_read_store=False) as cortex:
        try:
            records, aggregate = cortex.history.replay(
                aggregate_id, until_version=until_version, until_time=until_time
            )
        except NotFound as error:
            raise click.ClickException(str(error)) from None
    for record in records:
        click.echo(msgspec.json.encode(record).decode())
    state = _state(aggregate) if aggregate is not None else None
    click.echo(msgspec.json.encode({"state": state}).decode())


@events.command("export")
@click.option("--since", default=0, type=click.IntRange(min=0), help="Export events after this.")
@click.option("--output", type=click.File("wb"), default="-", help="A file (default: stdout).")
def events_export(since: int, output: Any) -> None:
    """Write the log after POSITION as JSON lines."""
    encoder = msgspec.json.Encoder()
    with _cortex(migrate_read_store=False) as cortex:
        for record in cortex.history.export(since=since):
            output.write(encoder.encode(record) + b"\n")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
