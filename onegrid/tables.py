"""Helpers for read-model tables, on SQLite and PostgreSQL alike."""
from __future__ import annotations

import dataclasses
from typing import ClassVar, Optional

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


@dataclasses.dataclass
class Tables:
    """A service's tables, found by short name: ``tables.grids`` is ``<prefix><names["grids"]>``.

    ``projection`` holds the folds of the service's own log (a replay rebuilds them);
    ``reactions`` the tables its reactions write (the inbox creates them, a replay never drops
    them). A subclass maps short names to table names (without the prefix) in ``names``.
    """

    prefix: str
    projection: sa.MetaData
    reactions: sa.MetaData
    names: ClassVar[dict[str, str]] = {}

    def __getattr__(self, name):  # only called for what is not an attribute: a table's name
        for md in (self.__dict__["projection"], self.__dict__["reactions"]):
            table = md.tables.get(f"{self.__dict__['prefix']}{self.names.get(name, name)}")
            if table is not None:
                return table
        raise AttributeError(name)

    def metadata_of(self, *names: str) -> sa.MetaData:
        """A metadata of the named tables alone (one read model's, for its create and drop)."""
        metadata = sa.MetaData()
        for name in names:
            getattr(self, name).to_metadata(metadata)
        return metadata


def upsert(conn, table: sa.Table, keys: dict, values: dict,
           update: Optional[dict] = None) -> None:
    """Insert the row ``keys | values``; where a row with ``keys`` exists, set ``update``.

    ``keys`` must be the table's primary key or a unique constraint. ``update`` defaults to
    ``values``; it may hold SQL expressions over the existing row (``{"n": t.c.n + 1}``).
    An empty ``update`` ({}) keeps the existing row as it is.
    """
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)
    stmt = insert.values(**keys, **values)
    update = values if update is None else update
    if update:
        stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=update)
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    conn.execute(stmt)
