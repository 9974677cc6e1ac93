"""The process's embedding model, chosen from the chain on first use (loading takes seconds)."""

from __future__ import annotations

import threading

from cortex.embeddings.chain import ModelChoice, choose_model
from cortex.embeddings.model import Embedded, EmbeddingModel, Vectors
from cortex.observability import metrics
from cortex.settings import EmbeddingSettings


class EmbeddingProvider:
    def __init__(self, settings: EmbeddingSettings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self.choice: ModelChoice | None = None
        self._counted: CountedModel | None = None

    def model(self) -> EmbeddingModel | None:
        """The chosen model, counting its calls (cortex_embedding_*); None when none loaded."""
        with self._lock:
            if self.choice is None:
                self.choice = choose_model(
                    self._settings.chain,
                    model_dir=self._settings.model_dir,
                    device=self._settings.device,
                )
            chosen = self.choice.model
            if chosen is None:
                return None
            if self._counted is None or self._counted.model is not chosen:
                self._counted = CountedModel(chosen)
            return self._counted

    def load_in_background(self) -> None:
        threading.Thread(target=self.model, name="embedding-model", daemon=True).start()


class CountedModel:
    """A model whose every call counts in cortex_embedding_calls_total (and errors, time)."""

    def __init__(self, model: EmbeddingModel) -> None:
        self.model = model
        self.name = model.name
        self.dimension = model.dimension
        self.device = model.device

    def embed_passages(self, texts: list[str]) -> Embedded:
        with metrics.embedding_call("passages"):
            return self.model.embed_passages(texts)

    def embed_query(self, text: str) -> Vectors:
        with metrics.embedding_call("query"):
            return self.model.embed_query(text)
