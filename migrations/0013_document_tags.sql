-- Document tags: the documents read model lists and filters on them; the vectors projector keeps
-- its own copy so it can put them on every point of the document (rebuilt independently).
CREATE TABLE IF NOT EXISTS document_tags (
    document_id TEXT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (document_id, tag)
);
CREATE INDEX IF NOT EXISTS document_tags_tag_idx ON document_tags (tag, document_id);

CREATE TABLE IF NOT EXISTS vector_document_tags (
    document_id TEXT PRIMARY KEY,
    -- The tags as a JSON array.
    tags TEXT NOT NULL
);
