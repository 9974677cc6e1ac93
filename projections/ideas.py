"""The ``ideas`` read model (with ``idea_tags`` and ``idea_links``) and the queries that read it."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from cortex.domain.idea import (
    IdeaCaptured,
    IdeaDeleted,
    IdeaEdited,
    IdeaLinked,
    IdeaStatusChanged,
    IdeaTagged,
    IdeaUntagged,
    IdeaVoted,
)
from projections.base import SqlProjection
from projections.search_words import search_words
from projections.store import Cursor


class IdeasProjection(SqlProjection):
    name = "ideas"
    tables = ("ideas", "idea_tags", "idea_links")

    @singledispatchmethod
    def handle(self, event: Any, cur: Cursor) -> None:
        """Events that do not change ideas."""

    @handle.register
    def _captured(self, event: IdeaCaptured, cur: Cursor) -> None:
        at = event.timestamp.isoformat()
        idea_id = str(event.originator_id)
        cur.execute(
            self.sql(
                "INSERT INTO {ideas} (id, project_id, title, body, status, votes, search_words,"
                " version, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, 'proposed', 0, ?, ?, ?, ?)"
            ),
            (
                idea_id,
                str(event.project_id),
                event.title,
                event.body,
                search_words(event.title, event.body),
                event.originator_version,
                at,
                at,
            ),
        )
        for tag in event.tags:
            cur.execute(
                self.sql("INSERT INTO {idea_tags} (idea_id, tag) VALUES (?, ?)"), (idea_id, tag)
            )

    @handle.register
    def _edited(self, event: IdeaEdited, cur: Cursor) -> None:
        self._touch(
            cur,
            event,
            "title = ?, body = ?, search_words = ?, ",
            (event.title, event.body, search_words(event.title, event.body)),
        )

    @handle.register
    def _tagged(self, event: IdeaTagged, cur: Cursor) -> None:
        self._touch(cur, event)
        cur.execute(
            self.sql("INSERT INTO {idea_tags} (idea_id, tag) VALUES (?, ?)"),
            (str(event.originator_id), event.tag),
        )

    @handle.register
    def _untagged(self, event: IdeaUntagged, cur: Cursor) -> None:
        self._touch(cur, event)
        cur.execute(
            self.sql("DELETE FROM {idea_tags} WHERE idea_id = ? AND tag = ?"),
            (str(event.originator_id), event.tag),
        )

    @handle.register
    def _voted(self, event: IdeaVoted, cur: Cursor) -> None:
        self._touch(cur, event, "votes = votes + ?, ", (event.value,))

    @handle.register
    def _status_changed(self, event: IdeaStatusChanged, cur: Cursor) -> None:
        self._touch(cur, event, "status = ?, ", (event.status,))

    @handle.register
    def _linked(self, event: IdeaLinked, cur: Cursor) -> None:
        self._touch(cur, event)
        cur.execute(
            self.sql("INSERT INTO {idea_links} (idea_id, target_id, relation) VALUES (?, ?, ?)"),
            (str(event.originator_id), str(event.target_id), event.relation),
        )

    @handle.register
    def _deleted(self, event: IdeaDeleted, cur: Cursor) -> None:
        idea_id = str(event.originator_id)
        cur.execute(self.sql("DELETE FROM {ideas} WHERE id = ?"), (idea_id,))
        cur.execute(self.sql("DELETE FROM {idea_tags} WHERE idea_id = ?"), (idea_id,))
        cur.execute(
            self.sql("DELETE FROM {idea_links} WHERE idea_id = ? OR target_id = ?"),
            (idea_id, idea_id),
        )

    def _touch(
        self, cur: Cursor, event: Any, assignments: str = "", values: tuple[Any, ...] = ()
    ) -> None:
        cur.execute(
            self.sql(
                "UPDATE {ideas} SET " + assignments + "version = ?, updated_at = ? WHERE id = ?"
            ),
            (
                *values,
                event.originator_version,
                event.timestamp.isoformat(),
                str(event.originator_id),
            ),
        )
