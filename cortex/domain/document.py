"""The Document aggregate: an uploaded original, its versions and the ingest jobs that index them.

Invariants: a title of 1-300 characters; at most 32 tags; versions are numbered 1, 2, ... and
never removed; at most one open ingest job per document (a new version cancels the open job of an
older one); job stages run queued -> extracted -> chunked -> embedded -> completed, or end failed
or cancelled; the indexed version only moves forward; a deleted document accepts nothing but the
purge of its bytes.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, AggregateCreated, AggregateEvent

from cortex.domain.errors import AggregateGone, InvalidInput, InvalidTransition
from cortex.domain.ingest_job import ChunkSpan, IngestJob, IngestStatus, StoredContent
from cortex.domain.text import clean_tag, clean_text

TITLE_MAX = 300
TAGS_MAX = 32


class DocumentUploaded(AggregateCreated):
    """Someone uploaded a document into a project; its bytes are in storage."""

    project_id: UUID
    title: str
    content: StoredContent
    uploaded_by: UUID | None
    duplicate_of: UUID | None


class DocumentTagged(AggregateEvent):
    """The document's tags were set: the whole set, replacing the one before."""

    tags: tuple[str, ...]

    def apply(self, aggregate: Document) -> None:
        aggregate.tags = self.tags


class DocumentVersionUploaded(AggregateEvent):
    """New content for the document; the previous version stays searchable until it is indexed."""

    number: int
    content: StoredContent
    uploaded_by: UUID | None

    def apply(self, aggregate: Document) -> None:
        aggregate.versions = (*aggregate.versions, self.content)


class IngestRequested(AggregateEvent):
    """Work is owed: extract, chunk and index one version of the document."""

    job_id: UUID
    project_id: UUID
    version: int
    reason: str

    def apply(self, aggregate: Document) -> None:
        aggregate.jobs[self.job_id] = IngestJob(self.job_id, self.version, self.reason)
        aggregate.current_job_id = self.job_id


class TextExtracted(AggregateEvent):
    """A worker extracted the text of the job's version."""

    job_id: UUID
    text: str
    extractor: str
    started_at: datetime

    def apply(self, aggregate: Document) -> None:
        job = aggregate.jobs[self.job_id]
        job.status, job.text = IngestStatus.EXTRACTED, self.text


class DocumentChunked(AggregateEvent):
    """The extracted text was cut into chunks (by character offsets)."""

    job_id: UUID
    chunks: tuple[ChunkSpan, ...]
    tokenizer: str
    started_at: datetime

    def apply(self, aggregate: Document) -> None:
        job = aggregate.jobs[self.job_id]
        job.status, job.chunks = IngestStatus.CHUNKED, self.chunks


class ChunksEmbedded(AggregateEvent):
    """The job's chunks were embedded into the vector index (the vectors are not in the log:
    they can be computed again from the chunks with the named model)."""

    job_id: UUID
    model: str
    dimension: int
    collection: str
    count: int
    truncated: int
    started_at: datetime

    def apply(self, aggregate: Document) -> None:
        aggregate.jobs[self.job_id].status = IngestStatus.EMBEDDED


class IngestCompleted(AggregateEvent):
    """The job's version is fully indexed and replaces the previous one in one step."""

    job_id: UUID
    version: int

    def apply(self, aggregate: Document) -> None:
        job = aggregate.jobs[self.job_id]
        job.status, job.text, job.chunks = IngestStatus.COMPLETED, None, ()
        aggregate.indexed_version = max(aggregate.indexed_version, self.version)


class IngestFailed(AggregateEvent):
    """An attempt failed; ``final`` when no attempt is left (or retrying cannot help)."""

    job_id: UUID
    stage: str
    reason: str
    attempt: int
    final: bool

    def apply(self, aggregate: Document) -> None:
        job = aggregate.jobs[self.job_id]
        job.failures, job.error = self.attempt, self.reason
        if self.final:
            job.status, job.text, job.chunks = IngestStatus.FAILED, None, ()


class IngestCancelled(AggregateEvent):
    """The job is no longer owed (superseded by a newer version, or the document deleted)."""

    job_id: UUID
    reason: str

    def apply(self, aggregate: Document) -> None:
        job = aggregate.jobs[self.job_id]
        job.status, job.text, job.chunks = IngestStatus.CANCELLED, None, ()


class DocumentDeleted(AggregateEvent):
    """The document was deleted: it leaves every read model and index; its bytes are purged."""

    deleted_by: UUID | None

    def apply(self, aggregate: Document) -> None:
        aggregate.deleted = True


class DocumentContentPurged(AggregateEvent):
    """The deleted document's stored bytes no other document uses were removed from storage."""

    storage_keys: tuple[str, ...]

    def apply(self, aggregate: Document) -> None:
        aggregate.purged = True


def clean_tags(tags: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Tags as the document keeps them: cleaned, each once, sorted; at most TAGS_MAX."""
    cleaned = tuple(sorted({clean_tag(tag) for tag in tags}))
    if len(cleaned) > TAGS_MAX:
        raise InvalidInput("tags", f"at most {TAGS_MAX} tags, got {len(cleaned)}")
    return cleaned


class Document(Aggregate):
    """A document of a project."""

    def __init__(
        self,
        project_id: UUID,
        title: str,
        content: StoredContent,
        uploaded_by: UUID | None,
        duplicate_of: UUID | None,
    ) -> None:
        self.project_id = project_id
        self.title = title
        self.versions: tuple[StoredContent, ...] = (content,)
        self.uploaded_by = uploaded_by
        self.duplicate_of = duplicate_of
        self.tags: tuple[str, ...] = ()
        self.jobs: dict[UUID, IngestJob] = {}
        self.current_job_id: UUID | None = None
        self.indexed_version = 0
        self.deleted = False
        self.purged = False

    @classmethod
    def upload(
        cls,
        *,
        id: UUID,
        project_id: UUID,
        title: str,
        content: StoredContent,
        uploaded_by: UUID | None,
        duplicate_of: UUID | None,
        job_id: UUID,
        at: datetime,
        tags: tuple[str, ...] = (),
    ) -> Document:
        document = cls._create(
            DocumentUploaded,
            id=id,
            project_id=project_id,
            title=clean_text("title", title, max_length=TITLE_MAX),
            content=content,
            uploaded_by=uploaded_by,
            duplicate_of=duplicate_of,
            timestamp=at,
        )
        document.set_tags(tags, at=at)
        document.trigger_event(
            IngestRequested,
            job_id=job_id,
            project_id=project_id,
            version=1,
            reason="upload",
            timestamp=at,
        )
        return document

    @property
    def latest_version(self) -> int:
        return len(self.versions)

    @property
    def content(self) -> StoredContent:
        return self.versions[-1]

    def job(self, job_id: UUID) -> IngestJob | None:
        return self.jobs.get(job_id)

    def set_tags(self, tags: tuple[str, ...] | list[str], *, at: datetime) -> bool:
        """Replace the tags; False (and no event) when they are already these."""
        self._require_present()
        cleaned = clean_tags(tags)
        if cleaned == self.tags:
            return False
        self.trigger_event(DocumentTagged, tags=cleaned, timestamp=at)
        return True

    def add_version(
        self, content: StoredContent, *, uploaded_by: UUID | None, job_id: UUID, at: datetime
    ) -> int:
        self._require_present()
        self._cancel_open_job(f"superseded by version {self.latest_version + 1}", at)
        number = self.latest_version + 1
        self.trigger_event(
            DocumentVersionUploaded,
            number=number,
            content=content,
            uploaded_by=uploaded_by,
            timestamp=at,
        )
        self.trigger_event(
            IngestRequested,
            job_id=job_id,
            project_id=self.project_id,
            version=number,
            reason="new_version",
            timestamp=at,
        )
        return number

    def request_reingest(self, job_id: UUID, *, at: datetime) -> None:
        self._require_present()
        current = self.jobs.get(self.current_job_id) if self.current_job_id else None
        if current is not None and current.open:
            raise InvalidTransition(
                f"ingest job {current.id} of version {current.version} is still {current.status}",
                current_status=str(current.status),
            )
        self.trigger_event(
            IngestRequested,
            job_id=job_id,
            project_id=self.project_id,
            version=self.latest_version,
            reason="reingest",
            timestamp=at,
        )

    def record_text(
        self, job_id: UUID, *, text: str, extractor: str, started_at: datetime, at: datetime
    ) -> None:
        self._require_stage(job_id, IngestStatus.QUEUED)
        self.trigger_event(
            TextExtracted,
            job_id=job_id,
            text=text,
            extractor=extractor,
            started_at=started_at,
            timestamp=at,
        )

    def record_chunks(
        self,
        job_id: UUID,
        *,
        chunks: tuple[ChunkSpan, ...],
        tokenizer: str,
        started_at: datetime,
        at: datetime,
    ) -> None:
        self._require_stage(job_id, IngestStatus.EXTRACTED)
        self.trigger_event(
            DocumentChunked,
            job_id=job_id,
            chunks=chunks,
            tokenizer=tokenizer,
            started_at=started_at,
            timestamp=at,
        )

    def record_embedding(
        self,
        job_id: UUID,
        *,
        model: str,
        dimension: int,
        collection: str,
        truncated: int,
        started_at: datetime,
        at: datetime,
    ) -> None:
        job = self._require_stage(job_id, IngestStatus.CHUNKED)
        self.trigger_event(
            ChunksEmbedded,
            job_id=job_id,
            model=model,
            dimension=dimension,
            collection=collection,
            count=len(job.chunks),
            truncated=truncated,
            started_at=started_at,
            timestamp=at,
        )

    def complete_ingest(self, job_id: UUID, *, at: datetime) -> None:
        job = self._require_stage(job_id, IngestStatus.EMBEDDED)
        self.trigger_event(IngestCompleted, job_id=job_id, version=job.version, timestamp=at)

    def record_failure(
        self, job_id: UUID, *, stage: str, reason: str, final: bool, at: datetime
    ) -> int:
        """Record a failed attempt; returns its number (attempts are counted in the log)."""
        job = self._open_job(job_id)
        attempt = job.failures + 1
        self.trigger_event(
            IngestFailed,
            job_id=job_id,
            stage=stage,
            reason=reason[:2000],
            attempt=attempt,
            final=final,
            timestamp=at,
        )
        return attempt

    def delete(self, *, deleted_by: UUID | None, at: datetime) -> None:
        self._require_present()
        self._cancel_open_job("the document was deleted", at)
        self.trigger_event(DocumentDeleted, deleted_by=deleted_by, timestamp=at)

    def record_purge(self, storage_keys: tuple[str, ...], *, at: datetime) -> None:
        if not self.deleted or self.purged:
            raise InvalidTransition("only a deleted, unpurged document can be purged")
        self.trigger_event(DocumentContentPurged, storage_keys=storage_keys, timestamp=at)

    def _cancel_open_job(self, reason: str, at: datetime) -> None:
        current = self.jobs.get(self.current_job_id) if self.current_job_id else None
        if current is not None and current.open:
            self.trigger_event(IngestCancelled, job_id=current.id, reason=reason, timestamp=at)

    def _open_job(self, job_id: UUID) -> IngestJob:
        self._require_present()
        job = self.jobs.get(job_id)
        if job is None or not job.open:
            status = job.status if job else None
            raise InvalidTransition(f"ingest job {job_id} is not open", current_status=status)
        return job

    def _require_stage(self, job_id: UUID, status: IngestStatus) -> IngestJob:
        job = self._open_job(job_id)
        if job.status != status:
            raise InvalidTransition(
                f"ingest job {job_id} is {job.status}, not {status}", current_status=job.status
            )
        return job

    def _require_present(self) -> None:
        if self.deleted:
            raise AggregateGone(f"document {self.id} has been deleted")
