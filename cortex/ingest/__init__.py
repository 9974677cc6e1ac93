"""Content handling for ingest: names, type sniffing, archives, extraction and chunking (pure)."""
