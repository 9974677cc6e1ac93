"""Dramatiq: the broker, the actors that do owed work, and the reconciler that re-sends it."""
