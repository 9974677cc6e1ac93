"""Document tags: cleaned and kept as a sorted set; setting the same set records nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from cortex.domain.document import TAGS_MAX, Document, DocumentTagged
from cortex.domain.errors import AggregateGone, InvalidInput
from cortex.domain.ingest_job import StoredContent

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def _document(tags: tuple[str, ...] = ()) -> Document:
    content = StoredContent(
        storage_key="objects/ab/abc",
        sha256="abc",
        size=3,
        filename="a.txt",
        media_type="text/plain",
        kind="text",
        language="",
    )
    return Document.upload(
        id=uuid4(),
        project_id=uuid4(),
        title="A",
        content=content,
        uploaded_by=None,
        duplicate_of=None,
        job_id=uuid4(),
        at=NOW,
        tags=tags,
    )


def _tag_events(document: Document) -> list[DocumentTagged]:
    return [e for e in document.collect_events() if isinstance(e, DocumentTagged)]


def test_tags_at_upload_are_cleaned_once_each_and_sorted() -> None:
    document = _document((" Ops", "runbook", "ops"))
    assert document.tags == ("ops", "runbook")
    assert [event.tags for event in _tag_events(document)] == [("ops", "runbook")]


def test_an_upload_without_tags_records_no_tag_event() -> None:
    document = _document()
    assert document.tags == ()
    assert _tag_events(document) == []


def test_setting_the_same_set_again_records_nothing() -> None:
    document = _document(("a", "b"))
    document.collect_events()
    assert document.set_tags(["B", "a"], at=NOW) is False
    assert document.set_tags(["c"], at=NOW) is True
    assert document.set_tags([], at=NOW) is True
    assert [event.tags for event in _tag_events(document)] == [("c",), ()]


@pytest.mark.parametrize(
    "tags", [["two words"], [""], ["x" * 41], [f"t{i}" for i in range(TAGS_MAX + 1)]]
)
def test_invalid_tags_are_refused_without_an_event(tags: list[str]) -> None:
    document = _document()
    document.collect_events()
    with pytest.raises(InvalidInput):
        document.set_tags(tags, at=NOW)
    assert document.collect_events() == []


def test_a_deleted_document_takes_no_tags() -> None:
    document = _document()
    document.delete(deleted_by=None, at=NOW)
    with pytest.raises(AggregateGone):
        document.set_tags(["late"], at=NOW)
