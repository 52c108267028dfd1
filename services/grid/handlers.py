"""Command handlers and reactions: load, decide, save.

A handler is ``handler(uow, cmd, ctx) -> dict``: ``uow`` is one store transaction, ``cmd`` a
command of ``domain/commands.py``, ``ctx`` the ``context.Context``. It reads what it needs
(aggregates through ``uow.load``, read models through ``reads``), lets an aggregate decide and
saves it. ``COMMANDS`` maps each command to its handler.

A reaction is ``reaction(uow, event, ctx)`` on an event of the tickets service, inside the
inbox's transaction; ``REACTIONS`` names the ones the grid reacts to. They decide who handles
each ticket (``DispatchDecided`` on ``dispatch/<ticket id>``) and keep, in the reactions'
``tickets`` table, the facts dispatch needs and who holds each open ticket.
"""
from __future__ import annotations

import datetime as dt

from onegrid.envelope import Envelope
from onegrid.tables import upsert

from . import reads
from .domain import (AlreadyRegistered, Community, Department, NotRegistered, Patrol,
                     PatrolNotStarted, PatrolRound, Street, TicketDispatch, UnknownGrid,
                     UnknownWorker)
from .domain import commands as c
from .domain.dispatch_rule import TicketFacts, decide


def _load(uow, cls, *key):
    """The aggregate on ``cls.stream_id(*key)``, a fresh one if the stream is empty."""
    stream = cls.stream_id(*key)
    return uow.load(cls, stream) or cls(stream)


def _community(uow, code: str) -> Community:
    community = _load(uow, Community, code)
    if not community.registered:
        raise NotRegistered(f"community {code!r} is not registered; register it first")
    return community


# --- the map ---------------------------------------------------------------------------------

def register_street(uow, cmd: c.RegisterStreet, ctx) -> dict:
    street = _load(uow, Street, cmd.street_code)
    siblings = {code: ring for code, ring in reads.street_boundaries(uow, ctx).items()
                if code != cmd.street_code}
    street.register(cmd.name, cmd.name_zh, cmd.boundary, geometry=ctx.geometry,
                    siblings=siblings)
    uow.save(street)
    return {"street_code": cmd.street_code}


def register_community(uow, cmd: c.RegisterCommunity, ctx) -> dict:
    street = _load(uow, Street, cmd.street_code)
    if not street.registered:
        raise NotRegistered(f"street {cmd.street_code!r} is not registered; register it first")
    community = _load(uow, Community, cmd.community_code)
    siblings = {code: ring for code, ring
                in reads.community_boundaries(uow, ctx, cmd.street_code).items()
                if code != cmd.community_code}
    community.register(cmd.street_code, cmd.name, cmd.name_zh, cmd.boundary,
                       geometry=ctx.geometry, street_boundary=street.boundary, siblings=siblings)
    uow.save(community)
    return {"community_code": cmd.community_code}


def draw_grid(uow, cmd: c.DrawGrid, ctx) -> dict:
    taken = reads.community_of_grid(uow, ctx, cmd.grid_code)
    if taken is not None and taken != cmd.community_code:
        raise AlreadyRegistered(f"grid {cmd.grid_code!r} is already drawn in community {taken}")
    community = _community(uow, cmd.community_code)
    community.draw_grid(cmd.grid_code, cmd.kind, cmd.boundary, geometry=ctx.geometry,
                        purpose=cmd.purpose)
    uow.save(community)
    return {"grid_code": cmd.grid_code}


def designate_grid(uow, cmd: c.DesignateGrid, ctx) -> dict:
    community = _community(uow, cmd.community_code)
    community.designate_grid(cmd.grid_code)
    uow.save(community)
    return {"community_code": cmd.community_code, "grid_code": cmd.grid_code}


def register_department(uow, cmd: c.RegisterDepartment, ctx) -> dict:
    department = _load(uow, Department, cmd.department_code)
    department.register(cmd.name, cmd.name_zh)
    uow.save(department)
    return {"department_code": cmd.department_code}


def set_department_categories(uow, cmd: c.SetDepartmentCategories, ctx) -> dict:
    department = _load(uow, Department, cmd.department_code)
    department.set_categories(cmd.categories)
    uow.save(department)
    return {"department_code": cmd.department_code, "categories": list(department.categories)}


# --- the people ------------------------------------------------------------------------------

def enroll_worker(uow, cmd: c.EnrollWorker, ctx) -> dict:
    elsewhere = reads.community_of_worker(uow, ctx, cmd.worker_id)
    if elsewhere is not None and elsewhere != cmd.community_code:
        raise AlreadyRegistered(f"worker {cmd.worker_id!r} is already enrolled in community "
                                f"{elsewhere}")
    community = _community(uow, cmd.community_code)
    community.enroll(cmd.worker_id, cmd.name)
    uow.save(community)
    return {"worker_id": cmd.worker_id}


def post_worker(uow, cmd: c.PostWorker, ctx) -> dict:
    community = _community(uow, cmd.community_code)
    community.post(cmd.worker_id, cmd.grid_code, cmd.post, today=ctx.today())
    uow.save(community)
    return {"worker_id": cmd.worker_id, "posts": community.posts_of(cmd.worker_id)}


def move_worker(uow, cmd: c.MoveWorker, ctx) -> dict:
    community = _community(uow, cmd.community_code)
    community.move(cmd.worker_id, cmd.from_grid, cmd.to_grid, cmd.to_post, today=ctx.today())
    uow.save(community)
    return {"worker_id": cmd.worker_id, "posts": community.posts_of(cmd.worker_id)}


def grant_leave(uow, cmd: c.GrantLeave, ctx) -> dict:
    """Leave for today also moves the worker's open tickets away, in the same transaction."""
    community = _community(uow, cmd.community_code)
    community.grant_leave(cmd.worker_id, cmd.day)
    uow.save(community)
    result = {"worker_id": cmd.worker_id, "day": cmd.day.isoformat()}
    if cmd.day == ctx.today():
        moved = reassign_tickets(uow, c.ReassignTickets(cmd.worker_id, cmd.day,
                                                        "worker_on_leave"), ctx)
        result["reassigned"] = moved["reassigned"]
    return result


def record_worker_left(uow, cmd: c.RecordWorkerLeft, ctx) -> dict:
    """A worker who has gone hands their open tickets on at once."""
    community = _community(uow, cmd.community_code)
    community.leave(cmd.worker_id, cmd.day, cmd.reason)
    uow.save(community)
    result = {"worker_id": cmd.worker_id, "left_on": cmd.day.isoformat()}
    today = ctx.today()
    if cmd.day <= today:
        moved = reassign_tickets(uow, c.ReassignTickets(cmd.worker_id, today, "worker_left"), ctx)
        result["reassigned"] = moved["reassigned"]
    return result


# --- patrols ----------------------------------------------------------------------------------

def _grid_community(uow, ctx, grid_code: str) -> Community:
    code = reads.community_of_grid(uow, ctx, grid_code)
    if code is None:
        raise UnknownGrid(f"no grid {grid_code!r}; locate(lat, lng) finds a grid by its location")
    return _community(uow, code)


def start_patrol(uow, cmd: c.StartPatrol, ctx) -> dict:
    community = _grid_community(uow, ctx, cmd.grid_code)
    if cmd.worker_id not in community.workers:
        raise UnknownWorker(f"worker {cmd.worker_id!r} is not enrolled in community "
                            f"{community.code}, which grid {cmd.grid_code} belongs to")
    patrol = _load(uow, Patrol, cmd.patrol_id)
    outside = not ctx.geometry.contains(community.grids[cmd.grid_code].boundary, cmd.lat, cmd.lng)
    patrol.start(cmd.grid_code, cmd.worker_id, cmd.at, cmd.lat, cmd.lng, outside_grid=outside)
    uow.save(patrol)
    return {"patrol_id": cmd.patrol_id, "outside_grid": outside}


def _started_patrol(uow, patrol_id: str) -> Patrol:
    patrol = _load(uow, Patrol, patrol_id)
    if not patrol.started:
        raise PatrolNotStarted(f"patrol {patrol_id!r} has not started; start it first")
    return patrol


def finish_patrol(uow, cmd: c.FinishPatrol, ctx) -> dict:
    patrol = _started_patrol(uow, cmd.patrol_id)
    community = _grid_community(uow, ctx, patrol.grid_code)
    outside = not ctx.geometry.contains(community.grids[patrol.grid_code].boundary,
                                        cmd.lat, cmd.lng)
    patrol.finish(cmd.at, cmd.lat, cmd.lng, outside_grid=outside)
    uow.save(patrol)
    return {"patrol_id": cmd.patrol_id, "outside_grid": outside}


def report_problem(uow, cmd: c.ReportProblem, ctx) -> dict:
    patrol = _started_patrol(uow, cmd.patrol_id)
    community = _grid_community(uow, ctx, patrol.grid_code)
    patrol.report_problem(cmd.problem_id, cmd.at, cmd.category_code, cmd.description,
                          cmd.lat, cmd.lng, community_code=community.code,
                          street_code=community.street_code)
    uow.save(patrol)
    return {"patrol_id": cmd.patrol_id, "problem_id": cmd.problem_id,
            "grid_code": patrol.grid_code, "community_code": community.code,
            "street_code": community.street_code}


def record_missed_patrols(uow, cmd: c.RecordMissedPatrols, ctx) -> dict:
    """``PatrolMissed`` once per round: a round another replica recorded records nothing."""
    recorded = 0
    for grid_code, day, window in cmd.rounds:
        patrol_round = _load(uow, PatrolRound, grid_code, day, window)
        if patrol_round.record_missed(grid_code, day, window):
            uow.save(patrol_round)
            recorded += 1
    return {"recorded": recorded}


# --- dispatch ---------------------------------------------------------------------------------

def _facts(row: dict, version: int, day: dt.date, exclude: frozenset) -> TicketFacts:
    return TicketFacts(
        ticket_id=row["ticket_id"], ticket_version=version, category_code=row["category_code"],
        day=day, grid_code=row["grid_code"], lat=row["lat"], lng=row["lng"],
        community_code=row["community"], street_code=row["street"], exclude_workers=exclude)


def _remember(uow, ctx, row: dict) -> None:
    """Keep what the grid knows of a ticket (the reactions' ``tickets`` table)."""
    key = {"ticket_id": row["ticket_id"]}
    upsert(uow.connection, ctx.tables.tickets, key,
           {k: v for k, v in row.items() if k not in key})


def _holder(row: dict, record: TicketDispatch) -> dict:
    """``row`` with the holder the ticket's dispatch record last chose."""
    last = record.last
    if last is None:
        return row
    return dict(row, assignee_kind=last.assignee_kind, assignee_id=last.assignee_id)


def _dispatch(uow, ctx, row: dict, version: int, day: dt.date, trigger: str,
              exclude: frozenset = frozenset()) -> None:
    decision = decide(_facts(row, version, day, exclude), reads.view(uow, ctx, day), ctx.rule)
    record = _load(uow, TicketDispatch, row["ticket_id"])
    if record.decide(**decision.event_fields(), trigger=trigger):
        uow.save(record)
    _remember(uow, ctx, _holder(row, record))


def reassign_tickets(uow, cmd: c.ReassignTickets, ctx) -> dict:
    """Dispatch again every open ticket the worker holds, never back to them."""
    moved = 0
    district = reads.view(uow, ctx, cmd.day)
    for row in reads.open_tickets_of(uow, ctx, cmd.worker_id):
        record = _load(uow, TicketDispatch, row["ticket_id"])
        if record.last is None:
            continue
        facts = _facts(row, record.last.ticket_version, cmd.day, frozenset([cmd.worker_id]))
        decision = decide(facts, district, ctx.rule)
        if record.reassign_from(cmd.worker_id, trigger=cmd.trigger, **decision.event_fields()):
            uow.save(record)
            _remember(uow, ctx, _holder(row, record))
            moved += 1
    return {"worker_id": cmd.worker_id, "reassigned": moved}


def on_ticket_opened(uow, event: Envelope, ctx) -> None:
    """Remember the ticket's facts and decide who handles it."""
    p = event.payload
    day = ctx.local_day(dt.datetime.fromisoformat(p["at"]))
    row = dict(ticket_id=p["ticket_id"], category_code=p["category_code"], day=day.isoformat(),
               lat=p.get("lat"), lng=p.get("lng"), grid_code=p.get("grid_code"),
               street=p.get("street"), community=p.get("community"), open=True,
               version=event.version)
    _dispatch(uow, ctx, row, event.version, day, "opened")


def on_ticket_returned(uow, event: Envelope, ctx) -> None:
    """Decide again (退单), never back to the worker who returned it."""
    p = event.payload
    row = reads.ticket(uow, ctx, p["ticket_id"])
    if row is None:
        return  # opened before this service knew of it: nothing to decide from
    excluded = frozenset([p["assignee_id"]]) if p.get("assignee_kind") == "worker" else frozenset()
    day = ctx.local_day(dt.datetime.fromisoformat(p["at"]))
    _dispatch(uow, ctx, dict(row, version=event.version), event.version, day, "returned",
              excluded)


def on_ticket_reopened(uow, event: Envelope, ctx) -> None:
    """A reopened ticket is open again, held by whoever the event names."""
    p = event.payload
    row = reads.ticket(uow, ctx, p["ticket_id"])
    if row is not None:
        _remember(uow, ctx, dict(row, open=True, assignee_kind=p["assignee_kind"],
                                 assignee_id=p["assignee_id"], version=event.version))


def on_ticket_done(uow, event: Envelope, ctx) -> None:
    """A resolved, closed, cancelled or merged ticket no longer counts as open."""
    row = reads.ticket(uow, ctx, event.payload["ticket_id"])
    if row is not None:
        _remember(uow, ctx, dict(row, open=False, version=event.version))


COMMANDS = {
    c.RegisterStreet: register_street, c.RegisterCommunity: register_community,
    c.DrawGrid: draw_grid, c.DesignateGrid: designate_grid,
    c.RegisterDepartment: register_department,
    c.SetDepartmentCategories: set_department_categories,
    c.EnrollWorker: enroll_worker, c.PostWorker: post_worker, c.MoveWorker: move_worker,
    c.GrantLeave: grant_leave, c.RecordWorkerLeft: record_worker_left,
    c.ReassignTickets: reassign_tickets,
    c.StartPatrol: start_patrol, c.FinishPatrol: finish_patrol,
    c.ReportProblem: report_problem, c.RecordMissedPatrols: record_missed_patrols,
}

REACTIONS = {"tickets": {
    "TicketOpened": on_ticket_opened, "TicketReturned": on_ticket_returned,
    "TicketReopened": on_ticket_reopened, "TicketResolved": on_ticket_done,
    "TicketClosed": on_ticket_done, "TicketCancelled": on_ticket_done,
    "TicketMerged": on_ticket_done,
}}
