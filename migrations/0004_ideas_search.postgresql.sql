-- Word search on title and body: containment of the query's words in the idea's word array.
-- Words are cut and case-folded in Python (projections/search_words.py) for both databases, so
-- PostgreSQL and SQLite agree on what matches.
CREATE INDEX IF NOT EXISTS ideas_search_idx
    ON ideas USING GIN (string_to_array(btrim(search_words), ' '));
