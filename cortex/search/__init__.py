"""Knowledge search: dense (Qdrant), keyword (SQL full text) and their fusion."""
