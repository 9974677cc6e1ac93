"""Context for questions about a project's knowledge: packs of cited chunks and ideas that fit a
token budget (builder), and answers from the FAST_RAG lane that cite them (answers)."""
