"""What every SQL projector shares: its tables (live or shadow), its name and event dispatch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from projections.store import Cursor


class SqlProjection:
    """A projector that turns events into rows of the tables it owns.

    Each subclass declares ``handle`` as its own ``functools.singledispatchmethod`` whose base case
    ignores the event, and registers one handler per event class; handlers get the transaction's
    cursor. SQL is written with ``{table}`` names so the same handlers
    fill the live tables or a rebuild's shadow tables.
    """

    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]

    def __init__(self, table_names: Mapping[str, str] | None = None) -> None:
        self.table_names = {table: table for table in self.tables}
        self.table_names.update(table_names or {})
        self._sql: dict[str, str] = {}

    def sql(self, template: str) -> str:
        """The template with this instance's table names filled in (cached)."""
        statement = self._sql.get(template)
        if statement is None:
            statement = self._sql[template] = template.format(**self.table_names)
        return statement

    def handle(self, event: Any, cur: Cursor) -> None:
        """Apply one event; subclasses make this a ``singledispatchmethod`` of their own."""
        raise NotImplementedError
