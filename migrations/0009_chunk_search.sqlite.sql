-- Keyword search over the indexed chunks: FTS5 with Porter stemming, ranked by bm25().
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_search USING fts5(
    chunk_id UNINDEXED,
    document_id UNINDEXED,
    project_id UNINDEXED,
    body,
    tokenize = 'porter unicode61'
);
