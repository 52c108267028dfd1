"""The district as dispatch and ``locate`` see it: read models held in memory, reloaded on change.

``DistrictCache.snapshot(conn)`` reads ``map_meta.version`` (one row) and reloads the map,
posts, roster and departments only when the map projection moved; the grid and street
``GridIndex`` (STRtree) are rebuilt then. Reactions run on real OS threads (eventlet's
``tpool``), so a reload builds a new immutable ``MapSnapshot`` and swaps it in one assignment.
Open tickets per worker are read from the ``tickets`` table inside the caller's transaction,
so decisions in a burst see each other's workload.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Optional, Sequence

import sqlalchemy as sa

from .dispatch import GridFacts, kept_categories
from .geo import GridIndex
from .tables import GridTables

# leave older than this is not loaded: dispatch only asks about the ticket's day
LEAVE_HORIZON = dt.timedelta(days=7)


@dataclasses.dataclass(frozen=True)
class MapSnapshot:
    version: int
    grids: dict[str, GridFacts]
    grid_rows: dict[str, dict]
    communities: dict[str, dict]
    streets: dict[str, dict]
    designated: dict[str, str]
    community_street: dict[str, str]
    kept: dict[str, str]
    workers: dict[str, dict]
    workers_by_community: dict[str, tuple[str, ...]]
    leave: frozenset[tuple[str, dt.date]]
    grid_index: Optional[GridIndex]
    street_index: Optional[GridIndex]

    def is_on_duty(self, worker_id: str, day: dt.date) -> bool:
        worker = self.workers.get(worker_id)
        if worker is None or (worker_id, day) in self.leave:
            return False
        return worker["left_on"] is None or day < worker["left_on"]

    def locate(self, lat: float, lng: float) -> Optional[str]:
        return self.grid_index.locate(lat, lng) if self.grid_index is not None else None

    def locate_street(self, lat: float, lng: float) -> Optional[str]:
        return self.street_index.locate(lat, lng) if self.street_index is not None else None


def _ring(text: str):
    return tuple(tuple(p) for p in json.loads(text))


def load_snapshot(conn, t: GridTables, version: int, today: Optional[dt.date] = None) -> MapSnapshot:
    """Read the map's read models into a ``MapSnapshot``."""
    g = t.grids
    grids, grid_rows = {}, {}
    for r in conn.execute(sa.select(g)).mappings():
        grids[r["code"]] = GridFacts(r["code"], r["community_code"], r["street_code"],
                                     r["post_a"], r["post_b"])
        grid_rows[r["code"]] = dict(r)
    communities = {r["code"]: dict(r) for r in conn.execute(sa.select(t.communities)).mappings()}
    streets = {r["code"]: dict(r) for r in conn.execute(sa.select(t.streets)).mappings()}
    departments = {r["code"]: json.loads(r["categories"])
                   for r in conn.execute(sa.select(t.departments)).mappings()}
    try:
        kept = kept_categories(departments)
    except ValueError:  # a category kept twice: the department that sorts first keeps it
        kept = {}
        for code in sorted(departments, reverse=True):
            kept.update({c: code for c in departments[code]})
    workers, by_community = {}, {}
    for r in conn.execute(sa.select(t.workers).order_by(t.workers.c.worker_id)).mappings():
        left = dt.date.fromisoformat(r["left_on"]) if r["left_on"] else None
        workers[r["worker_id"]] = {"community_code": r["community_code"], "name": r["name"],
                                   "left_on": left}
        by_community.setdefault(r["community_code"], []).append(r["worker_id"])
    since = ((today or dt.date.today()) - LEAVE_HORIZON).isoformat()
    leave = frozenset((r[0], dt.date.fromisoformat(r[1])) for r in conn.execute(
        sa.select(t.leave.c.worker_id, t.leave.c.day).where(t.leave.c.day >= since)))
    grid_index = GridIndex({c: _ring(r["boundary"]) for c, r in grid_rows.items()}) if grid_rows else None
    street_index = GridIndex({c: _ring(r["boundary"]) for c, r in streets.items()}) if streets else None
    return MapSnapshot(
        version=version, grids=grids, grid_rows=grid_rows, communities=communities,
        streets=streets,
        designated={c: r["designated_grid"] for c, r in communities.items() if r["designated_grid"]},
        community_street={c: r["street_code"] for c, r in communities.items()},
        kept=kept, workers=workers,
        workers_by_community={c: tuple(ws) for c, ws in by_community.items()},
        leave=leave, grid_index=grid_index, street_index=street_index)


class DistrictCache:
    """One in-memory ``MapSnapshot`` per read-model tables, reloaded when the map changes."""

    def __init__(self, tables: GridTables):
        self.t = tables
        self._snapshot: Optional[MapSnapshot] = None
        self.loads = 0

    def map_version(self, conn) -> int:
        meta = self.t.meta
        try:
            found = conn.execute(sa.select(meta.c.value).where(meta.c.key == "version")).scalar()
        except sa.exc.DBAPIError:
            return 0  # the projection has not created its tables yet
        return found or 0

    def snapshot(self, conn, today: Optional[dt.date] = None) -> MapSnapshot:
        """The current snapshot, reloaded first if the map projection moved on."""
        version = self.map_version(conn)
        current = self._snapshot
        if current is None or current.version != version:
            if version == 0:
                current = _EMPTY
            else:
                current = load_snapshot(conn, self.t, version, today)
                self.loads += 1
            self._snapshot = current
        return current


_EMPTY = MapSnapshot(0, {}, {}, {}, {}, {}, {}, {}, {}, {}, frozenset(), None, None)


class ServiceView:
    """``dispatch.DistrictView`` over a snapshot plus open tickets read in a transaction."""

    def __init__(self, snapshot: MapSnapshot, conn, tables: GridTables):
        self.s = snapshot
        self.conn = conn
        self.t = tables
        self._open: dict[str, int] = {}

    def grid(self, code):
        return self.s.grids.get(code)

    def locate(self, lat, lng):
        return self.s.locate(lat, lng)

    def locate_street(self, lat, lng):
        return self.s.locate_street(lat, lng)

    def designated_grid(self, community_code):
        return self.s.designated.get(community_code)

    def street_of(self, community_code):
        return self.s.community_street.get(community_code)

    def department_keeping(self, category_code):
        return self.s.kept.get(category_code)

    def is_on_duty(self, worker_id, day):
        return self.s.is_on_duty(worker_id, day)

    def community_workers(self, community_code) -> Sequence[str]:
        return self.s.workers_by_community.get(community_code, ())

    def open_tickets(self, worker_id) -> int:
        if worker_id not in self._open:
            tk = self.t.tickets
            self._open[worker_id] = self.conn.execute(
                sa.select(sa.func.count()).select_from(tk).where(
                    tk.c.assignee_kind == "worker", tk.c.assignee_id == worker_id,
                    tk.c.open.is_(True))).scalar_one()
        return self._open[worker_id]
