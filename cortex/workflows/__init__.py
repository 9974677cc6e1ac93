"""Executing workflow steps: templates rendered in a sandbox, one executor per step kind."""
