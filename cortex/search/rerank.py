"""Cross-encoder reranking, when a reranker model is available offline (never faked)."""

from __future__ import annotations

import threading
from typing import Any

import structlog

logger = structlog.get_logger("cortex.search")


class Reranker:
    """Loads the configured cross-encoder on first use; says why when it cannot."""

    def __init__(self, model: str) -> None:
        self.model_name = model
        self._lock = threading.Lock()
        self._model: Any = None
        self.unavailable: str | None = None if model else "no reranker model is configured"

    def scores(self, query: str, texts: list[str]) -> list[float] | None:
        """Relevance of each text to the query, or None when no reranker can be loaded."""
        with self._lock:
            if self._model is None and self.unavailable is None:
                self._load()
            model = self._model
        if model is None:
            return None
        return [float(score) for score in model.predict([(query, text) for text in texts])]

    def _load(self) -> None:
        try:
            from sentence_transformers import CrossEncoder

            self._model = CrossEncoder(self.model_name, local_files_only=True)
        except Exception as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            self.unavailable = (
                f"{self.model_name} cannot be loaded offline "
                f"({type(error).__name__}: {first[:160]})"
            )
            logger.warning("reranker_unavailable", reason=self.unavailable)
