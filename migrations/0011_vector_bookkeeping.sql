-- What the vectors projector needs to know to clean Qdrant up safely, even when it replays:
-- each job's version, and each document's indexed version.
CREATE TABLE IF NOT EXISTS vector_jobs (
    job_id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL,
    version BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS vector_documents (
    document_id TEXT PRIMARY KEY,
    indexed_version BIGINT NOT NULL
);
