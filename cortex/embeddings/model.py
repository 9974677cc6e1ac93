"""The embedding model interface: passages and queries in, normalised float32 vectors out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Embedded:
    """Vectors (one row per text, unit length) and how many texts were cut at the model's limit."""

    vectors: Vectors
    truncated: int


class EmbeddingModel(Protocol):
    name: str
    dimension: int
    device: str

    def embed_passages(self, texts: list[str]) -> Embedded: ...

    def embed_query(self, text: str) -> Vectors: ...
