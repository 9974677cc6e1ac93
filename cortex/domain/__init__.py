"""Aggregates and their events: pure Python on eventsourcing.domain."""
