"""Reads over the grid's read models: the district view dispatch decides on, and the queries.

Every function takes ``q`` (what ``self.store.query`` hands out, or a handler's ``uow``: both
have ``connection``) and the service's ``ctx``.

**The district view.** ``DistrictCache.snapshot(conn)`` reads ``map_meta.version`` (one row)
and reloads the map, posts, roster and departments only when the map projection moved; the
grid and street ``GridIndex`` (STRtree) are rebuilt then. Reactions run on real OS threads
(eventlet's ``tpool``), so a reload builds a new immutable ``MapSnapshot`` and swaps it in one
assignment. Open tickets per worker are read from the reactions' ``tickets`` table inside the
caller's transaction, so decisions in a burst see each other's workload.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Optional, Sequence

import sqlalchemy as sa

from .domain import TicketDispatch, UnknownGrid, UnknownWorker
from .domain.dispatch_rule import GridFacts, TicketFacts, decide, kept_categories
from .domain.patrol_schedule import PatrolRecord, missed_windows
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


EMPTY = MapSnapshot(0, {}, {}, {}, {}, {}, {}, {}, {}, {}, frozenset(), None, None)


def map_version(conn, t: GridTables) -> int:
    """How often the map projection changed the map (0: nothing folded yet)."""
    meta = t.meta
    try:
        found = conn.execute(sa.select(meta.c.value).where(meta.c.key == "version")).scalar()
    except sa.exc.DBAPIError:
        return 0  # the projection has not created its tables yet
    return found or 0


class ServiceView:
    """``dispatch_rule.DistrictView`` over a snapshot plus open tickets read in a transaction."""

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


def snapshot(q, ctx, day: Optional[dt.date] = None) -> MapSnapshot:
    """The district as the read models hold it now."""
    return ctx.cache.snapshot(q.connection, day or ctx.today())


def view(q, ctx, day: dt.date) -> ServiceView:
    """The ``DistrictView`` dispatch decides on, inside ``q``'s transaction."""
    return ServiceView(snapshot(q, ctx, day), q.connection, ctx.tables)


# --- what handlers read -------------------------------------------------------------------------

def _rings(q, table, *where) -> dict:
    return {r["code"]: tuple(tuple(p) for p in json.loads(r["boundary"]))
            for r in q.connection.execute(sa.select(table.c.code, table.c.boundary)
                                          .where(*where)).mappings()}


def street_boundaries(q, ctx) -> dict:
    """``{street code: ring}`` of every registered street."""
    return _rings(q, ctx.tables.streets)


def community_boundaries(q, ctx, street_code: str) -> dict:
    """``{community code: ring}`` of the street's registered communities."""
    t = ctx.tables.communities
    return _rings(q, t, t.c.street_code == street_code)


def community_of_grid(q, ctx, grid_code: str) -> Optional[str]:
    g = ctx.tables.grids
    return q.connection.execute(sa.select(g.c.community_code).where(g.c.code == grid_code)).scalar()


def community_of_worker(q, ctx, worker_id: str) -> Optional[str]:
    w = ctx.tables.workers
    return q.connection.execute(sa.select(w.c.community_code)
                                .where(w.c.worker_id == worker_id)).scalar()


def ticket(q, ctx, ticket_id: str) -> Optional[dict]:
    """What the grid remembers of a ticket (its facts, holder, open or not), or None."""
    tk = ctx.tables.tickets
    found = q.connection.execute(sa.select(tk).where(tk.c.ticket_id == ticket_id)).mappings().first()
    return dict(found) if found else None


def open_tickets_of(q, ctx, worker_id: str) -> list[dict]:
    """The open tickets ``worker_id`` holds, by ticket id."""
    tk = ctx.tables.tickets
    return [dict(r) for r in q.connection.execute(sa.select(tk).where(
        tk.c.assignee_kind == "worker", tk.c.assignee_id == worker_id,
        tk.c.open.is_(True)).order_by(tk.c.ticket_id)).mappings()]


def workers_away(q, ctx, day: dt.date) -> list[tuple[str, str]]:
    """(worker, trigger) for workers away on ``day`` who still hold open tickets."""
    t, conn = ctx.tables, q.connection
    tk = t.tickets
    holders = sorted({r[0] for r in conn.execute(sa.select(tk.c.assignee_id).distinct().where(
        tk.c.assignee_kind == "worker", tk.c.open.is_(True)))})
    if not holders:
        return []
    away = [(r[0], "worker_left") for r in conn.execute(
        sa.select(t.workers.c.worker_id, t.workers.c.left_on).where(
            t.workers.c.worker_id.in_(holders)))
        if r[1] is not None and dt.date.fromisoformat(r[1]) <= day]
    on_leave = {r[0] for r in conn.execute(sa.select(t.leave.c.worker_id).where(
        t.leave.c.day == day.isoformat(), t.leave.c.worker_id.in_(holders)))}
    away.extend((w, "worker_on_leave") for w in sorted(on_leave - {w for w, _ in away}))
    return away


def missed_rounds(q, ctx, now: dt.datetime) -> list[tuple[str, dt.date, str]]:
    """The rounds that closed by ``now`` less the grace, with no patrol and no record yet."""
    schedule, conn = ctx.schedule, q.connection
    now = now - ctx.patrol_grace
    since = now.astimezone(schedule.timezone).date() - dt.timedelta(days=ctx.patrol_lookback_days)
    g, p, m = ctx.tables.grids, ctx.tables.patrols, ctx.tables.missed
    drawn = {r[0]: dt.datetime.fromisoformat(r[1])
             for r in conn.execute(sa.select(g.c.code, g.c.drawn_at))}
    earliest = dt.datetime.combine(since - dt.timedelta(days=1), dt.time(), schedule.timezone)
    patrols = [PatrolRecord(r[0], dt.datetime.fromisoformat(r[1]), bool(r[2]))
               for r in conn.execute(sa.select(p.c.grid_code, p.c.started_at, p.c.outside_grid))
               if dt.datetime.fromisoformat(r[1]) >= earliest]
    recorded = [(r[0], dt.date.fromisoformat(r[1]), r[2]) for r in conn.execute(
        sa.select(m.c.grid_code, m.c.day, m.c.window).where(m.c.day >= since.isoformat()))]
    windows = {w.name: w for w in schedule.windows}
    rounds = missed_windows(drawn, patrols, schedule, now, since=since, already_recorded=recorded)
    # a grid drawn after a window closed could not have been patrolled in it
    return [r for r in rounds if drawn[r[0]] < schedule.ends_at(r[1], windows[r[2]])]


# --- what callers read ---------------------------------------------------------------------------

def locate(q, ctx, lat: float, lng: float) -> Optional[dict]:
    """The grid (with its community and street) holding a point, or None."""
    snap = snapshot(q, ctx)
    code = snap.locate(lat, lng)
    if code is None:
        return None
    grid = snap.grids[code]
    return {"grid_code": code, "community_code": grid.community_code,
            "street_code": grid.street_code}


def _grid_out(row: dict, boundary: bool = False) -> dict:
    out = {"grid_code": row["code"], "community_code": row["community_code"],
           "street_code": row["street_code"], "kind": row["kind"], "purpose": row["purpose"],
           "post_a": row["post_a"], "post_b": row["post_b"]}
    if boundary:
        out["boundary"] = json.loads(row["boundary"])
    return out


def grid(q, ctx, grid_code: str) -> dict:
    row = snapshot(q, ctx).grid_rows.get(grid_code)
    if row is None:
        raise UnknownGrid(f"no grid {grid_code!r}")
    return _grid_out(row, boundary=True)


def grids(q, ctx, community_code: Optional[str] = None) -> list[dict]:
    rows = snapshot(q, ctx).grid_rows.values()
    return [_grid_out(r) for r in sorted(rows, key=lambda r: r["code"])
            if community_code is None or r["community_code"] == community_code]


def streets(q, ctx) -> list[dict]:
    return [{"street_code": c, "name": r["name"], "name_zh": r["name_zh"]}
            for c, r in sorted(snapshot(q, ctx).streets.items())]


def communities(q, ctx, street_code: Optional[str] = None) -> list[dict]:
    return [{"community_code": c, "street_code": r["street_code"], "name": r["name"],
             "designated_grid": r["designated_grid"]}
            for c, r in sorted(snapshot(q, ctx).communities.items())
            if street_code is None or r["street_code"] == street_code]


def departments(q, ctx) -> list[dict]:
    kept: dict[str, list] = {}
    for category, department in snapshot(q, ctx).kept.items():
        kept.setdefault(department, []).append(category)
    t = ctx.tables.departments
    return [{"department_code": r["code"], "name": r["name"], "name_zh": r["name_zh"],
             "categories": sorted(kept.get(r["code"], []))}
            for r in q.connection.execute(sa.select(t).order_by(t.c.code)).mappings()]


def worker(q, ctx, worker_id: str) -> dict:
    snap = snapshot(q, ctx)
    info = snap.workers.get(worker_id)
    if info is None:
        raise UnknownWorker(f"no worker {worker_id!r}")
    posts = sorted([(g.code, "A") for g in snap.grids.values() if g.post_a == worker_id]
                   + [(g.code, "B") for g in snap.grids.values() if g.post_b == worker_id])
    return {"worker_id": worker_id, "community_code": info["community_code"],
            "name": info["name"],
            "left_on": info["left_on"].isoformat() if info["left_on"] else None,
            "posts": [list(p) for p in posts],
            "open_tickets": [r["ticket_id"] for r in open_tickets_of(q, ctx, worker_id)]}


def roster(q, ctx, community_code: str, day: dt.date) -> dict:
    """Who of a community is on duty and who is away on a day."""
    snap = snapshot(q, ctx, day)
    workers = snap.workers_by_community.get(community_code, ())
    return {"community_code": community_code, "day": day.isoformat(),
            "on_duty": [w for w in workers if snap.is_on_duty(w, day)],
            "away": [w for w in workers if not snap.is_on_duty(w, day)]}


def patrols(q, ctx, grid_code: str, day: Optional[str] = None) -> list[dict]:
    t = ctx.tables.patrols
    rows = [dict(r) for r in q.connection.execute(
        sa.select(t).where(t.c.grid_code == grid_code).order_by(t.c.started_at)).mappings()]
    if day is not None:
        rows = [r for r in rows if dt.datetime.fromisoformat(r["started_at"])
                .astimezone(ctx.schedule.timezone).date().isoformat() == day]
    return rows


def missed_patrols(q, ctx, grid_code: Optional[str] = None, day: Optional[str] = None) -> list[dict]:
    t = ctx.tables.missed
    stmt = sa.select(t).order_by(t.c.day, t.c.grid_code, t.c.window)
    if grid_code:
        stmt = stmt.where(t.c.grid_code == grid_code)
    if day:
        stmt = stmt.where(t.c.day == day)
    return [dict(r) for r in q.connection.execute(stmt).mappings()]


def dispatch_of(q, ctx, ticket_id: str) -> list[dict]:
    """Every decision made for a ticket, oldest first."""
    return [dict(e.payload, decided_at=e.recorded_at.isoformat())
            for e in q.read_stream(TicketDispatch.stream_id(ticket_id))]


def preview_dispatch(q, ctx, facts: TicketFacts) -> dict:
    """Who would handle a ticket with these facts now (records nothing)."""
    return decide(facts, view(q, ctx, facts.day), ctx.rule).event_fields()


def status(q, ctx) -> dict:
    """How much of the map the read models hold (tests and ops wait on it)."""
    snap = snapshot(q, ctx)
    return {"map_version": snap.version, "streets": len(snap.streets),
            "communities": len(snap.communities), "grids": len(snap.grids),
            "workers": len(snap.workers), "departments": len(set(snap.kept.values())),
            "posts": sum((g.post_a is not None) + (g.post_b is not None)
                         for g in snap.grids.values())}
