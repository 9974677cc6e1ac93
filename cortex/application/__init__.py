"""Application services: one per bounded context, over one shared event log."""
