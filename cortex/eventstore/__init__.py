"""Event store plumbing: msgspec serialisation and eventsourcing persistence settings."""
