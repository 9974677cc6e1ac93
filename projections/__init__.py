"""Read-side projectors: each module owns its tables, the handlers that fill them, its queries."""
