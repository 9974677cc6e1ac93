"""The composition root: settings choose the event store, read store and projection mode here."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from uuid import UUID

import dramatiq
import structlog

from cortex.agents.adapters import ReadModelIdeas, ServiceWorkflows, build_registry
from cortex.application.agent_ports import NoAgentQueue, ToolBox
from cortex.application.agents import AgentService
from cortex.application.auth import AuthService
from cortex.application.content_purge import ContentPurger
from cortex.application.documents import DocumentService
from cortex.application.embedding_pipeline import EmbeddingPipeline
from cortex.application.event_log import EventLog
from cortex.application.history import HistoryService
from cortex.application.ideas import IdeaService
from cortex.application.ingest_pipeline import ChunkingPolicy, IngestPipeline
from cortex.application.intake import DocumentIntake
from cortex.application.jobs import NoQueue
from cortex.application.model_calls import ModelCallService
from cortex.application.projects import ProjectService
from cortex.application.workflow_ports import NoStepQueue
from cortex.application.workflows import WorkflowService
from cortex.auth.keys import SigningKeys, load_signing_keys
from cortex.auth.rate_limit import AttemptLimiter
from cortex.auth.tokens import TokenIssuer
from cortex.context.answers import KnowledgeAnswers
from cortex.context.builder import ContextBuilder
from cortex.domain.roles import ProjectRole, Role
from cortex.embeddings.model import Vectors
from cortex.embeddings.provider import EmbeddingProvider
from cortex.embeddings.reembed import reembed_all
from cortex.eventstore.environment import (
    check_database,
    event_store_env,
    read_store_url,
    schema_lock,
)
from cortex.ingest.tokenizer import DEFAULT_MODEL_NAME, ChunkTokenizer
from cortex.lanes.config import lane_configs
from cortex.lanes.gateway import LaneGateway
from cortex.lanes.router import Router
from cortex.lanes.tokens import LaneTokenizer
from cortex.observability import metrics
from cortex.observability.readings import projection_lags, queue_depths
from cortex.observability.tracing import configure_tracing, flush_tracing
from cortex.search.rerank import Reranker
from cortex.search.service import KnowledgeSearch
from cortex.settings import Settings
from cortex.storage.base import ObjectStore
from cortex.storage.factory import open_object_store
from cortex.workers.actors import Actors, DramatiqQueue, register_actors
from cortex.workers.agent_actor import AgentRunQueue, register_agent_actor
from cortex.workers.broker import build_broker, is_in_memory
from cortex.workers.lane_actor import LaneQueue, register_lane_actor
from cortex.workers.reconciler import Reconciler
from cortex.workers.workflow_actor import WorkflowQueue, register_workflow_actor
from cortex.workflows.executors import StepExecutors
from projections import agent_queries, auth_queries, document_queries, workflow_queries
from projections.follow import PostgresWakeup
from projections.migrate import migrate
from projections.registry import PROJECTIONS
from projections.runner import EventWakeup, ProjectionRunner, Wakeup
from projections.store import ReadStore, open_read_store
from projections.vector_index import VectorIndex, holds_model
from projections.vectors import VectorsProjection

logger = structlog.get_logger("cortex.bootstrap")


@dataclass
class Cortex:
    """Everything a process needs, wired once."""

    settings: Settings
    log: EventLog
    read_store: ReadStore
    projects: ProjectService
    ideas: IdeaService
    history: HistoryService
    auth: AuthService
    tokens: TokenIssuer
    keys: SigningKeys
    login_limiter: AttemptLimiter
    runners: dict[str, ProjectionRunner]
    store: ObjectStore
    documents: DocumentService
    intake: DocumentIntake
    broker: dramatiq.Broker
    actors: Actors
    reconciler: Reconciler
    vectors: VectorIndex
    embedding: EmbeddingProvider
    embedder: EmbeddingPipeline
    search: KnowledgeSearch
    model_calls: ModelCallService
    context: ContextBuilder
    answers: KnowledgeAnswers
    workflows: WorkflowService
    agents: AgentService
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _wakeups: list[Wakeup] = field(default_factory=list)
    _worker: dramatiq.Worker | None = None

    def start_workers(self, queues: set[str] | None = None, threads: int | None = None) -> None:
        """Consume the queues in this process (Dramatiq worker threads) and run the reconciler."""
        consumed = set(queues or self.settings.in_process_queues)
        if not consumed:  # Dramatiq reads "no queues" as "every queue"
            self.start_reconciler()
            return
        self._worker = dramatiq.Worker(
            self.broker,
            queues=consumed,
            worker_threads=threads or self.settings.workers.threads,
            worker_timeout=100,
        )
        self._worker.start()
        self.start_reconciler()
        if "embed" in consumed:
            threading.Thread(
                target=self.reembed_if_model_changed, name="reembed", daemon=True
            ).start()

    def reembed_if_model_changed(self) -> bool:
        """Re-embed everything when the index holds another model's vectors (the configured
        model changed); search keeps answering from the old collection until the switch."""
        model = self.embedding.model()
        active = self.vectors.active_collection()
        if model is None or active is None or holds_model(active, model.name, model.dimension):
            return False
        logger.info("embedding_model_changed", previous=active, model=model.name)
        reembed_all(self.read_store, self.vectors, model)
        return True

    def start_reconciler(self) -> None:
        period = self.settings.ingest.reconcile_seconds
        # An in-memory queue starts empty: everything owed is re-sent at once.
        first = 0.0 if is_in_memory(self.broker) else period
        thread = threading.Thread(
            target=self.reconciler.run_forever,
            args=(self._stop,),
            kwargs={"first_stale": first, "period": period, "restarted": is_in_memory(self.broker)},
            name="reconciler",
            daemon=True,
        )
        self._threads.append(thread)
        thread.start()

    def start_projections(self) -> None:
        """Follow the log with every projector, one thread each, until close()."""
        for name, runner in self.runners.items():
            wakeup = self._wakeup()
            self._wakeups.append(wakeup)
            thread = threading.Thread(
                target=self._follow, args=(runner, wakeup), name=f"projection-{name}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _wakeup(self) -> Wakeup:
        if self.settings.uses_postgres:
            channel = getattr(self.log.recorder, "channel_name", "cortex_events")
            return PostgresWakeup(self.settings.database.url, channel)
        wakeup = EventWakeup()
        self.log.on_appended(wakeup.notify)
        return wakeup

    def _follow(self, runner: ProjectionRunner, wakeup: Wakeup) -> None:
        poll = self.settings.projections.poll_seconds
        while not self._stop.is_set():
            try:
                runner.follow(self._stop, wakeup, poll_seconds=poll)
            except Exception:
                logger.exception("projection_failed", projection=runner.position_name)
                self._stop.wait(1.0)

    def close(self) -> None:
        self._stop.set()
        flush_tracing()
        if self._worker is not None:
            self._worker.stop(timeout=10_000)
        for wakeup in self._wakeups:
            wakeup.close()
        for thread in self._threads:
            thread.join(timeout=10)
        self.broker.close()
        self.model_calls.gateway.close()
        self.vectors.close()
        self.store.close()
        self.read_store.close()
        self.log.close()


def bootstrap(settings: Settings, *, migrate_read_store: bool | None = None) -> Cortex:
    """Check the databases, build the applications and the projectors."""
    configure_tracing(settings.tracing)  # before anything that makes spans or HTTP clients
    check_database(settings.database.url, timeout=settings.database.connect_timeout)
    read_url = read_store_url(settings)
    if read_url != settings.database.url:
        check_database(
            read_url,
            timeout=settings.database.connect_timeout,
            variable="CORTEX_READ_DATABASE_URL",
        )
    with schema_lock(settings):
        log = EventLog(env=event_store_env(settings))
    read_store = open_read_store(
        read_url,
        pool_size=settings.database.pool_size,
        connect_timeout=settings.database.connect_timeout,
    )
    if settings.auto_migrate if migrate_read_store is None else migrate_read_store:
        applied = migrate(read_store)
        if applied:
            logger.info("migrations_applied", migrations=applied)
    keys = load_signing_keys(settings)
    tokens = TokenIssuer(
        keys,
        issuer=settings.auth.issuer,
        audience=settings.auth.audience,
        access_lifetime=timedelta(minutes=settings.auth.access_token_minutes),
    )
    vectors = open_vector_index(settings)
    runners = {
        name: ProjectionRunner(
            projection(index=vectors) if projection is VectorsProjection else projection(),
            feed=log,
            store=read_store,
            batch_size=settings.projections.batch_size,
        )
        for name, projection in PROJECTIONS.items()
    }
    metrics.report_projection_lag(
        lambda: projection_lags(log, {name: r.position for name, r in runners.items()})
    )
    store = open_object_store(settings)
    documents = DocumentService(log, NoQueue())
    ingest = settings.ingest
    # One tokenizer (loaded on first use) for chunking, routing and context budgets.
    chunk_tokenizer = cache(lambda: ChunkTokenizer(ingest.tokenizer_dir or None))

    def count_tokens(text: str) -> int:
        return len(chunk_tokenizer().tokenizer.encode(text, add_special_tokens=False).ids)

    pipeline = IngestPipeline(
        documents,
        store,
        chunk_tokenizer,
        ChunkingPolicy(ingest.chunk_tokens, ingest.chunk_overlap_tokens),
        max_attempts=ingest.max_attempts,
        on_stage=lambda stage, seconds: metrics.INGEST_STAGE_SECONDS.labels(stage).observe(seconds),
    )
    purger = ContentPurger(
        documents,
        store,
        lambda key, document_id: document_queries.storage_key_in_use(read_store, key, document_id),
        grace=timedelta(seconds=settings.storage.purge_grace_seconds),
    )
    metrics.report_ingest_jobs(lambda: document_queries.jobs_by_status(read_store))
    embedding = EmbeddingProvider(settings.embeddings)
    embedder = EmbeddingPipeline(
        documents,
        vectors,
        embedding.model,
        max_attempts=ingest.max_attempts,
        on_embedded=lambda count, seconds: metrics.EMBEDDED_CHUNKS.inc(count),
    )
    broker = build_broker(settings)
    metrics.report_queue_depth(lambda: queue_depths(broker))
    actors = register_actors(
        broker,
        pipeline,
        embedder,
        purger,
        max_attempts=ingest.max_attempts,
        backoff_seconds=ingest.retry_backoff_seconds,
    )
    documents.queue = DramatiqQueue(actors)
    model_calls = build_model_calls(settings, log, embedding, count_tokens)
    lane_actor = register_lane_actor(broker, model_calls)
    model_calls.queue = LaneQueue(lane_actor)
    search = KnowledgeSearch(read_store, vectors, embedding, Reranker(settings.embeddings.reranker))
    context = ContextBuilder(
        search, read_store, lane_tokenizer(settings, model_calls, count_tokens)
    )
    reconciler = Reconciler(
        lambda stale: document_queries.owed_jobs(read_store, stale),
        lambda stale: document_queries.owed_purges(read_store, stale),
        documents.queue,
    )
    answers = KnowledgeAnswers(context, model_calls)
    workflows = build_workflows(settings, log, read_store, model_calls, search, answers, broker)
    reconciler.resumers.append(
        lambda stale, restarted: workflows.resume_all(
            workflow_queries.running_runs(read_store, stale),
            at=datetime.now(UTC),
            restart=restarted,  # the queue started empty: no worker holds any step
        )
    )
    tools = build_registry(
        access=ReadModelAccess(read_store),
        search=search,
        answers=answers,
        ideas=IdeaService(log),
        lookup=ReadModelIdeas(read_store),
        workflows=ServiceWorkflows(log, workflows),
    )
    agents = build_agents(log, model_calls, tools, broker)
    # The longest a worker's step may record nothing: a model call, retried, then the fallback.
    slowest = max(config.timeout for config in model_calls.gateway.configs.values())
    busy = slowest * 2 * (settings.llm.retries + 1)
    reconciler.resumers.append(
        lambda stale, restarted: resume_agents(
            agents, read_store, stale, 0.0 if restarted else busy
        )
    )
    return Cortex(
        settings=settings,
        log=log,
        read_store=read_store,
        store=store,
        documents=documents,
        intake=DocumentIntake(documents, store),
        broker=broker,
        actors=actors,
        reconciler=reconciler,
        vectors=vectors,
        embedding=embedding,
        embedder=embedder,
        search=search,
        model_calls=model_calls,
        context=context,
        answers=answers,
        workflows=workflows,
        agents=agents,
        projects=ProjectService(log),
        ideas=IdeaService(log),
        history=HistoryService(log),
        auth=AuthService(
            log, tokens, refresh_lifetime=timedelta(days=settings.auth.refresh_token_days)
        ),
        tokens=tokens,
        keys=keys,
        login_limiter=AttemptLimiter(settings.auth.login_attempts_per_address, 15 * 60),
        runners=runners,
    )


def build_model_calls(
    settings: Settings,
    log: EventLog,
    embedding: EmbeddingProvider,
    count_tokens: Callable[[str], int],
) -> ModelCallService:
    """The lanes from the settings, the router (rules, and the embedding model's similarity to
    each lane's examples when one is loaded), and the service that audits every call."""
    llm = settings.llm
    configs = lane_configs(llm)
    gateway = LaneGateway(
        configs,
        retries=llm.retries,
        backoff_seconds=llm.retry_backoff_seconds,
        breaker_failures=llm.breaker_failures,
        breaker_cooldown_seconds=llm.breaker_cooldown_seconds,
    )

    def embed(texts: list[str]) -> Vectors | None:
        model = embedding.model()
        return None if model is None else model.embed_passages(texts).vectors

    router = Router(
        context_tokens={lane: config.context_tokens for lane, config in configs.items()},
        count_tokens=count_tokens,
        embed=embed if llm.route_with_embeddings else None,
    )
    return ModelCallService(log, gateway, router, audit_prompts=llm.audit_prompts)


def build_workflows(
    settings: Settings,
    log: EventLog,
    read_store: ReadStore,
    model_calls: ModelCallService,
    search: KnowledgeSearch,
    answers: KnowledgeAnswers,
    broker: dramatiq.Broker,
) -> WorkflowService:
    """Workflow runs: steps executed for the run's starter, sent on the ``workflows`` queue."""
    executors = StepExecutors(model_calls, search, answers, ReadModelAccess(read_store))
    workflows = WorkflowService(
        log, executors, NoStepQueue(), backoff_seconds=settings.ingest.retry_backoff_seconds
    )
    workflows.queue = WorkflowQueue(register_workflow_actor(broker, workflows))
    return workflows


def lane_tokenizer(
    settings: Settings, model_calls: ModelCallService, count_tokens: Callable[[str], int]
) -> LaneTokenizer:
    """The lanes' own token counts (their /tokenize), else the embedding model's tokenizer."""
    folder = settings.ingest.tokenizer_dir
    name = Path(folder).name if folder else DEFAULT_MODEL_NAME
    return LaneTokenizer(model_calls.gateway, count_tokens, name)


def open_vector_index(settings: Settings) -> VectorIndex:
    """Qdrant: a server when CORTEX_QDRANT_URL is set, else the local mode's folder (connected
    on first use, so processes that never touch vectors do not take its lock)."""
    from qdrant_client import QdrantClient

    qdrant = settings.qdrant
    if qdrant.url:
        return VectorIndex(
            lambda: QdrantClient(url=qdrant.url, api_key=qdrant.api_key or None, timeout=30),
            description=f"Qdrant server at {qdrant.url}",
        )
    folder = settings.qdrant_dir
    return VectorIndex(
        lambda: QdrantClient(path=folder), description=f"Qdrant local mode in {folder}"
    )


def build_agents(
    log: EventLog, model_calls: ModelCallService, tools: ToolBox, broker: dramatiq.Broker
) -> AgentService:
    """Agent runs: the tool-calling loop on the ``agents`` queue."""
    agents = AgentService(log, model_calls, tools, NoAgentQueue())
    agents.queue = AgentRunQueue(register_agent_actor(broker, agents))
    return agents


def resume_agents(
    agents: AgentService, read_store: ReadStore, stale_seconds: float, busy_seconds: float
) -> int:
    """Send open agent runs untouched for ``stale_seconds`` to a worker again; a running one
    only once untouched for ``busy_seconds``, longer than a live worker could stay silent (0
    after a restart of the in-memory queue: no worker holds any run)."""
    owed = agent_queries.open_runs(read_store, stale_seconds, busy_seconds)
    for run_id in owed:
        agents.resume(run_id)
    return len(owed)


ROLE_NAMES = frozenset(role.value for role in Role)


class ReadModelAccess:
    """The Access port over the auth and membership read models."""

    def __init__(self, read_store: ReadStore) -> None:
        self._store = read_store

    def roles(self, user_id: UUID) -> frozenset[Role] | None:
        user = auth_queries.get_user(self._store, str(user_id))
        if user is None or user["disabled"]:
            return None
        return frozenset(Role(role) for role in user["roles"] if role in ROLE_NAMES)

    def member_role(self, user_id: UUID, project_id: UUID) -> ProjectRole | None:
        role = auth_queries.project_role(self._store, str(project_id), str(user_id))
        return ProjectRole(role) if role else None
