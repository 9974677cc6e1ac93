-- Where each projector has got to in the event log. Written in the same transaction as the
-- projector's read-model rows, so a position never runs ahead of (or behind) its tables.
CREATE TABLE IF NOT EXISTS projection_positions (
    name TEXT PRIMARY KEY,
    position BIGINT NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL DEFAULT ''
);
