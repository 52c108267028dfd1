"""The grid's read models, folded from its own log: the map and its people, and patrols.

``MapProjection`` keeps streets, communities, grids (with boundaries and A/B posts), workers,
the leave roster and the departments' kept categories, and bumps ``map_meta.version`` on
every page that changed any of them, so the in-memory ``DistrictCache`` (context.py) knows
when to reload. ``PatrolProjection`` keeps patrols and the windows already marked missed.
"""
from __future__ import annotations

import json
from typing import Sequence

import sqlalchemy as sa

from onegrid.envelope import Envelope
from onegrid.projections import Projection

from .tables import GridTables

MAP_EVENTS = frozenset({
    "StreetRegistered", "CommunityRegistered", "GridDrawn", "CommunityGridDesignated",
    "DepartmentRegistered", "DepartmentCategoriesSet", "WorkerEnrolled", "WorkerPosted",
    "WorkerMoved", "LeaveGranted", "WorkerLeft"})
PATROL_EVENTS = frozenset({"PatrolStarted", "PatrolFinished", "ProblemReported", "PatrolMissed"})


def _json(value) -> str:
    return json.dumps(value, separators=(",", ":"))


class MapProjection(Projection):
    event_types = MAP_EVENTS

    def __init__(self, tables: GridTables):
        self.t = tables
        self.name = f"{tables.prefix}map"
        self.metadata = tables.metadata_of("streets", "communities", "grids", "workers", "leave",
                                           "departments", "meta")

    def apply_page(self, conn, envelopes: Sequence[Envelope]) -> None:
        changed = False
        for envelope in envelopes:
            if envelope.event_type in MAP_EVENTS:
                self.apply(conn, envelope)
                changed = True
        if changed:
            meta = self.t.meta
            if conn.execute(meta.update().where(meta.c.key == "version")
                            .values(value=meta.c.value + 1)).rowcount == 0:
                conn.execute(meta.insert().values(key="version", value=1))

    def apply(self, conn, e: Envelope) -> None:
        t, p, kind = self.t, e.payload, e.event_type
        if kind == "StreetRegistered":
            conn.execute(t.streets.insert().values(
                code=p["street_code"], name=p["name"], name_zh=p["name_zh"],
                boundary=_json(p["boundary"])))
        elif kind == "CommunityRegistered":
            conn.execute(t.communities.insert().values(
                code=p["community_code"], street_code=p["street_code"], name=p["name"],
                name_zh=p["name_zh"], boundary=_json(p["boundary"])))
        elif kind == "GridDrawn":
            conn.execute(t.grids.insert().values(
                code=p["grid_code"], community_code=p["community_code"],
                street_code=p["street_code"], kind=p["kind"], purpose=p["purpose"],
                boundary=_json(p["boundary"]), drawn_at=e.recorded_at.isoformat()))
        elif kind == "CommunityGridDesignated":
            conn.execute(t.communities.update().where(t.communities.c.code == p["community_code"])
                         .values(designated_grid=p["grid_code"]))
        elif kind == "DepartmentRegistered":
            conn.execute(t.departments.insert().values(
                code=p["department_code"], name=p["name"], name_zh=p["name_zh"], categories="[]"))
        elif kind == "DepartmentCategoriesSet":
            conn.execute(t.departments.update().where(t.departments.c.code == p["department_code"])
                         .values(categories=_json(p["categories"])))
        elif kind == "WorkerEnrolled":
            conn.execute(t.workers.insert().values(
                worker_id=p["worker_id"], community_code=p["community_code"], name=p["name"]))
        elif kind == "WorkerPosted":
            self._set_post(conn, p["grid_code"], p["post"], p["worker_id"])
        elif kind == "WorkerMoved":
            self._set_post(conn, p["from_grid"], p["from_post"], None)
            self._set_post(conn, p["to_grid"], p["to_post"], p["worker_id"])
        elif kind == "LeaveGranted":
            exists = conn.execute(sa.select(t.leave.c.day).where(
                t.leave.c.worker_id == p["worker_id"], t.leave.c.day == p["day"])).first()
            if exists is None:
                conn.execute(t.leave.insert().values(worker_id=p["worker_id"], day=p["day"]))
        elif kind == "WorkerLeft":
            conn.execute(t.workers.update().where(t.workers.c.worker_id == p["worker_id"])
                         .values(left_on=p["day"]))
            g = t.grids
            conn.execute(g.update().where(g.c.post_a == p["worker_id"]).values(post_a=None))
            conn.execute(g.update().where(g.c.post_b == p["worker_id"]).values(post_b=None))

    def _set_post(self, conn, grid_code, post, worker_id) -> None:
        column = "post_a" if post == "A" else "post_b"
        conn.execute(self.t.grids.update().where(self.t.grids.c.code == grid_code)
                     .values(**{column: worker_id}))


class PatrolProjection(Projection):
    event_types = PATROL_EVENTS

    def __init__(self, tables: GridTables):
        self.t = tables
        self.name = f"{tables.prefix}patrols"
        self.metadata = tables.metadata_of("patrols", "missed")

    def apply(self, conn, e: Envelope) -> None:
        t, p, kind = self.t, e.payload, e.event_type
        if kind == "PatrolStarted":
            conn.execute(t.patrols.insert().values(
                patrol_id=p["patrol_id"], grid_code=p["grid_code"], worker_id=p["worker_id"],
                started_at=p["at"], start_lat=p["lat"], start_lng=p["lng"],
                outside_grid=p["outside_grid"], problems=0))
        elif kind == "PatrolFinished":
            conn.execute(t.patrols.update().where(t.patrols.c.patrol_id == p["patrol_id"])
                         .values(finished_at=p["at"], finished_outside_grid=p["outside_grid"]))
        elif kind == "ProblemReported":
            conn.execute(t.patrols.update().where(t.patrols.c.patrol_id == p["patrol_id"])
                         .values(problems=t.patrols.c.problems + 1))
        elif kind == "PatrolMissed":
            conn.execute(t.missed.insert().values(grid_code=p["grid_code"], day=p["day"],
                                                  window=p["window"]))


def projections(ctx) -> list[Projection]:
    """The grid's read models over the context's tables."""
    return [MapProjection(ctx.tables), PatrolProjection(ctx.tables)]
