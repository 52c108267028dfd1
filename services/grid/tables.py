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

import dataclasses

import sqlalchemy as sa


@dataclasses.dataclass
class GridTables:
    prefix: str
    projection: sa.MetaData
    reactions: sa.MetaData

    def __getattr__(self, name):  # grid.tables.grids -> the "<prefix>map_grids" table
        for md in (self.__dict__["projection"], self.__dict__["reactions"]):
            table = md.tables.get(f"{self.__dict__['prefix']}{_NAMES.get(name, name)}")
            if table is not None:
                return table
        raise AttributeError(name)

    def metadata_of(self, *names: str) -> sa.MetaData:
        """A metadata of the named tables alone (one read model's, for its create and drop)."""
        metadata = sa.MetaData()
        for name in names:
            getattr(self, name).to_metadata(metadata)
        return metadata


_NAMES = {"streets": "map_streets", "communities": "map_communities", "grids": "map_grids",
          "workers": "map_workers", "leave": "map_leave", "departments": "map_departments",
          "meta": "map_meta", "patrols": "patrols", "missed": "patrol_missed",
          "tickets": "tickets"}

_CACHE: dict[str, GridTables] = {}


def make_tables(prefix: str = "grid_") -> GridTables:
    """The grid's read-model tables with ``prefix`` (one object per prefix)."""
    if prefix in _CACHE:
        return _CACHE[prefix]
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
    tables = GridTables(prefix, md, reactions)
    _CACHE[prefix] = tables
    return tables
