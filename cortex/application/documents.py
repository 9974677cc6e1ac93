"""Documents: upload (deduplicated per project), new versions, re-ingest, delete; and the
commands workers use to report what they did."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError

from cortex.application.errors import NotFound, VersionConflict
from cortex.application.event_log import CommandResult, EventLog
from cortex.application.jobs import JobQueue
from cortex.domain.content_claim import ContentClaim, content_claim_id
from cortex.domain.document import Document
from cortex.domain.errors import InvalidTransition
from cortex.domain.ingest_job import ChunkSpan, IngestJob, IngestStatus, StoredContent
from cortex.domain.project import Project

T = TypeVar("T")
logger = structlog.get_logger("cortex.documents")
CONFLICT_RETRIES = 5


@dataclass(frozen=True)
class Uploaded:
    """What an upload did: a new document (and its job), or the document that already holds it."""

    document_id: UUID
    job_id: UUID | None
    version: int
    result: CommandResult | None
    duplicate_of: UUID | None = None

    @property
    def created(self) -> bool:
        return self.result is not None


class DocumentService:
    """Commands on documents."""

    def __init__(self, log: EventLog, queue: JobQueue) -> None:
        self._log = log
        self.queue = queue

    def require_open_project(self, project_id: UUID) -> None:
        """NotFound, or InvalidTransition when archived: checked before any bytes are stored."""
        if self._log.load(project_id, Project).archived:
            raise InvalidTransition("the project is archived", current_status="archived")

    def holder_of(self, project_id: UUID, sha256: str) -> UUID | None:
        """The document of the project that holds this content, if one does."""
        claim = self._claim(project_id, sha256)
        return claim.document_id if claim else None

    def upload_document(
        self,
        *,
        document_id: UUID,
        job_id: UUID,
        project_id: UUID,
        title: str,
        content: StoredContent,
        force: bool,
        uploaded_by: UUID | None,
        at: datetime,
        tags: tuple[str, ...] = (),
    ) -> Uploaded:
        """Create the document and its first ingest job, unless the project has the content."""
        project = self._log.load(project_id, Project)
        if project.archived:
            raise InvalidTransition("the project is archived", current_status="archived")

        def attempt() -> Uploaded:
            claim = self._claim(project_id, content.sha256)
            holder = claim.document_id if claim else None
            if holder is not None and not force:
                return Uploaded(holder, None, 0, None, duplicate_of=holder)
            document = Document.upload(
                id=document_id,
                project_id=project_id,
                title=title,
                content=content,
                uploaded_by=uploaded_by,
                duplicate_of=holder,
                job_id=job_id,
                at=at,
                tags=tags,
            )
            if claim is None:
                claim = ContentClaim.claim(
                    project_id=project_id, sha256=content.sha256, document_id=document_id, at=at
                )
            elif holder is None:
                claim.reclaim(document_id, at=at)
            else:
                claim.add_copy(document_id, at=at)  # takes over if the holder is deleted
            result = self._log.commit(document, claim)
            return Uploaded(document_id, job_id, 1, result, duplicate_of=holder)

        uploaded = _retry_conflicts(attempt)
        if uploaded.job_id is not None:
            self._send_ingest(document_id, uploaded.job_id)
        return uploaded

    def upload_version(
        self,
        document_id: UUID,
        *,
        job_id: UUID,
        content: StoredContent,
        uploaded_by: UUID | None,
        expected_version: int | None,
        at: datetime,
    ) -> Uploaded:
        """A new version, unless it is the content of the current one (then said so)."""

        def attempt() -> Uploaded:
            document = self._log.load(document_id, Document, expected_version=expected_version)
            if document.content.sha256 == content.sha256:
                return Uploaded(document_id, None, document.latest_version, None, document_id)
            previous = document.content.sha256
            number = document.add_version(content, uploaded_by=uploaded_by, job_id=job_id, at=at)
            touched: list[ContentClaim] = []
            old = self._claim(document.project_id, previous)
            if old is not None:
                old.release(document_id, at=at)
                touched.append(old)
            new = self._claim(document.project_id, content.sha256)
            if new is None:
                touched.append(
                    ContentClaim.claim(
                        project_id=document.project_id,
                        sha256=content.sha256,
                        document_id=document_id,
                        at=at,
                    )
                )
            elif new.document_id is None:
                new.reclaim(document_id, at=at)
                touched.append(new)
            else:
                new.add_copy(document_id, at=at)
                touched.append(new)
            result = self._log.commit(document, *touched)
            return Uploaded(document_id, job_id, number, result)

        uploaded = _retry_conflicts(attempt, expected_version)
        if uploaded.job_id is not None:
            self._send_ingest(document_id, uploaded.job_id)
        return uploaded

    def tag_document(
        self,
        document_id: UUID,
        tags: list[str],
        *,
        expected_version: int | None,
        at: datetime,
    ) -> CommandResult:
        """Replace the document's tags (search filters on them)."""

        def attempt() -> CommandResult:
            document = self._log.load(document_id, Document, expected_version=expected_version)
            document.set_tags(tags, at=at)
            return self._log.commit(document)

        return _retry_conflicts(attempt, expected_version)

    def request_reingest(self, document_id: UUID, *, job_id: UUID, at: datetime) -> CommandResult:
        def attempt() -> CommandResult:
            document = self._log.load(document_id, Document)
            document.request_reingest(job_id, at=at)
            return self._log.commit(document)

        result = _retry_conflicts(attempt)
        self._send_ingest(document_id, job_id)
        return result

    def delete_document(
        self,
        document_id: UUID,
        *,
        deleted_by: UUID | None,
        expected_version: int | None,
        at: datetime,
    ) -> CommandResult:
        """Delete: cancels its open job, frees its content claims, and owes the purge."""

        def attempt() -> CommandResult:
            document = self._log.load(document_id, Document, expected_version=expected_version)
            document.delete(deleted_by=deleted_by, at=at)
            claims = []
            for sha256 in {content.sha256 for content in document.versions}:
                claim = self._claim(document.project_id, sha256)
                if claim is not None:
                    claim.release(document_id, at=at)
                    claims.append(claim)
            return self._log.commit(document, *claims)

        result = _retry_conflicts(attempt, expected_version)
        try:
            self.queue.purge(document_id)
        except Exception:
            logger.warning("purge_not_sent", document_id=str(document_id), exc_info=True)
        return result

    # Reports from workers. Each is a no-op when the step was already recorded (a duplicate
    # delivery, or a second worker on the same job): the aggregate's stage says so.

    def document(
        self,
        document_id: UUID,
        *,
        include_deleted: bool = False,
        expected_version: int | None = None,
    ) -> Document:
        try:
            document: object = self._log.repository.get(document_id)
        except AggregateNotFoundError:
            raise NotFound("document", document_id) from None
        if not isinstance(document, Document) or (document.deleted and not include_deleted):
            raise NotFound("document", document_id)
        if expected_version is not None and document.version != expected_version:
            raise VersionConflict(document_id, expected_version, document.version)
        return document

    def open_job(
        self, document_id: UUID, job_id: UUID, statuses: frozenset[IngestStatus]
    ) -> tuple[Document, IngestJob] | None:
        """The document and its job, when the job is open and at one of these stages: what a
        worker checks before doing a stage (anything else is done already, or not its work)."""
        try:
            document = self.document(document_id)
        except NotFound:
            return None
        job = document.job(job_id)
        if job is None or not job.open or job.status not in statuses:
            return None
        return document, job

    def record_text(
        self,
        document: Document,
        job_id: UUID,
        *,
        text: str,
        extractor: str,
        started_at: datetime,
        at: datetime,
    ) -> None:
        """Record on the worker's loaded document (reloaded only after a conflict)."""

        def attempt(current: Document) -> None:
            current.record_text(
                job_id, text=text, extractor=extractor, started_at=started_at, at=at
            )
            self._log.commit(current)

        self._on_latest(document, attempt)

    def record_chunks(
        self,
        document: Document,
        job_id: UUID,
        *,
        chunks: tuple[ChunkSpan, ...],
        tokenizer: str,
        started_at: datetime,
        at: datetime,
    ) -> None:
        def attempt(current: Document) -> None:
            current.record_chunks(
                job_id, chunks=chunks, tokenizer=tokenizer, started_at=started_at, at=at
            )
            self._log.commit(current)

        self._on_latest(document, attempt)

    def record_embedding(
        self,
        document: Document,
        job_id: UUID,
        *,
        model: str,
        dimension: int,
        collection: str,
        truncated: int,
        started_at: datetime,
        at: datetime,
    ) -> None:
        """Record that the chunks' vectors are in the index, which completes the job."""

        def attempt(current: Document) -> None:
            current.record_embedding(
                job_id,
                model=model,
                dimension=dimension,
                collection=collection,
                truncated=truncated,
                started_at=started_at,
                at=at,
            )
            current.complete_ingest(job_id, at=at)
            self._log.commit(current)

        self._on_latest(document, attempt)

    def _on_latest(self, document: Document, attempt: Callable[[Document], None]) -> None:
        """Run the change on the given aggregate; after a conflict, on a freshly loaded one.

        Workers hold the document they loaded to start the job; loading it again for every step
        would replay its events (extracted texts included) each time.
        """
        try:
            attempt(document)
        except VersionConflict:
            _retry_conflicts(lambda: attempt(self.document(document.id)))

    def record_failure(
        self,
        document_id: UUID,
        job_id: UUID,
        *,
        stage: str,
        reason: str,
        permanent: bool,
        max_attempts: int,
        at: datetime,
    ) -> tuple[int, bool] | None:
        """Record a failed attempt: (its number, whether it was the last), or None when the job
        is no longer open. Whether it is the last is decided on the state it is recorded on, so
        two deliveries failing at once cannot go past ``max_attempts``."""

        def attempt() -> tuple[int, bool] | None:
            document = self.document(document_id)
            job = document.job(job_id)
            if job is None or not job.open:
                return None
            final = permanent or job.failures + 1 >= max_attempts
            number = document.record_failure(job_id, stage=stage, reason=reason, final=final, at=at)
            self._log.commit(document)
            return number, final

        return _retry_conflicts(attempt)

    def record_purge(self, document_id: UUID, storage_keys: tuple[str, ...], at: datetime) -> None:
        def attempt() -> None:
            document = self.document(document_id, include_deleted=True)
            document.record_purge(storage_keys, at=at)
            self._log.commit(document)

        _retry_conflicts(attempt)

    def _claim(self, project_id: UUID, sha256: str) -> ContentClaim | None:
        try:
            claim: object = self._log.repository.get(content_claim_id(project_id, sha256))
        except AggregateNotFoundError:
            return None
        return claim if isinstance(claim, ContentClaim) else None

    def _send_ingest(self, document_id: UUID, job_id: UUID) -> None:
        try:
            self.queue.ingest(document_id, job_id)
        except Exception:
            # The IngestRequested event records the owed work; the reconciler re-sends it.
            logger.warning("ingest_not_sent", document_id=str(document_id), exc_info=True)

    def send_embed(self, document_id: UUID, job_id: UUID) -> None:
        try:
            self.queue.embed(document_id, job_id)
        except Exception:
            # DocumentChunked records that embedding is owed; the reconciler re-sends it.
            logger.warning("embed_not_sent", document_id=str(document_id), exc_info=True)


def _retry_conflicts(attempt: Callable[[], T], expected_version: int | None = None) -> T:
    """Run a load-change-commit again when another writer got there first.

    Only when the caller named no version: then the command is about the latest state, and a
    concurrent worker report is no reason to refuse it.
    """
    for _ in range(CONFLICT_RETRIES - 1):
        try:
            return attempt()
        except VersionConflict:
            if expected_version is not None:
                raise
    return attempt()
