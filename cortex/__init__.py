"""Cortex: an event-sourced backend for an AI knowledge workspace."""

__version__ = "0.1.0"
