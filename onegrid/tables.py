"""Helpers for read-model tables, on SQLite and PostgreSQL alike."""
from __future__ import annotations

from typing import Optional

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite


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
