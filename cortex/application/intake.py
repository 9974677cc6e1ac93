"""Staged uploads into documents: store the bytes (by content hash), then record the upload.

The bytes are stored before the event is appended, so that no event ever names missing bytes;
content the project already holds is not stored again (unless forced).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from uuid import UUID, uuid4

from cortex.application.documents import DocumentService, Uploaded
from cortex.domain.document import TITLE_MAX, clean_tags
from cortex.domain.ingest_job import StoredContent
from cortex.domain.text import clean_text
from cortex.ingest.staging import StagedFile
from cortex.storage.base import ObjectStore, content_key


@dataclass(frozen=True)
class Intake:
    """What happened to one staged file."""

    staged: StagedFile
    content: StoredContent
    title: str
    uploaded: Uploaded


class DocumentIntake:
    def __init__(self, documents: DocumentService, store: ObjectStore) -> None:
        self._documents = documents
        self._store = store

    def add_documents(
        self,
        project_id: UUID,
        files: list[StagedFile],
        *,
        force: bool,
        uploaded_by: UUID | None,
        at: datetime,
        tags: tuple[str, ...] = (),
    ) -> list[Intake]:
        """Each file becomes a document, or is reported as a duplicate of one.

        Everything that can refuse the upload (the project, each title) is checked before any
        byte is stored or any document recorded, so a refusal leaves nothing behind.
        """
        done: list[Intake] = []
        try:
            self._documents.require_open_project(project_id)
            titles = [title_of(staged) for staged in files]
            tags = clean_tags(tags)
            for staged, title in zip(files, titles, strict=True):
                content = stored_content(staged)
                holder = None if force else self._documents.holder_of(project_id, staged.sha256)
                if holder is not None:
                    staged.discard()
                    uploaded = Uploaded(holder, None, 0, None, duplicate_of=holder)
                else:
                    self._store.put_file(content.storage_key, staged.path)
                    uploaded = self._documents.upload_document(
                        document_id=uuid4(),
                        job_id=uuid4(),
                        project_id=project_id,
                        title=title,
                        content=content,
                        force=force,
                        uploaded_by=uploaded_by,
                        at=at,
                        tags=tags,
                    )
                done.append(Intake(staged, content, title, uploaded))
        finally:
            for staged in files:
                staged.discard()
        return done

    def add_version(
        self,
        document_id: UUID,
        staged: StagedFile,
        *,
        uploaded_by: UUID | None,
        expected_version: int | None,
        at: datetime,
    ) -> Intake:
        content = stored_content(staged)
        try:
            current = self._documents.document(document_id, expected_version=expected_version)
            if current.content.sha256 != staged.sha256:
                self._store.put_file(content.storage_key, staged.path)
            uploaded = self._documents.upload_version(
                document_id,
                job_id=uuid4(),
                content=content,
                uploaded_by=uploaded_by,
                expected_version=expected_version,
                at=at,
            )
        finally:
            staged.discard()
        return Intake(staged, content, current.title, uploaded)


def title_of(staged: StagedFile) -> str:
    """The document title: given, or the archive member's path, or the file name's stem."""
    title = staged.title or PurePosixPath(staged.filename).stem or staged.filename
    if len(title) > TITLE_MAX:  # a deep archive path: its end says most
        title = "…" + title[-(TITLE_MAX - 1) :]
    return clean_text("title", title, max_length=TITLE_MAX)


def stored_content(staged: StagedFile) -> StoredContent:
    sniffed = staged.sniffed
    if sniffed is None:
        raise ValueError("the file was not sniffed")
    return StoredContent(
        filename=staged.filename,
        media_type=sniffed.media_type,
        kind=sniffed.kind,
        language=sniffed.language,
        size=staged.size,
        sha256=staged.sha256,
        storage_key=content_key(staged.sha256),
    )
