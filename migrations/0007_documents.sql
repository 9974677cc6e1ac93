CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    title TEXT NOT NULL,
    filename TEXT NOT NULL,
    media_type TEXT NOT NULL,
    kind TEXT NOT NULL,
    language TEXT NOT NULL DEFAULT '',
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    latest_version BIGINT NOT NULL,
    indexed_version BIGINT NOT NULL DEFAULT 0,
    ingest_status TEXT NOT NULL,
    current_job_id TEXT,
    error TEXT NOT NULL DEFAULT '',
    duplicate_of TEXT,
    uploaded_by TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_project_created_idx ON documents (project_id, created_at, id);

CREATE TABLE IF NOT EXISTS document_versions (
    document_id TEXT NOT NULL,
    number BIGINT NOT NULL,
    filename TEXT NOT NULL,
    media_type TEXT NOT NULL,
    kind TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    uploaded_by TEXT,
    uploaded_at TEXT NOT NULL,
    PRIMARY KEY (document_id, number)
);
CREATE INDEX IF NOT EXISTS document_versions_key_idx ON document_versions (storage_key);

-- Deleted documents whose stored bytes are still to be purged (owed work for the reconciler).
CREATE TABLE IF NOT EXISTS storage_purges (
    document_id TEXT PRIMARY KEY,
    requested_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS ingest_jobs (
    id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    document_version BIGINT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    failed_stage TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    extractor TEXT NOT NULL DEFAULT '',
    tokenizer TEXT NOT NULL DEFAULT '',
    characters BIGINT,
    chunk_count BIGINT,
    requested_at TEXT NOT NULL,
    extract_started_at TEXT,
    extracted_at TEXT,
    chunk_started_at TEXT,
    chunked_at TEXT,
    finished_at TEXT,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ingest_jobs_project_idx ON ingest_jobs (project_id, requested_at, id);
CREATE INDEX IF NOT EXISTS ingest_jobs_document_idx ON ingest_jobs (document_id);
CREATE INDEX IF NOT EXISTS ingest_jobs_status_idx ON ingest_jobs (status, updated_at);

CREATE TABLE IF NOT EXISTS document_texts (
    job_id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    document_version BIGINT NOT NULL,
    text TEXT
);
CREATE INDEX IF NOT EXISTS document_texts_document_idx ON document_texts (document_id);

CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    document_version BIGINT NOT NULL,
    position BIGINT NOT NULL,
    start_offset BIGINT NOT NULL,
    end_offset BIGINT NOT NULL,
    heading TEXT NOT NULL DEFAULT '',
    token_count BIGINT NOT NULL,
    text TEXT NOT NULL,
    -- 1 once the chunk's version is the document's indexed one (searchable); 0 while in progress.
    indexed SMALLINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS chunks_document_idx ON chunks (document_id, document_version, position);
CREATE INDEX IF NOT EXISTS chunks_project_idx ON chunks (project_id);
