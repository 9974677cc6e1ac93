-- Keyword search over the indexed chunks: an English tsvector with a GIN index, ranked by
-- ts_rank_cd().
CREATE TABLE IF NOT EXISTS chunk_search (
    chunk_id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunk_search_document_idx ON chunk_search (document_id);
CREATE INDEX IF NOT EXISTS chunk_search_project_idx ON chunk_search (project_id);
CREATE INDEX IF NOT EXISTS chunk_search_body_idx
    ON chunk_search USING GIN (to_tsvector('english', body));
