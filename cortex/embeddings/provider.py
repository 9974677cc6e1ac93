"""The process's embedding model, chosen from the chain on first use (loading takes seconds)."""

from __future__ import annotations

import threading

from cortex.embeddings.chain import ModelChoice, choose_model
from cortex.embeddings.model import EmbeddingModel
from cortex.settings import EmbeddingSettings


class EmbeddingProvider:
    def __init__(self, settings: EmbeddingSettings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self.choice: ModelChoice | None = None

    def model(self) -> EmbeddingModel | None:
        with self._lock:
            if self.choice is None:
                self.choice = choose_model(
                    self._settings.chain,
                    model_dir=self._settings.model_dir,
                    device=self._settings.device,
                )
            return self.choice.model

    def load_in_background(self) -> None:
        threading.Thread(target=self.model, name="embedding-model", daemon=True).start()
