"""Embedding models behind one interface, and the fallback chain that picks the first that loads."""
