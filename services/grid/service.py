"""The nameko service ``grid``: the map, the people, patrols, and who handles each ticket.

Thin shell: validate with ``schemas.COMMAND_SCHEMAS``, run a handler in one store transaction,
return the result. Build the class with ``make_service(...)``: the service's own name, the
name of the tickets service it consumes, the patrol timer's interval and the clock are fixed
when the class is made (``SERVICE = make_service()`` is the production one; tests make their
own with random names and an injected clock).
"""
from __future__ import annotations

import datetime as dt
from typing import Callable, Optional

import marshmallow
import sqlalchemy as sa
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from nameko.timer import timer

from onegrid.envelope import Actor
from onegrid.runtime import EventLogRpc, Inbox, Store, consume

from . import handlers as h
from .dispatch import decide
from .domain import InvalidInput, TicketDispatch, UnknownGrid, UnknownWorker
from .patrols import PatrolRecord, load_schedule, missed_windows
from .projections import make_projections
from .registry import REGISTRY
from .schemas import COMMAND_SCHEMAS
from .tables import make_tables
from .view import DistrictCache, ServiceView

MISSED_BATCH = 100


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def load_input(schema_name: str, data: dict) -> dict:
    """Load RPC input through its schema; InvalidInput names every bad field."""
    try:
        return COMMAND_SCHEMAS[schema_name]().load(data)
    except marshmallow.ValidationError as error:
        raise InvalidInput(error.messages) from None


def _actor(actor: Optional[dict]) -> Actor:
    if not actor:
        return Actor("rpc", "system")
    if not isinstance(actor, dict) or not actor.get("id") or not actor.get("role"):
        raise InvalidInput({"actor": ["give the actor as {'id': ..., 'role': ...}"]})
    return Actor(str(actor["id"]), str(actor["role"]))


class GridParts(DependencyProvider):
    """Hands workers the dispatcher (read-model tables, district view, rule, schedule)."""

    def __init__(self, dispatcher: h.Dispatcher):
        self.dispatcher = dispatcher

    def get_dependency(self, worker_ctx):
        return self.dispatcher


def make_service(name: str = "grid", tickets: str = "tickets", *,
                 clock: Callable[[], dt.datetime] = utc_now,
                 patrol_check_seconds: float = 30.0, schedule=None, rule=None):
    """Build the grid service class (tables are prefixed ``<name>_``)."""
    tables = make_tables(f"{name}_")
    projections = make_projections(f"{name}_")
    schedule = schedule or load_schedule()
    dispatcher = h.Dispatcher(tables, DistrictCache(tables), schedule, rule)
    reactions = dispatcher.reactions()

    class GridService(EventLogRpc):
        store = Store(REGISTRY, projections=projections)
        inbox = Inbox({tickets: reactions})
        parts = GridParts(dispatcher)

        tickets_service = tickets

        # --- helpers ---------------------------------------------------------------------

        def _command(self, schema, handler, data, actor=None, **extra):
            kwargs = load_input(schema, data)
            # settle: a caller that registers a grid and then patrols it must find it
            return self.store.command(lambda uow: handler(uow, tables, **kwargs, **extra),
                                      actor=_actor(actor), settle=True)

        def _today(self) -> dt.date:
            return clock().astimezone(schedule.timezone).date()

        def _snapshot(self):
            return self.store.read(lambda conn: dispatcher.cache.snapshot(conn, self._today()))

        def _reassign(self, worker_id, day, trigger) -> int:
            return self.store.command(
                lambda uow: dispatcher.reassign_from(uow, worker_id, day, trigger))

        # --- the map ---------------------------------------------------------------------

        @rpc
        def register_street(self, actor=None, **fields):
            """Register a street office with its boundary (it may not overlap another street)."""
            return self._command("RegisterStreet", h.register_street, fields, actor)

        @rpc
        def register_community(self, actor=None, **fields):
            """Register a community inside its street office."""
            return self._command("RegisterCommunity", h.register_community, fields, actor)

        @rpc
        def register_grid(self, actor=None, **fields):
            """Draw a grid inside its community (valid polygon, no overlap with its siblings)."""
            return self._command("DrawGrid", h.draw_grid, fields, actor)

        @rpc
        def designate_grid(self, actor=None, **fields):
            """Name the grid that takes a community's tickets known only by their community."""
            return self._command("DesignateGrid", h.designate_grid, fields, actor)

        @rpc
        def register_department(self, actor=None, **fields):
            return self._command("RegisterDepartment", h.register_department, fields, actor)

        @rpc
        def set_department_categories(self, actor=None, **fields):
            """Set the ticket categories a department keeps instead of admitting them to the grid."""
            return self._command("SetDepartmentCategories", h.set_department_categories,
                                 fields, actor)

        # --- the people ------------------------------------------------------------------

        @rpc
        def enroll_worker(self, actor=None, **fields):
            return self._command("EnrollWorker", h.enroll_worker, fields, actor)

        @rpc
        def post_worker(self, actor=None, **fields):
            """Give a worker the A or B post of a grid."""
            return self._command("PostWorker", h.post_worker, fields, actor, today=self._today())

        @rpc
        def move_worker(self, actor=None, **fields):
            return self._command("MoveWorker", h.move_worker, fields, actor, today=self._today())

        @rpc
        def grant_leave(self, actor=None, **fields):
            """Put a worker on leave for a day (refused if their A/B partner is away that day)."""
            result = self._command("GrantLeave", h.grant_leave, fields, actor)
            day = dt.date.fromisoformat(result["day"])
            if day == self._today():
                result["reassigned"] = self._reassign(result["worker_id"], day, "worker_on_leave")
            return result

        @rpc
        def record_worker_left(self, actor=None, **fields):
            """Record that a worker leaves the job; their posts fall vacant, their tickets move."""
            result = self._command("RecordWorkerLeft", h.record_worker_left, fields, actor)
            day = dt.date.fromisoformat(result["left_on"])
            if day <= self._today():
                result["reassigned"] = self._reassign(result["worker_id"], self._today(),
                                                      "worker_left")
            return result

        # --- patrols ---------------------------------------------------------------------

        @rpc
        def start_patrol(self, actor=None, **fields):
            """Check in for a patrol; a start outside the grid is recorded and flagged."""
            return self._command("StartPatrol", h.start_patrol, fields, actor)

        @rpc
        def finish_patrol(self, actor=None, **fields):
            return self._command("FinishPatrol", h.finish_patrol, fields, actor)

        @rpc
        def report_problem(self, actor=None, **fields):
            """Report a problem found on a patrol: ``ProblemReported``, which tickets opens as a ticket."""
            return self._command("ReportProblem", h.report_problem, fields, actor)

        @timer(interval=patrol_check_seconds)
        def check_patrols(self):
            """Record missed patrol windows and move tickets away from workers who are away."""
            self.record_missed_patrols()
            today = self._today()
            for worker_id, trigger in self.store.read(
                    lambda conn: dispatcher.workers_away(conn, today)):
                self._reassign(worker_id, today, trigger)

        def record_missed_patrols(self) -> int:
            now = clock()
            config = self.store.keeper.container.config
            grace = dt.timedelta(seconds=float(config.get("GRID_PATROL_GRACE_SECONDS", 60)))
            lookback = int(config.get("GRID_PATROL_LOOKBACK_DAYS", 1))
            rounds = self.store.read(lambda conn: _missed_rounds(conn, tables, schedule,
                                                                 now - grace, lookback))
            recorded = 0
            for i in range(0, len(rounds), MISSED_BATCH):
                batch = rounds[i:i + MISSED_BATCH]
                recorded += self.store.command(lambda uow: h.record_missed(uow, batch),
                                               retries=20)
            return recorded

        # --- reads -----------------------------------------------------------------------

        @rpc
        def locate(self, lat, lng):
            """The grid (with its community and street) holding a point, or None."""
            point = load_input("Locate", {"lat": lat, "lng": lng})
            snap = self._snapshot()
            code = snap.locate(point["lat"], point["lng"])
            if code is None:
                return None
            grid = snap.grids[code]
            return {"grid_code": code, "community_code": grid.community_code,
                    "street_code": grid.street_code}

        @rpc
        def grid(self, grid_code):
            snap = self._snapshot()
            row = snap.grid_rows.get(grid_code)
            if row is None:
                raise UnknownGrid(f"no grid {grid_code!r}")
            return _grid_out(row, boundary=True)

        @rpc
        def grids(self, community_code=None):
            rows = self._snapshot().grid_rows.values()
            return [_grid_out(r) for r in sorted(rows, key=lambda r: r["code"])
                    if community_code is None or r["community_code"] == community_code]

        @rpc
        def streets(self):
            return [{"street_code": c, "name": r["name"], "name_zh": r["name_zh"]}
                    for c, r in sorted(self._snapshot().streets.items())]

        @rpc
        def communities(self, street_code=None):
            snap = self._snapshot()
            return [{"community_code": c, "street_code": r["street_code"], "name": r["name"],
                     "designated_grid": r["designated_grid"]}
                    for c, r in sorted(snap.communities.items())
                    if street_code is None or r["street_code"] == street_code]

        @rpc
        def departments(self):
            snap = self._snapshot()
            kept: dict[str, list] = {}
            for category, department in snap.kept.items():
                kept.setdefault(department, []).append(category)
            return self.store.read(lambda conn: [
                {"department_code": r["code"], "name": r["name"], "name_zh": r["name_zh"],
                 "categories": sorted(kept.get(r["code"], []))}
                for r in conn.execute(sa.select(tables.departments)
                                      .order_by(tables.departments.c.code)).mappings()])

        @rpc
        def worker(self, worker_id):
            snap = self._snapshot()
            info = snap.workers.get(worker_id)
            if info is None:
                raise UnknownWorker(f"no worker {worker_id!r}")
            posts = sorted([(g.code, "A") for g in snap.grids.values() if g.post_a == worker_id]
                           + [(g.code, "B") for g in snap.grids.values() if g.post_b == worker_id])
            open_tickets = self.store.read(lambda conn: dispatcher.open_tickets_of(conn, worker_id))
            return {"worker_id": worker_id, "community_code": info["community_code"],
                    "name": info["name"],
                    "left_on": info["left_on"].isoformat() if info["left_on"] else None,
                    "posts": [list(p) for p in posts], "open_tickets": open_tickets}

        @rpc
        def roster(self, community_code, day):
            """Who of a community is on duty and who is away on a day."""
            when = load_input("GrantLeave", {"worker_id": "-", "community_code": community_code,
                                             "day": day})["day"]
            snap = self.store.read(lambda conn: dispatcher.cache.snapshot(conn, when))
            workers = snap.workers_by_community.get(community_code, ())
            return {"community_code": community_code, "day": when.isoformat(),
                    "on_duty": [w for w in workers if snap.is_on_duty(w, when)],
                    "away": [w for w in workers if not snap.is_on_duty(w, when)]}

        @rpc
        def patrols(self, grid_code, day=None):
            t = tables.patrols

            def query(conn):
                stmt = sa.select(t).where(t.c.grid_code == grid_code).order_by(t.c.started_at)
                return [dict(r) for r in conn.execute(stmt).mappings()]
            rows = self.store.read(query)
            if day is not None:
                rows = [r for r in rows if dt.datetime.fromisoformat(r["started_at"])
                        .astimezone(schedule.timezone).date().isoformat() == day]
            return rows

        @rpc
        def missed_patrols(self, grid_code=None, day=None):
            t = tables.missed

            def query(conn):
                stmt = sa.select(t).order_by(t.c.day, t.c.grid_code, t.c.window)
                if grid_code:
                    stmt = stmt.where(t.c.grid_code == grid_code)
                if day:
                    stmt = stmt.where(t.c.day == day)
                return [dict(r) for r in conn.execute(stmt).mappings()]
            return self.store.read(query)

        @rpc
        def dispatch_of(self, ticket_id):
            """Every decision made for a ticket, oldest first."""
            events = self.store.read_stream(TicketDispatch.stream_id(ticket_id))
            return [dict(e.payload, decided_at=e.recorded_at.isoformat()) for e in events]

        @rpc
        def preview_dispatch(self, **fields):
            """Who would handle a ticket with these facts now (records nothing)."""
            kwargs = load_input("DispatchTicket", fields)
            kwargs["exclude_workers"] = frozenset(kwargs["exclude_workers"])
            facts = h.rule_mod.TicketFacts(**kwargs)

            def run(conn):
                view = ServiceView(dispatcher.cache.snapshot(conn, facts.day), conn, tables)
                return decide(facts, view, rule).event_fields()
            return self.store.read(run)

        @rpc
        def status(self):
            """How much of the map the read models hold (tests and ops wait on it)."""
            snap = self._snapshot()
            return {"map_version": snap.version, "streets": len(snap.streets),
                    "communities": len(snap.communities), "grids": len(snap.grids),
                    "workers": len(snap.workers), "departments": len(set(snap.kept.values())),
                    "posts": sum((g.post_a is not None) + (g.post_b is not None)
                                 for g in snap.grids.values())}

        @consume(tickets, list(h.TICKET_EVENTS))
        def on_ticket_event(self, event):
            """Dispatch on TicketOpened and TicketReturned; track who holds which open ticket."""
            return self.inbox.apply(tickets, event)

    GridService.name = name
    GridService.__name__ = GridService.__qualname__ = f"GridService_{name}"
    return GridService


def _grid_out(row: dict, boundary: bool = False) -> dict:
    import json
    out = {"grid_code": row["code"], "community_code": row["community_code"],
           "street_code": row["street_code"], "kind": row["kind"], "purpose": row["purpose"],
           "post_a": row["post_a"], "post_b": row["post_b"]}
    if boundary:
        out["boundary"] = json.loads(row["boundary"])
    return out


def _missed_rounds(conn, tables, schedule, now, lookback_days):
    """The (grid, day, window) rounds that closed by ``now`` with no patrol and no record yet."""
    today = now.astimezone(schedule.timezone).date()
    since = today - dt.timedelta(days=lookback_days)
    g, p, m = tables.grids, tables.patrols, tables.missed
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


SERVICE = make_service()
