-- Full-text search on title and body ('simple' configuration: whole words, no stemming, so that
-- PostgreSQL and the SQLite fallback agree on what matches).
CREATE INDEX IF NOT EXISTS ideas_search_idx
    ON ideas USING GIN (to_tsvector('simple', title || ' ' || body));
