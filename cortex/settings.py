"""Every CORTEX_* variable in one typed place, with the defaults of each profile.

``get_settings()`` reads the environment once. A bad value stops start-up with a message that names
the variable and what it expects.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Literal

import msgspec

Profile = Literal["local", "strix", "production"]
PROFILES: tuple[str, ...] = ("local", "strix", "production")


class SettingsError(ValueError):
    """A CORTEX_* variable has a value Cortex cannot use."""


class DatabaseSettings(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    read_url: str = ""
    pool_size: int = msgspec.field(default=5)
    connect_timeout: float = 3.0


class ServerSettings(msgspec.Struct, frozen=True, kw_only=True):
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 1_048_576
    # Where `cortex worker` and `cortex projections run` serve /metrics (0: they do not).
    metrics_port: int = 0


class ProjectionSettings(msgspec.Struct, frozen=True, kw_only=True):
    in_process: bool = True
    batch_size: int = 1000
    poll_seconds: float = 0.05
    read_wait_seconds: float = 5.0
    ready_max_lag: int = 10_000


class AuthSettings(msgspec.Struct, frozen=True, kw_only=True):
    secret: str = ""
    private_key_file: str = ""
    access_token_minutes: int = 15
    refresh_token_days: int = 7
    issuer: str = "cortex"
    audience: str = "cortex-api"
    skip_auth: bool = False
    login_attempts_per_address: int = 30


class StorageSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Where originals are kept: a local folder, or an S3-compatible bucket when one is named."""

    dir: str = ""
    bucket: str = ""
    endpoint_url: str = ""
    access_key: str = ""
    secret_key: str = ""
    region: str = "us-east-1"
    purge_grace_seconds: float = 300.0


class IngestSettings(msgspec.Struct, frozen=True, kw_only=True):
    max_bytes: int = 50 * 1024 * 1024
    max_files: int = 100
    max_archive_members: int = 1000
    max_archive_bytes: int = 200 * 1024 * 1024
    max_attempts: int = 3
    retry_backoff_seconds: float = 2.0
    reconcile_seconds: float = 60.0
    chunk_tokens: int = 200
    chunk_overlap_tokens: int = 32
    tokenizer_dir: str = ""


class WorkerSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Dramatiq: the Redis broker when a URL is given, else an in-process broker and worker."""

    redis_url: str = ""
    in_process: bool = True
    threads: int = 2


class EmbeddingSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The fallback chain (first that loads wins) and where to run it."""

    models: str = "jinaai/jina-embeddings-v2-base-code,microsoft/codebert-base,all-MiniLM-L6-v2"
    model_dir: str = ""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    reranker: str = "cross-encoder/ms-marco-MiniLM-L-6-v2"

    @property
    def chain(self) -> tuple[str, ...]:
        return tuple(name.strip() for name in self.models.split(",") if name.strip())


class QdrantSettings(msgspec.Struct, frozen=True, kw_only=True):
    """A Qdrant server when a URL is given, else Qdrant's local mode in a folder."""

    url: str = ""
    api_key: str = ""
    dir: str = ""


class LaneSettings(msgspec.Struct, frozen=True, kw_only=True):
    """One lane's CORTEX_LANE_<NAME>_*; what is left unset comes from the default lane."""

    url: str = ""
    model: str = ""
    backend: Literal["", "openai", "llama_cpp"] = ""
    timeout: float = 0.0
    max_tokens: int = 0
    context_tokens: int = 0
    api_key: str = ""

    @property
    def is_set(self) -> bool:
        return bool(self.url or self.model or self.backend)


class LlmSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The default lane (CORTEX_LLM_*), each lane's own settings, and how calls are made."""

    base_url: str = ""
    model: str = ""
    backend: Literal["openai", "llama_cpp"] = "openai"
    api_key: str = ""
    timeout: float = 60.0
    max_tokens: int = 512
    context_tokens: int = 8192
    llama_cpp_binary: str = ""
    llama_cpp_model_path: str = ""
    retries: int = 2
    retry_backoff_seconds: float = 0.5
    breaker_failures: int = 3
    breaker_cooldown_seconds: float = 30.0
    audit_prompts: bool = False
    route_with_embeddings: bool = True
    orchestrator: LaneSettings = LaneSettings()
    coder: LaneSettings = LaneSettings()
    super_reader: LaneSettings = LaneSettings()
    fast_rag: LaneSettings = LaneSettings()
    governance: LaneSettings = LaneSettings()


class TracingSettings(msgspec.Struct, frozen=True, kw_only=True):
    """OpenTelemetry: off unless enabled; spans go to an OTLP/HTTP collector."""

    enabled: bool = False
    exporter_endpoint: str = ""  # e.g. http://otel-collector:4318 (/v1/traces is added)
    service_name: str = "cortex"
    sample_ratio: float = 1.0


class LogSettings(msgspec.Struct, frozen=True, kw_only=True):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json: bool = True


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    profile: Profile = "local"
    var_dir: str = "var"
    auto_migrate: bool = True
    database: DatabaseSettings
    server: ServerSettings = ServerSettings()
    projections: ProjectionSettings = ProjectionSettings()
    log: LogSettings = LogSettings()
    auth: AuthSettings = AuthSettings()
    storage: StorageSettings = StorageSettings()
    ingest: IngestSettings = IngestSettings()
    workers: WorkerSettings = WorkerSettings()
    embeddings: EmbeddingSettings = EmbeddingSettings()
    qdrant: QdrantSettings = QdrantSettings()
    llm: LlmSettings = LlmSettings()
    tracing: TracingSettings = TracingSettings()

    @property
    def uses_postgres(self) -> bool:
        return self.database.url.startswith(("postgresql://", "postgres://"))

    @property
    def storage_dir(self) -> str:
        return self.storage.dir or f"{self.var_dir}/storage"

    @property
    def qdrant_dir(self) -> str:
        return self.qdrant.dir or f"{self.var_dir}/qdrant"

    @property
    def in_process_queues(self) -> frozenset[str]:
        """Queues this server consumes itself: every queue without Redis workers; with them
        and Qdrant's local mode (one process only), the embedding that writes to it."""
        if self.workers.in_process:
            return frozenset(WORK_QUEUES)
        return frozenset() if self.qdrant.url else frozenset({"embed"})


# Every Dramatiq queue: the worker command consumes them all unless told otherwise.
WORK_QUEUES = ("ingest", "embed", "lanes", "workflows", "agents")

# Environment variable -> path in the Settings tree. The README's configuration table follows it.
LANE_NAMES = ("ORCHESTRATOR", "CODER", "SUPER_READER", "FAST_RAG", "GOVERNANCE")
VARIABLES: dict[str, tuple[str, ...]] = {
    "CORTEX_PROFILE": ("profile",),
    "CORTEX_VAR_DIR": ("var_dir",),
    "CORTEX_AUTO_MIGRATE": ("auto_migrate",),
    "CORTEX_DATABASE_URL": ("database", "url"),
    "CORTEX_READ_DATABASE_URL": ("database", "read_url"),
    "CORTEX_DATABASE_POOL_SIZE": ("database", "pool_size"),
    "CORTEX_DATABASE_CONNECT_TIMEOUT": ("database", "connect_timeout"),
    "CORTEX_HOST": ("server", "host"),
    "CORTEX_PORT": ("server", "port"),
    "CORTEX_MAX_BODY_BYTES": ("server", "max_body_bytes"),
    "CORTEX_METRICS_PORT": ("server", "metrics_port"),
    "CORTEX_PROJECTIONS_IN_PROCESS": ("projections", "in_process"),
    "CORTEX_PROJECTION_BATCH_SIZE": ("projections", "batch_size"),
    "CORTEX_PROJECTION_POLL_SECONDS": ("projections", "poll_seconds"),
    "CORTEX_READ_WAIT_SECONDS": ("projections", "read_wait_seconds"),
    "CORTEX_READY_MAX_LAG": ("projections", "ready_max_lag"),
    "CORTEX_AUTH_SECRET": ("auth", "secret"),
    "CORTEX_AUTH_PRIVATE_KEY_FILE": ("auth", "private_key_file"),
    "CORTEX_ACCESS_TOKEN_MINUTES": ("auth", "access_token_minutes"),
    "CORTEX_REFRESH_TOKEN_DAYS": ("auth", "refresh_token_days"),
    "CORTEX_AUTH_ISSUER": ("auth", "issuer"),
    "CORTEX_AUTH_AUDIENCE": ("auth", "audience"),
    "CORTEX_SKIP_AUTH": ("auth", "skip_auth"),
    "CORTEX_LOGIN_ATTEMPTS_PER_ADDRESS": ("auth", "login_attempts_per_address"),
    "CORTEX_STORAGE_DIR": ("storage", "dir"),
    "CORTEX_STORAGE_BUCKET": ("storage", "bucket"),
    "CORTEX_STORAGE_ENDPOINT_URL": ("storage", "endpoint_url"),
    "CORTEX_STORAGE_ACCESS_KEY": ("storage", "access_key"),
    "CORTEX_STORAGE_SECRET_KEY": ("storage", "secret_key"),
    "CORTEX_STORAGE_REGION": ("storage", "region"),
    "CORTEX_STORAGE_PURGE_GRACE_SECONDS": ("storage", "purge_grace_seconds"),
    "CORTEX_INGEST_MAX_BYTES": ("ingest", "max_bytes"),
    "CORTEX_INGEST_MAX_FILES": ("ingest", "max_files"),
    "CORTEX_INGEST_MAX_ARCHIVE_MEMBERS": ("ingest", "max_archive_members"),
    "CORTEX_INGEST_MAX_ARCHIVE_BYTES": ("ingest", "max_archive_bytes"),
    "CORTEX_INGEST_MAX_ATTEMPTS": ("ingest", "max_attempts"),
    "CORTEX_INGEST_RETRY_BACKOFF_SECONDS": ("ingest", "retry_backoff_seconds"),
    "CORTEX_INGEST_RECONCILE_SECONDS": ("ingest", "reconcile_seconds"),
    "CORTEX_CHUNK_TOKENS": ("ingest", "chunk_tokens"),
    "CORTEX_CHUNK_OVERLAP_TOKENS": ("ingest", "chunk_overlap_tokens"),
    "CORTEX_TOKENIZER_DIR": ("ingest", "tokenizer_dir"),
    "CORTEX_REDIS_URL": ("workers", "redis_url"),
    "CORTEX_WORKERS_IN_PROCESS": ("workers", "in_process"),
    "CORTEX_WORKER_THREADS": ("workers", "threads"),
    "CORTEX_EMBEDDING_MODELS": ("embeddings", "models"),
    "CORTEX_EMBEDDING_MODEL_DIR": ("embeddings", "model_dir"),
    "CORTEX_EMBEDDING_DEVICE": ("embeddings", "device"),
    "CORTEX_RERANKER_MODEL": ("embeddings", "reranker"),
    "CORTEX_QDRANT_URL": ("qdrant", "url"),
    "CORTEX_QDRANT_API_KEY": ("qdrant", "api_key"),
    "CORTEX_QDRANT_DIR": ("qdrant", "dir"),
    "CORTEX_LLM_BASE_URL": ("llm", "base_url"),
    "CORTEX_LLM_MODEL": ("llm", "model"),
    "CORTEX_LLM_BACKEND": ("llm", "backend"),
    "CORTEX_LLM_API_KEY": ("llm", "api_key"),
    "CORTEX_LLM_TIMEOUT": ("llm", "timeout"),
    "CORTEX_LLM_MAX_TOKENS": ("llm", "max_tokens"),
    "CORTEX_LLM_CONTEXT_TOKENS": ("llm", "context_tokens"),
    "CORTEX_LLAMA_CPP_BINARY": ("llm", "llama_cpp_binary"),
    "CORTEX_LLAMA_CPP_MODEL_PATH": ("llm", "llama_cpp_model_path"),
    "CORTEX_LLM_RETRIES": ("llm", "retries"),
    "CORTEX_LLM_RETRY_BACKOFF_SECONDS": ("llm", "retry_backoff_seconds"),
    "CORTEX_LLM_BREAKER_FAILURES": ("llm", "breaker_failures"),
    "CORTEX_LLM_BREAKER_COOLDOWN_SECONDS": ("llm", "breaker_cooldown_seconds"),
    "CORTEX_AUDIT_PROMPTS": ("llm", "audit_prompts"),
    "CORTEX_ROUTER_EMBEDDINGS": ("llm", "route_with_embeddings"),
    **{
        f"CORTEX_LANE_{lane}_{key.upper()}": ("llm", lane.lower(), key)
        for lane in LANE_NAMES
        for key in ("url", "model", "backend", "timeout", "max_tokens", "context_tokens", "api_key")
    },
    "CORTEX_ENABLE_TRACING": ("tracing", "enabled"),
    "CORTEX_OTEL_EXPORTER_ENDPOINT": ("tracing", "exporter_endpoint"),
    "CORTEX_OTEL_SERVICE_NAME": ("tracing", "service_name"),
    "CORTEX_OTEL_SAMPLE_RATIO": ("tracing", "sample_ratio"),
    "CORTEX_LOG_LEVEL": ("log", "level"),
    "CORTEX_LOG_JSON": ("log", "json"),
}

# What differs between profiles when the variable is not set.
PROFILE_DEFAULTS: dict[str, dict[str, str]] = {
    "local": {"CORTEX_SKIP_AUTH": "true"},
    "strix": {},
    "production": {
        "CORTEX_AUTO_MIGRATE": "false",
        "CORTEX_PROJECTIONS_IN_PROCESS": "false",
        "CORTEX_WORKERS_IN_PROCESS": "false",
    },
}

_BOUNDS: dict[str, tuple[float, float]] = {
    "CORTEX_PORT": (1, 65535),
    "CORTEX_METRICS_PORT": (0, 65535),
    "CORTEX_DATABASE_POOL_SIZE": (1, 200),
    "CORTEX_DATABASE_CONNECT_TIMEOUT": (0.1, 120),
    "CORTEX_MAX_BODY_BYTES": (1024, 1 << 30),
    "CORTEX_PROJECTION_BATCH_SIZE": (1, 100_000),
    "CORTEX_PROJECTION_POLL_SECONDS": (0.001, 60),
    "CORTEX_READ_WAIT_SECONDS": (0, 600),
    "CORTEX_READY_MAX_LAG": (0, 1 << 62),
    "CORTEX_ACCESS_TOKEN_MINUTES": (1, 24 * 60),
    "CORTEX_REFRESH_TOKEN_DAYS": (1, 365),
    "CORTEX_LOGIN_ATTEMPTS_PER_ADDRESS": (1, 100_000),
    "CORTEX_STORAGE_PURGE_GRACE_SECONDS": (0, 30 * 86400),
    "CORTEX_INGEST_MAX_BYTES": (1, 1 << 40),
    "CORTEX_INGEST_MAX_FILES": (1, 10_000),
    "CORTEX_INGEST_MAX_ARCHIVE_MEMBERS": (1, 1_000_000),
    "CORTEX_INGEST_MAX_ARCHIVE_BYTES": (1, 1 << 42),
    "CORTEX_INGEST_MAX_ATTEMPTS": (1, 100),
    "CORTEX_INGEST_RETRY_BACKOFF_SECONDS": (0, 3600),
    "CORTEX_INGEST_RECONCILE_SECONDS": (0.1, 86400),
    "CORTEX_CHUNK_TOKENS": (16, 8192),
    "CORTEX_CHUNK_OVERLAP_TOKENS": (0, 4096),
    "CORTEX_WORKER_THREADS": (1, 256),
    "CORTEX_OTEL_SAMPLE_RATIO": (0, 1),
    "CORTEX_LLM_TIMEOUT": (0.1, 3600),
    "CORTEX_LLM_MAX_TOKENS": (1, 1 << 20),
    "CORTEX_LLM_CONTEXT_TOKENS": (256, 1 << 24),
    "CORTEX_LLM_RETRIES": (0, 10),
    "CORTEX_LLM_RETRY_BACKOFF_SECONDS": (0, 60),
    "CORTEX_LLM_BREAKER_FAILURES": (1, 1000),
    "CORTEX_LLM_BREAKER_COOLDOWN_SECONDS": (0, 3600),
    **{
        f"CORTEX_LANE_{lane}_{key}": bounds
        for lane in LANE_NAMES
        for key, bounds in (
            ("TIMEOUT", (0, 3600.0)),
            ("MAX_TOKENS", (0, 1 << 20)),
            ("CONTEXT_TOKENS", (0, 1 << 24)),
        )
    },
}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from an environment mapping (os.environ by default)."""
    env = dict(os.environ if environ is None else environ)
    profile = env.get("CORTEX_PROFILE", "local").strip().lower() or "local"
    if profile not in PROFILES:
        raise SettingsError(
            f"CORTEX_PROFILE: expected one of {', '.join(PROFILES)}, got {profile!r}"
        )
    values = {**PROFILE_DEFAULTS[profile], **{k: v for k, v in env.items() if k in VARIABLES}}
    values["CORTEX_PROFILE"] = profile
    var_dir = values.get("CORTEX_VAR_DIR", "var")
    values.setdefault("CORTEX_DATABASE_URL", f"sqlite:///{var_dir}/cortex.sqlite3")
    if "CORTEX_EMBEDDING_DEVICE" in values:
        values["CORTEX_EMBEDDING_DEVICE"] = values["CORTEX_EMBEDDING_DEVICE"].lower()
    if "CORTEX_LOG_LEVEL" in values:
        values["CORTEX_LOG_LEVEL"] = values["CORTEX_LOG_LEVEL"].upper()

    tree: dict[str, Any] = {}
    for name, raw in values.items():
        node = tree
        *parents, leaf = VARIABLES[name]
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = raw.strip()
    try:
        settings = msgspec.convert(tree, Settings, strict=False)
    except msgspec.ValidationError as error:
        raise SettingsError(_explain(error)) from None
    _check(settings, values)
    if settings.profile != "local" and settings.auth.skip_auth:
        # Honoured only in the local profile; forced off elsewhere (bootstrap logs a warning).
        settings = msgspec.structs.replace(
            settings, auth=msgspec.structs.replace(settings.auth, skip_auth=False)
        )
    return settings


def _explain(error: msgspec.ValidationError) -> str:
    message = str(error)
    path = message.rpartition("at `$.")[2].rstrip("`")
    parts = tuple(path.split("."))
    for name, variable_path in VARIABLES.items():
        if variable_path == parts:
            reason = message.partition(" - at ")[0]
            return f"{name}: {reason.lower().replace('`', '')}"
    return f"invalid settings: {message}"


def _check(settings: Settings, values: Mapping[str, str]) -> None:
    for name, (low, high) in _BOUNDS.items():
        node: Any = settings
        for part in VARIABLES[name]:
            node = getattr(node, part)
        if not low <= node <= high:
            raise SettingsError(f"{name}: expected a number from {low:g} to {high:g}, got {node}")
    for name in ("CORTEX_DATABASE_URL", "CORTEX_READ_DATABASE_URL"):
        url = values.get(name, "")
        if url and not url.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise SettingsError(
                f"{name}: expected sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE, "
                f"got {url.split('://')[0]}://..."
            )
    if settings.ingest.chunk_overlap_tokens * 2 > settings.ingest.chunk_tokens:
        raise SettingsError(
            "CORTEX_CHUNK_OVERLAP_TOKENS: must be at most half of CORTEX_CHUNK_TOKENS, "
            f"got {settings.ingest.chunk_overlap_tokens} of {settings.ingest.chunk_tokens}"
        )
    redis_url = settings.workers.redis_url
    if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError("CORTEX_REDIS_URL: expected redis://HOST:PORT/DB")
    for name in ("CORTEX_LLM_BASE_URL", *(f"CORTEX_LANE_{lane}_URL" for lane in LANE_NAMES)):
        url = values.get(name, "").strip()
        if url and not url.startswith(("http://", "https://")):
            raise SettingsError(f"{name}: expected http(s)://HOST:PORT/v1, got {url[:40]!r}")
    if settings.profile == "production" and not settings.uses_postgres:
        raise SettingsError("CORTEX_DATABASE_URL: the production profile needs postgresql://...")
    if settings.profile != "local" and len(settings.auth.secret) < 32:
        raise SettingsError(
            f"CORTEX_AUTH_SECRET: the {settings.profile} profile needs 32+ characters"
        )
    if settings.profile == "production" and not settings.qdrant.url:
        raise SettingsError(
            "CORTEX_QDRANT_URL: the production profile needs a Qdrant server "
            "(the local mode serves one process)"
        )
    if not settings.workers.in_process and not redis_url:
        raise SettingsError(
            "CORTEX_WORKERS_IN_PROCESS: workers out of process need CORTEX_REDIS_URL"
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return load_settings()
