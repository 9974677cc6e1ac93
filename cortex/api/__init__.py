"""Litestar HTTP edge: commands and queries over the applications and read models."""
