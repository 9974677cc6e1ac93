ALTER TABLE ingest_jobs ADD COLUMN embedding_model TEXT NOT NULL DEFAULT '';
ALTER TABLE ingest_jobs ADD COLUMN truncated BIGINT;
ALTER TABLE ingest_jobs ADD COLUMN embed_started_at TEXT;
ALTER TABLE ingest_jobs ADD COLUMN embedded_at TEXT;
