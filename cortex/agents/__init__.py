"""Agent tools: the fixed registry (definitions, argument checks, permissions) and the adapters
that let the tools use the ideas read model and workflow runs."""
