"""Why content is refused: at upload (4xx answers) or at extraction (a job that cannot succeed)."""

from __future__ import annotations


class RejectedUpload(Exception):
    """An upload Cortex will not accept; ``status`` is the HTTP status that says why."""

    def __init__(self, status: int, message: str, *, file: str | None = None) -> None:
        super().__init__(f"{file}: {message}" if file else message)
        self.status = status
        self.message = message
        self.file = file


class ContentError(Exception):
    """The content itself cannot be turned into text (a corrupt PDF, invalid JSON): retrying
    cannot help, so the job fails at once with this reason."""
