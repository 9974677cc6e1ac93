-- Workflows: definitions (the latest version), runs, and each run's steps.
CREATE TABLE IF NOT EXISTS workflows (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    -- The definition as JSON (name, inputs_schema, steps).
    definition TEXT NOT NULL,
    defined_by TEXT,
    defined_at TEXT NOT NULL,
    updated_by TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS workflows_project_idx ON workflows (project_id, defined_at, id);

CREATE TABLE IF NOT EXISTS workflow_runs (
    id TEXT PRIMARY KEY,
    workflow_id TEXT NOT NULL,
    workflow_version BIGINT NOT NULL,
    workflow_name TEXT NOT NULL,
    project_id TEXT NOT NULL,
    started_by TEXT,
    status TEXT NOT NULL,
    inputs TEXT NOT NULL,
    error TEXT,
    failed_step TEXT,
    cancelled_by TEXT,
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS workflow_runs_project_idx ON workflow_runs (project_id, started_at, id);
CREATE INDEX IF NOT EXISTS workflow_runs_status_idx ON workflow_runs (status, updated_at);

CREATE TABLE IF NOT EXISTS workflow_run_steps (
    run_id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    kind TEXT NOT NULL,
    -- JSON array of step ids.
    depends_on TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    -- JSON object, once completed.
    output TEXT,
    error TEXT,
    message TEXT,
    decided_by TEXT,
    comment TEXT,
    started_at TEXT,
    finished_at TEXT,
    PRIMARY KEY (run_id, step_id)
);
