"""The Litestar app factory: routes, problem responses, docs, and the Cortex lifecycle."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from litestar import Litestar
from litestar.di import Provide

from cortex.api.controllers.agent_runs import AgentRunController
from cortex.api.controllers.agents import AgentController
from cortex.api.controllers.auth import AuthController, JwksController
from cortex.api.controllers.context import ContextController
from cortex.api.controllers.documents import DocumentController
from cortex.api.controllers.events import EventController
from cortex.api.controllers.health import HealthController
from cortex.api.controllers.ideas import IdeaController
from cortex.api.controllers.ingest_jobs import IngestJobController
from cortex.api.controllers.knowledge import KnowledgeController
from cortex.api.controllers.lanes import LanesController
from cortex.api.controllers.metrics import MetricsController
from cortex.api.controllers.projects import ProjectController
from cortex.api.controllers.system import SystemController
from cortex.api.controllers.workflow_runs import WorkflowRunController
from cortex.api.controllers.workflows import WorkflowController
from cortex.api.dependencies import provide_cortex
from cortex.api.docs import openapi_config, static_assets
from cortex.api.problems import EXCEPTION_HANDLERS
from cortex.api.security import authorize, close_async_reader, provide_principal
from cortex.api.tracing import trace_requests
from cortex.bootstrap import Cortex, bootstrap
from cortex.lanes import calls as lane_calls
from cortex.observability.http_metrics import measure_requests
from cortex.observability.logging import configure_logging
from cortex.observability.request_logging import log_requests
from cortex.settings import Settings, get_settings


def create_app(*, cortex: Cortex | None = None, settings: Settings | None = None) -> Litestar:
    """Build the app. Given a Cortex, the caller owns its lifecycle; otherwise the app does."""
    settings = cortex.settings if cortex is not None else settings or get_settings()
    configure_logging(settings.log)
    if settings.auth.skip_auth:
        structlog.get_logger("cortex.api").warning(
            "auth_skipped", reason="CORTEX_SKIP_AUTH is on (local profile): every route is open"
        )

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if cortex is not None:
            app.state.cortex = cortex
            yield
            return
        owned = bootstrap(settings)
        owned.embedding.load_in_background()  # seconds of work; /readyz says "loading" meanwhile
        if settings.projections.in_process:
            owned.start_projections()
        if settings.in_process_queues:
            owned.start_workers()
        app.state.cortex = owned
        lane_calls.use(owned)  # generate_text() in this process uses the app's lanes
        # What start-up built (modules, settings, pools) lives as long as the process: out of
        # the collector's way, its full collections stop walking it (p99 of GET /api/ideas
        # 136 -> 47 ms in benchmarks/bench_http.py).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            lane_calls.use(None)
            owned.close()

    app = Litestar(
        route_handlers=[
            ProjectController,
            IdeaController,
            DocumentController,
            IngestJobController,
            KnowledgeController,
            ContextController,
            LanesController,
            AgentController,
            AgentRunController,
            WorkflowController,
            WorkflowRunController,
            MetricsController,
            EventController,
            HealthController,
            SystemController,
            AuthController,
            JwksController,
            static_assets(),
        ],
        guards=[authorize],
        dependencies={
            "cortex": Provide(provide_cortex, sync_to_thread=False),
            "principal": Provide(provide_principal, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=openapi_config(),
        lifespan=[lifespan],
        on_shutdown=[close_async_reader],
        request_max_body_size=settings.server.max_body_bytes,
        logging_config=None,  # configure_logging owns logging (Litestar's would replace it)
    )
    # Outermost, so routing's 404 and 405 get a request id, a line and a span too; the span
    # wraps the log so the line carries its trace id.
    return trace_requests(log_requests(measure_requests(app)), settings.tracing)
