"""SQLAlchemy tables of the grid service's read models (names prefixed per service instance).

Two groups:

- ``projection`` tables are folds of the grid's own log (``projections.py``): the map, the
  people, the departments, patrols and missed windows. ``onegrid replay grid`` rebuilds them.
- ``reactions`` holds ``tickets``, the grid's memory of the tickets service's tickets: the facts
  dispatch needs and who holds each open ticket. The reactions write it (``handlers.py``) in the
  same transaction as the ``DispatchDecided`` it goes with, so it is never behind the decisions;
  the inbox creates it at start and a replay never drops it.
"""
from __future__ import annotations

import functools

import sqlalchemy as sa

from onegrid.tables import Tables


class GridTables(Tables):
    """The grid's tables: ``tables.grids`` is the ``<prefix>map_grids`` table."""

    names = {"streets": "map_streets", "communities": "map_communities", "grids": "map_grids",
             "workers": "map_workers", "leave": "map_leave", "departments": "map_departments",
             "meta": "map_meta", "patrols": "patrols", "missed": "patrol_missed",
             "tickets": "tickets"}


@functools.cache
def make_tables(prefix: str = "grid_") -> GridTables:
    """The grid's read-model tables with ``prefix`` (one object per prefix)."""
    md = sa.MetaData()
    text = sa.Text
    sa.Table(f"{prefix}map_streets", md,
             sa.Column("code", sa.String(100), primary_key=True),
             sa.Column("name", text), sa.Column("name_zh", text),
             sa.Column("boundary", text, nullable=False))
    sa.Table(f"{prefix}map_communities", md,
             sa.Column("code", sa.String(100), primary_key=True),
             sa.Column("street_code", sa.String(100), nullable=False, index=True),
             sa.Column("name", text), sa.Column("name_zh", text),
             sa.Column("boundary", text, nullable=False),
             sa.Column("designated_grid", sa.String(100)))
    sa.Table(f"{prefix}map_grids", md,
             sa.Column("code", sa.String(100), primary_key=True),
             sa.Column("community_code", sa.String(100), nullable=False, index=True),
             sa.Column("street_code", sa.String(100), nullable=False),
             sa.Column("kind", sa.String(20), nullable=False),
             sa.Column("purpose", sa.String(60)),
             sa.Column("boundary", text, nullable=False),
             sa.Column("post_a", sa.String(100)), sa.Column("post_b", sa.String(100)),
             sa.Column("drawn_at", sa.String(40), nullable=False))
    sa.Table(f"{prefix}map_workers", md,
             sa.Column("worker_id", sa.String(100), primary_key=True),
             sa.Column("community_code", sa.String(100), nullable=False, index=True),
             sa.Column("name", text),
             sa.Column("left_on", sa.String(10)))
    sa.Table(f"{prefix}map_leave", md,
             sa.Column("worker_id", sa.String(100), primary_key=True),
             sa.Column("day", sa.String(10), primary_key=True))
    sa.Table(f"{prefix}map_departments", md,
             sa.Column("code", sa.String(100), primary_key=True),
             sa.Column("name", text), sa.Column("name_zh", text),
             sa.Column("categories", text, nullable=False, default="[]"))
    # one row, bumped whenever the map or the people change: the in-memory view reloads then
    sa.Table(f"{prefix}map_meta", md,
             sa.Column("key", sa.String(40), primary_key=True),
             sa.Column("value", sa.Integer, nullable=False))
    sa.Table(f"{prefix}patrols", md,
             sa.Column("patrol_id", sa.String(100), primary_key=True),
             sa.Column("grid_code", sa.String(100), nullable=False, index=True),
             sa.Column("worker_id", sa.String(100), nullable=False),
             sa.Column("started_at", sa.String(40), nullable=False),
             sa.Column("start_lat", sa.Float), sa.Column("start_lng", sa.Float),
             sa.Column("outside_grid", sa.Boolean, nullable=False),
             sa.Column("finished_at", sa.String(40)),
             sa.Column("finished_outside_grid", sa.Boolean),
             sa.Column("problems", sa.Integer, nullable=False, default=0))
    sa.Table(f"{prefix}patrol_missed", md,
             sa.Column("grid_code", sa.String(100), primary_key=True),
             sa.Column("day", sa.String(10), primary_key=True),
             sa.Column("window", sa.String(40), primary_key=True))

    reactions = sa.MetaData()
    sa.Table(f"{prefix}tickets", reactions,
             sa.Column("ticket_id", sa.String(100), primary_key=True),
             sa.Column("category_code", sa.String(64), nullable=False),
             sa.Column("day", sa.String(10), nullable=False),
             sa.Column("lat", sa.Float), sa.Column("lng", sa.Float),
             sa.Column("grid_code", sa.String(100)),
             sa.Column("street", sa.String(100)), sa.Column("community", sa.String(100)),
             sa.Column("assignee_kind", sa.String(20)),
             sa.Column("assignee_id", sa.String(100), index=True),
             sa.Column("open", sa.Boolean, nullable=False, default=True),
             sa.Column("version", sa.Integer, nullable=False))
    return GridTables(prefix, projection=md, reactions=reactions)
