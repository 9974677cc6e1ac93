"""Model lanes: five OpenAI-compatible or llama.cpp backends, a router that picks one from the
prompt, retries, circuit breakers and fallback to the default lane."""
