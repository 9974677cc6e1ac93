"""Each lane's effective configuration from the settings: the default lane from CORTEX_LLM_*
(overridden by CORTEX_LANE_ORCHESTRATOR_*), every other lane from its own CORTEX_LANE_<NAME>_*
with what it leaves unset taken from the default lane."""

from __future__ import annotations

from dataclasses import replace

from cortex.lanes.types import DEFAULT_LANE, Lane, LaneConfig
from cortex.settings import LaneSettings, LlmSettings

# The long-context lane's reason to exist; what its server really takes is its own setting.
SUPER_READER_CONTEXT_TOKENS = 131_072


def lane_configs(llm: LlmSettings) -> dict[Lane, LaneConfig]:
    default = _default_lane(llm)
    configs = {DEFAULT_LANE: default}
    for lane in Lane:
        if lane is not DEFAULT_LANE:
            configs[lane] = _lane(lane, _own_settings(llm, lane), default, llm)
    return configs


def _own_settings(llm: LlmSettings, lane: Lane) -> LaneSettings:
    own: LaneSettings = getattr(llm, lane.value.lower())
    return own


def _default_lane(llm: LlmSettings) -> LaneConfig:
    own = llm.orchestrator
    backend = own.backend or llm.backend
    model = own.model or llm.model
    model_path = (own.model or llm.llama_cpp_model_path) if backend == "llama_cpp" else ""
    config = LaneConfig(
        lane=DEFAULT_LANE,
        backend=backend,
        base_url=(own.url or llm.base_url).rstrip("/"),
        model=model or model_path.rsplit("/", 1)[-1],
        timeout=own.timeout or llm.timeout,
        max_tokens=own.max_tokens or llm.max_tokens,
        context_tokens=own.context_tokens or llm.context_tokens,
        binary=llm.llama_cpp_binary if backend == "llama_cpp" else "",
        model_path=model_path,
        api_key=own.api_key or llm.api_key,
    )
    return _with_configured(config)


def _lane(lane: Lane, own: LaneSettings, default: LaneConfig, llm: LlmSettings) -> LaneConfig:
    long_context = SUPER_READER_CONTEXT_TOKENS if lane is Lane.SUPER_READER else 0
    if not own.is_set:  # nothing of its own: the default lane answers for it
        return LaneConfig(
            lane=lane,
            backend=default.backend,
            base_url=default.base_url,
            model=default.model,
            timeout=own.timeout or default.timeout,
            max_tokens=own.max_tokens or default.max_tokens,
            context_tokens=default.context_tokens,
            binary=default.binary,
            model_path=default.model_path,
            api_key=default.api_key,
            configured=default.configured,
            own=False,
        )
    backend = own.backend or default.backend
    model_path = ""
    if backend == "llama_cpp":
        model_path = own.model or default.model_path or llm.llama_cpp_model_path
    config = LaneConfig(
        lane=lane,
        backend=backend,
        base_url=(own.url or default.base_url).rstrip("/"),
        model=(own.model or default.model)
        if backend == "openai"
        else model_path.rsplit("/", 1)[-1],
        timeout=own.timeout or default.timeout,
        max_tokens=own.max_tokens or default.max_tokens,
        context_tokens=own.context_tokens or long_context or default.context_tokens,
        binary=llm.llama_cpp_binary if backend == "llama_cpp" else "",
        model_path=model_path,
        api_key=own.api_key or (default.api_key if not own.url else ""),
    )
    return _with_configured(config)


def _with_configured(config: LaneConfig) -> LaneConfig:
    if config.backend == "llama_cpp":
        configured = bool(config.binary and config.model_path)
    else:
        configured = bool(config.base_url and config.model)
    return config if configured else replace(config, configured=False)
