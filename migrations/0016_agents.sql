-- Agents: definitions (the latest version), runs, and each run's transcript entries.
CREATE TABLE IF NOT EXISTS agents (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    lane TEXT NOT NULL,
    system_prompt TEXT NOT NULL,
    -- The tools' names, comma-separated, in the definition's order.
    tools TEXT NOT NULL,
    max_steps BIGINT NOT NULL,
    max_tokens BIGINT NOT NULL,
    timeout_seconds BIGINT NOT NULL,
    version BIGINT NOT NULL,
    defined_by TEXT,
    revised_by TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS agents_project_idx ON agents (project_id, created_at, id);

CREATE TABLE IF NOT EXISTS agent_runs (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    agent_version BIGINT NOT NULL,
    agent_name TEXT NOT NULL,
    lane TEXT NOT NULL,
    tools TEXT NOT NULL,
    max_steps BIGINT NOT NULL,
    max_tokens BIGINT NOT NULL,
    timeout_seconds BIGINT NOT NULL,
    started_by TEXT,
    input TEXT NOT NULL,
    -- queued | running | completed | stopped | failed
    status TEXT NOT NULL,
    stop_reason TEXT,
    stop_detail TEXT,
    stopped_by TEXT,
    error_kind TEXT,
    error TEXT,
    answer TEXT,
    steps BIGINT NOT NULL,
    tool_call_count BIGINT NOT NULL,
    prompt_tokens BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS agent_runs_project_idx ON agent_runs (project_id, started_at, id);
CREATE INDEX IF NOT EXISTS agent_runs_open_idx ON agent_runs (status, updated_at);

-- One row per transcript event: a message (system, user, assistant with its tool calls), a tool
-- call (name and arguments as the model wrote them) or a tool's result (or error).
CREATE TABLE IF NOT EXISTS agent_run_messages (
    run_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    -- message | tool_call | tool_result
    kind TEXT NOT NULL,
    role TEXT,
    content TEXT,
    tool_calls TEXT,
    tool_call_id TEXT,
    tool TEXT,
    arguments TEXT,
    result TEXT,
    error TEXT,
    model_call_id TEXT,
    prompt_tokens BIGINT,
    completion_tokens BIGINT,
    at TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
