"""sentence-transformers models (all-MiniLM-L6-v2, code models, any local folder)."""

from __future__ import annotations

import numpy as np
from sentence_transformers import SentenceTransformer

from cortex.embeddings.model import Embedded, Vectors

# A job's chunks arrive in one call (tens of texts) and every batch is padded to its longest
# text: on a CPU, batches of 16 pad about 1.16x the real tokens where 64 pad 1.30x (measured on
# benchmarks/bench_embeddings.py's documents: encode 0.82x -> 0.91x of one call over all texts);
# a GPU wants its batches full more than it minds the padding.
CPU_BATCH_SIZE = 16
GPU_BATCH_SIZE = 64


class SentenceModel:
    def __init__(self, name: str, source: str, device: str) -> None:
        self.name = name
        self.device = device
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        self._model = SentenceTransformer(
            source, device=device, local_files_only=True, trust_remote_code=False
        )
        self.dimension = int(self._model.get_embedding_dimension() or 0)
        self.batch_size = GPU_BATCH_SIZE if device.startswith("cuda") else CPU_BATCH_SIZE
        self.max_tokens = int(self._model.max_seq_length or 512)

    def embed_passages(self, texts: list[str]) -> Embedded:
        if not texts:
            return Embedded(np.zeros((0, self.dimension), dtype=np.float32), 0)
        return Embedded(self._encode(texts), self._truncated(texts))

    def embed_query(self, text: str) -> Vectors:
        query: Vectors = self._encode([text])[0]
        return query

    def _encode(self, texts: list[str]) -> Vectors:
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def _truncated(self, texts: list[str]) -> int:
        """Texts longer than the model reads (counted with its own tokenizer)."""
        lengths = self._model.tokenizer(
            texts, add_special_tokens=True, truncation=False, verbose=False
        )["input_ids"]
        return sum(len(ids) > self.max_tokens for ids in lengths)
