"""Model lanes: five OpenAI-compatible or llama.cpp backends, a router that picks one from the
prompt, retries, circuit breakers and fallback to the default lane.

``from cortex.lanes import generate_text`` is the one-line way to call them.
"""

from cortex.lanes.calls import agenerate_text, generate_text
from cortex.lanes.types import Lane

__all__ = ["Lane", "agenerate_text", "generate_text"]
