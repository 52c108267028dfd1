"""Command handlers and reactions: load, decide, save — collaborators passed in.

Each command handler takes a ``UnitOfWork`` (one store transaction) and the loaded command
(keyword arguments from ``schemas.COMMAND_SCHEMAS``). Reactions to the tickets service's events
take ``(uow, envelope)`` and are bound to a ``Dispatcher`` that holds the read-model tables,
the in-memory district view, the dispatch rule and the node's patrol schedule.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Iterable, Optional

import sqlalchemy as sa

from onegrid.envelope import Envelope
from onegrid.uow import UnitOfWork

from . import dispatch as rule_mod
from .domain import (AlreadyRegistered, Community, Department, NotRegistered, Patrol,
                     PatrolRound, Street, TicketDispatch, UnknownGrid, UnknownWorker)
from .domain import events as ev
from .geo import SHAPELY
from .patrols import PatrolSchedule
from .tables import GridTables
from .view import DistrictCache, ServiceView

# the event types that may open each aggregate's stream: anything else there is another's
_FIRST = {Street: {"StreetRegistered"}, Community: {"CommunityRegistered"},
          Department: {"DepartmentRegistered"}, Patrol: {"PatrolStarted"}}


def load(uow: UnitOfWork, cls, stream_id: str):
    """The aggregate at ``stream_id`` (a fresh one if the stream is empty).

    Refuses a stream that belongs to another kind of aggregate, so a patrol id can never
    write into a community's stream.
    """
    envelopes = uow.tx.read_stream(stream_id)
    if not envelopes:
        return cls(stream_id)
    first = _FIRST.get(cls)
    if first is not None and envelopes[0].event_type not in first:
        raise AlreadyRegistered(f"id {stream_id!r} is already used by a "
                                f"{envelopes[0].event_type.replace('Registered', '').lower()} "
                                f"stream; choose another {cls.__name__.lower()} id")
    return cls.rehydrate(stream_id, (uow.registry.to_domain(e) for e in envelopes))


def _rows(conn, table, column, value) -> dict:
    return {r["code"]: tuple(tuple(p) for p in json.loads(r["boundary"]))
            for r in conn.execute(sa.select(table).where(column == value)
                                  if column is not None else sa.select(table)).mappings()}


# --- the map ---------------------------------------------------------------------------------

def register_street(uow, t: GridTables, *, street_code, name, name_zh, boundary):
    street = load(uow, Street, street_code)
    siblings = {c: b for c, b in _rows(uow.connection, t.streets, None, None).items()
                if c != street_code}
    street.register(name, name_zh, boundary, geometry=SHAPELY, siblings=siblings)
    uow.save(street)
    return {"street_code": street_code}


def register_community(uow, t: GridTables, *, community_code, street_code, name, name_zh,
                       boundary):
    street = load(uow, Street, street_code)
    if not street.registered:
        raise NotRegistered(f"street {street_code!r} is not registered; register it first")
    community = load(uow, Community, community_code)
    siblings = {c: b for c, b in _rows(uow.connection, t.communities, t.communities.c.street_code,
                                       street_code).items() if c != community_code}
    community.register(street_code, name, name_zh, boundary, geometry=SHAPELY,
                       street_boundary=street.boundary, siblings=siblings)
    uow.save(community)
    return {"community_code": community_code}


def _community(uow, code) -> Community:
    community = load(uow, Community, code)
    if not community.registered:
        raise NotRegistered(f"community {code!r} is not registered; register it first")
    return community


def draw_grid(uow, t, *, grid_code, community_code, kind, purpose, boundary):
    taken = uow.connection.execute(sa.select(t.grids.c.community_code).where(
        t.grids.c.code == grid_code)).scalar()
    if taken is not None and taken != community_code:
        raise AlreadyRegistered(f"grid {grid_code!r} is already drawn in community {taken}")
    community = _community(uow, community_code)
    community.draw_grid(grid_code, kind, boundary, geometry=SHAPELY, purpose=purpose)
    uow.save(community)
    return {"grid_code": grid_code}


def designate_grid(uow, t, *, community_code, grid_code):
    community = _community(uow, community_code)
    community.designate_grid(grid_code)
    uow.save(community)
    return {"community_code": community_code, "grid_code": grid_code}


def register_department(uow, t, *, department_code, name, name_zh):
    department = load(uow, Department, department_code)
    department.register(name, name_zh)
    uow.save(department)
    return {"department_code": department_code}


def set_department_categories(uow, t, *, department_code, categories):
    department = load(uow, Department, department_code)
    department.set_categories(categories)
    uow.save(department)
    return {"department_code": department_code, "categories": list(department.categories)}


# --- the people ------------------------------------------------------------------------------

def enroll_worker(uow, t, *, worker_id, community_code, name):
    elsewhere = uow.connection.execute(sa.select(t.workers.c.community_code).where(
        t.workers.c.worker_id == worker_id)).scalar()
    if elsewhere is not None and elsewhere != community_code:
        raise AlreadyRegistered(f"worker {worker_id!r} is already enrolled in community {elsewhere}")
    community = _community(uow, community_code)
    community.enroll(worker_id, name)
    uow.save(community)
    return {"worker_id": worker_id}


def post_worker(uow, t, *, worker_id, community_code, grid_code, post, today):
    community = _community(uow, community_code)
    community.post(worker_id, grid_code, post, today=today)
    uow.save(community)
    return {"worker_id": worker_id, "posts": community.posts_of(worker_id)}


def move_worker(uow, t, *, worker_id, community_code, from_grid, to_grid, to_post, today):
    community = _community(uow, community_code)
    community.move(worker_id, from_grid, to_grid, to_post, today=today)
    uow.save(community)
    return {"worker_id": worker_id, "posts": community.posts_of(worker_id)}


def grant_leave(uow, t, *, worker_id, community_code, day):
    community = _community(uow, community_code)
    community.grant_leave(worker_id, day)
    uow.save(community)
    return {"worker_id": worker_id, "day": day.isoformat()}


def record_worker_left(uow, t, *, worker_id, community_code, day, reason):
    community = _community(uow, community_code)
    community.leave(worker_id, day, reason)
    uow.save(community)
    return {"worker_id": worker_id, "left_on": day.isoformat()}


# --- patrols ----------------------------------------------------------------------------------

def _grid_community(uow, t, grid_code) -> tuple[Community, str]:
    code = uow.connection.execute(sa.select(t.grids.c.community_code).where(
        t.grids.c.code == grid_code)).scalar()
    if code is None:
        raise UnknownGrid(f"no grid {grid_code!r}; locate(lat, lng) finds a grid by its location")
    return _community(uow, code), code


def start_patrol(uow, t, *, patrol_id, grid_code, worker_id, at, lat, lng):
    community, _ = _grid_community(uow, t, grid_code)
    if worker_id not in community.workers:
        raise UnknownWorker(f"worker {worker_id!r} is not enrolled in community {community.id}, "
                            f"which grid {grid_code} belongs to")
    patrol = load(uow, Patrol, patrol_id)
    outside = not SHAPELY.contains(community.grids[grid_code].boundary, lat, lng)
    patrol.start(grid_code, worker_id, at, lat, lng, outside_grid=outside)
    uow.save(patrol)
    return {"patrol_id": patrol_id, "outside_grid": outside}


def _started_patrol(uow, patrol_id) -> Patrol:
    patrol = load(uow, Patrol, patrol_id)
    if not patrol.started:
        from .domain import PatrolNotStarted
        raise PatrolNotStarted(f"patrol {patrol_id!r} has not started; start it first")
    return patrol


def finish_patrol(uow, t, *, patrol_id, at, lat, lng):
    patrol = _started_patrol(uow, patrol_id)
    community, _ = _grid_community(uow, t, patrol.grid_code)
    outside = not SHAPELY.contains(community.grids[patrol.grid_code].boundary, lat, lng)
    patrol.finish(at, lat, lng, outside_grid=outside)
    uow.save(patrol)
    return {"patrol_id": patrol_id, "outside_grid": outside}


def report_problem(uow, t, *, patrol_id, problem_id, at, category_code, description, lat, lng):
    patrol = _started_patrol(uow, patrol_id)
    community, _ = _grid_community(uow, t, patrol.grid_code)
    patrol.report_problem(problem_id, at, category_code, description, lat, lng,
                          community_code=community.id, street_code=community.street_code)
    uow.save(patrol)
    return {"patrol_id": patrol_id, "problem_id": problem_id, "grid_code": patrol.grid_code,
            "community_code": community.id, "street_code": community.street_code}


def record_missed(uow, rounds: Iterable[tuple[str, dt.date, str]]) -> int:
    """Record ``PatrolMissed`` on each (grid, day, window) round not recorded yet; returns how many."""
    recorded = 0
    for grid_code, day, window in rounds:
        stream = PatrolRound.stream_id(grid_code, day, window)
        patrol_round = load(uow, PatrolRound, stream)
        if patrol_round.record_missed(grid_code, day, window):
            uow.save(patrol_round)
            recorded += 1
    return recorded


# --- dispatch ---------------------------------------------------------------------------------

TICKET_EVENTS = (  # every event type of the tickets service (checked by a test against its schemas)
    "TicketOpened", "TicketDispatched", "TicketAccepted", "TicketReturned", "TicketResolved",
    "CallbackRecorded", "TicketClosed", "TicketReopened", "ExtensionRequested",
    "ExtensionGranted", "ExtensionDenied", "TicketOverdue", "TicketSupervised",
    "TicketEscalated", "TicketMerged", "TicketCancelled")
_DONE = {"TicketResolved", "TicketClosed", "TicketCancelled", "TicketMerged"}


@dataclasses.dataclass
class Dispatcher:
    """Decides who handles tickets, inside the inbox's (or a command's) transaction."""

    tables: GridTables
    cache: DistrictCache
    schedule: PatrolSchedule
    rule: Optional[rule_mod.DispatchRule] = None

    def local_day(self, at: dt.datetime) -> dt.date:
        return at.astimezone(self.schedule.timezone).date()

    def view(self, uow, day: Optional[dt.date] = None) -> ServiceView:
        return ServiceView(self.cache.snapshot(uow.connection, day), uow.connection, self.tables)

    # reactions -----------------------------------------------------------------------------

    def reactions(self) -> dict:
        react = {"TicketOpened": self.on_opened, "TicketReturned": self.on_returned,
                 "TicketReopened": self.on_reopened}
        react.update({name: self.on_done for name in _DONE})
        return react

    def on_opened(self, uow: UnitOfWork, e: Envelope) -> None:
        p = e.payload
        at = dt.datetime.fromisoformat(p["at"])
        row = dict(ticket_id=p["ticket_id"], category_code=p["category_code"],
                   day=self.local_day(at).isoformat(), lat=p.get("lat"), lng=p.get("lng"),
                   grid_code=p.get("grid_code"), street=p.get("street"),
                   community=p.get("community"), open=True, version=e.version)
        tk = self.tables.tickets
        conn = uow.connection
        if conn.execute(tk.update().where(tk.c.ticket_id == row["ticket_id"]).values(**row)).rowcount == 0:
            conn.execute(tk.insert().values(**row))
        self._decide(uow, row, e.version, self.local_day(at), "opened", frozenset())

    def on_returned(self, uow: UnitOfWork, e: Envelope) -> None:
        p = e.payload
        row = self._ticket(uow, p["ticket_id"])
        if row is None:
            return  # opened before this service knew of it: nothing to decide from
        excluded = frozenset([p["assignee_id"]]) if p.get("assignee_kind") == "worker" else frozenset()
        at = dt.datetime.fromisoformat(p["at"])
        self._decide(uow, row, e.version, self.local_day(at), "returned", excluded)

    def on_reopened(self, uow: UnitOfWork, e: Envelope) -> None:
        p, tk = e.payload, self.tables.tickets
        uow.connection.execute(tk.update().where(tk.c.ticket_id == p["ticket_id"]).values(
            open=True, assignee_kind=p["assignee_kind"], assignee_id=p["assignee_id"],
            version=e.version))

    def on_done(self, uow: UnitOfWork, e: Envelope) -> None:
        tk = self.tables.tickets
        uow.connection.execute(tk.update().where(tk.c.ticket_id == e.payload["ticket_id"])
                               .values(open=False, version=e.version))

    # deciding ------------------------------------------------------------------------------

    def _ticket(self, uow, ticket_id) -> Optional[dict]:
        tk = self.tables.tickets
        found = uow.connection.execute(sa.select(tk).where(tk.c.ticket_id == ticket_id)).mappings().first()
        return dict(found) if found else None

    def facts(self, row: dict, version: int, day: dt.date,
              exclude: frozenset[str]) -> rule_mod.TicketFacts:
        return rule_mod.TicketFacts(
            ticket_id=row["ticket_id"], ticket_version=version, category_code=row["category_code"],
            day=day, grid_code=row["grid_code"], lat=row["lat"], lng=row["lng"],
            community_code=row["community"], street_code=row["street"], exclude_workers=exclude)

    def _decide(self, uow, row, version, day, trigger, exclude) -> bool:
        decision = rule_mod.decide(self.facts(row, version, day, exclude), self.view(uow, day),
                                   self.rule)
        record = load(uow, TicketDispatch, TicketDispatch.stream_id(row["ticket_id"]))
        if not record.decide(**decision.event_fields(), trigger=trigger):
            return False
        uow.save(record)
        self._assign(uow, row["ticket_id"], decision)
        return True

    def _assign(self, uow, ticket_id, decision) -> None:
        tk = self.tables.tickets
        uow.connection.execute(tk.update().where(tk.c.ticket_id == ticket_id).values(
            assignee_kind=decision.assignee_kind, assignee_id=decision.assignee_id))

    def open_tickets_of(self, conn, worker_id: str) -> list[str]:
        tk = self.tables.tickets
        return [r[0] for r in conn.execute(sa.select(tk.c.ticket_id).where(
            tk.c.assignee_kind == "worker", tk.c.assignee_id == worker_id,
            tk.c.open.is_(True)).order_by(tk.c.ticket_id))]

    def reassign_from(self, uow, worker_id: str, day: dt.date, trigger: str) -> int:
        """Dispatch again every open ticket ``worker_id`` holds (on leave or leaving)."""
        moved = 0
        view = self.view(uow, day)
        for ticket_id in self.open_tickets_of(uow.connection, worker_id):
            row = self._ticket(uow, ticket_id)
            record = load(uow, TicketDispatch, TicketDispatch.stream_id(ticket_id))
            if record.last is None:
                continue
            decision = rule_mod.decide(
                self.facts(row, record.last.ticket_version, day, frozenset([worker_id])), view,
                self.rule)
            if record.reassign_from(worker_id, trigger=trigger, **decision.event_fields()):
                uow.save(record)
                self._assign(uow, ticket_id, decision)
                moved += 1
        return moved

    def workers_away(self, conn, day: dt.date) -> list[tuple[str, str]]:
        """(worker, trigger) for workers away on ``day`` who still hold open tickets."""
        t = self.tables
        tk = t.tickets
        holders = {r[0] for r in conn.execute(sa.select(tk.c.assignee_id).distinct().where(
            tk.c.assignee_kind == "worker", tk.c.open.is_(True)))}
        if not holders:
            return []
        away = []
        for r in conn.execute(sa.select(t.workers.c.worker_id, t.workers.c.left_on).where(
                t.workers.c.worker_id.in_(sorted(holders)))):
            if r[1] is not None and dt.date.fromisoformat(r[1]) <= day:
                away.append((r[0], "worker_left"))
        on_leave = {r[0] for r in conn.execute(sa.select(t.leave.c.worker_id).where(
            t.leave.c.day == day.isoformat(), t.leave.c.worker_id.in_(sorted(holders))))}
        away.extend((w, "worker_on_leave") for w in sorted(on_leave - {w for w, _ in away}))
        return away
