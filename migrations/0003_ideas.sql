CREATE TABLE IF NOT EXISTS ideas (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    votes BIGINT NOT NULL DEFAULT 0,
    -- The words of title and body, case-folded, each once, as " w1 w2 ... " (see search_words.py).
    search_words TEXT NOT NULL DEFAULT '',
    version BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ideas_project_created_idx ON ideas (project_id, created_at, id);
CREATE INDEX IF NOT EXISTS ideas_status_idx ON ideas (status);

CREATE TABLE IF NOT EXISTS idea_tags (
    idea_id TEXT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (idea_id, tag)
);
CREATE INDEX IF NOT EXISTS idea_tags_tag_idx ON idea_tags (tag, idea_id);

CREATE TABLE IF NOT EXISTS idea_links (
    idea_id TEXT NOT NULL,
    target_id TEXT NOT NULL,
    relation TEXT NOT NULL,
    PRIMARY KEY (idea_id, target_id, relation)
);
CREATE INDEX IF NOT EXISTS idea_links_target_idx ON idea_links (target_id);
