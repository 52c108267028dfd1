"""Command handlers and reactions to tickets' and grid's events: load, decide, save.

Each runs inside one store transaction (``uow``): the aggregates' new events and the
reactions' tables (``tables.py``) are written together or not at all. Other services' events
are read from their payloads and mapped to ledger credits as docs/performance.md says; the
source event's id is the credit's ``source_event_id``, so a redelivery records nothing.
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable, Optional

from onegrid.domain import LOCAL_TZ
from onegrid.envelope import Envelope
from onegrid.tables import upsert

from . import reads
from .domain.commands import CloseQuarter, CloseYear, RecordAssessment, SetPayLevel, SetPolicy
from .domain.errors import UnknownGrid, UnknownWorker
from .domain.periods import Quarter


# -- commands -----------------------------------------------------------------------------

def record_assessment(uow, cmd: RecordAssessment, ctx) -> dict:
    """Record the third party's score; after the close it reassesses the quarter."""
    _require_worker(uow, ctx, cmd.worker_id)
    quarter = Quarter.parse(cmd.quarter)
    ledger = reads.ledger(uow, cmd.worker_id, quarter)
    recorded = ledger.record_assessment(cmd.assessment_id, cmd.assessor, cmd.score,
                                        cmd.supersedes, cmd.reason)
    adjustments = 0
    if recorded:
        uow.save(ledger)
        cause = "correction" if cmd.supersedes else "late assessment"
        adjustments = _reassess(uow, ctx, cmd.worker_id, [quarter], cmd.assessment_id, cause)
    return {"worker_id": cmd.worker_id, "quarter": str(quarter),
            "assessment_id": cmd.assessment_id, "score": str(cmd.score), "recorded": recorded,
            "adjustments": adjustments}


def set_policy(uow, cmd: SetPolicy, ctx) -> dict:
    """Record a new version of a street office's pay policy."""
    policy = cmd.policy
    office = reads.street_period(uow, policy.street)
    recorded = office.set_policy(policy)
    uow.save(office)
    return {"street": policy.street, "version": policy.version,
            "effective_from": str(policy.effective_from), "recorded": recorded}


def set_pay_level(uow, cmd: SetPayLevel, ctx) -> dict:
    """Set a worker's pay level; a worker in post is posted again at the new level."""
    _require_worker(uow, ctx, cmd.worker_id)
    on = cmd.on or ctx.today()
    upsert(uow.connection, ctx.tables.workers, {"worker_id": cmd.worker_id},
           {"pay_level": cmd.post_level})
    current = reads.record(uow, cmd.worker_id).current
    if current is not None and current.post_level != cmd.post_level:
        cause = f"pay-level:{cmd.worker_id}:{cmd.post_level}:{on.isoformat()}"
        _post(uow, ctx, cmd.worker_id, current.street, current.grid, current.post,
              cmd.post_level, on, cause, "pay level changed")
    return {"worker_id": cmd.worker_id, "post_level": cmd.post_level, "on": on.isoformat()}


def close_quarter(uow, cmd: CloseQuarter, ctx) -> dict:
    """Grade and pay every worker of the street office for an ended quarter (once)."""
    quarter = Quarter.parse(cmd.quarter)
    office = reads.street_period(uow, cmd.street)
    closed = office.close_quarter(quarter, ctx.today(), reads.inputs(uow, ctx, cmd.street, quarter))
    if closed:
        uow.save(office)
        upsert(uow.connection, ctx.tables.closed, {"street": cmd.street, "period": str(quarter)}, {})
    done = office.quarters[quarter]
    return {"street": cmd.street, "quarter": str(quarter), "closed": closed,
            "policy_version": done.policy_version, "workers": list(done.workers),
            "total_pay_fen": done.total_pay_fen, "budget_fen": done.budget_fen}


def close_year(uow, cmd: CloseYear, ctx) -> dict:
    """Grade and pay the annual part once the street office's four quarters are closed."""
    office = reads.street_period(uow, cmd.street)
    closed = office.close_year(cmd.year, ctx.today())
    if closed:
        uow.save(office)
        upsert(uow.connection, ctx.tables.closed, {"street": cmd.street, "period": str(cmd.year)}, {})
    done = office.years[cmd.year]
    return {"street": cmd.street, "year": cmd.year, "closed": closed,
            "policy_version": done.policy_version, "workers": list(done.workers),
            "total_pay_fen": done.total_pay_fen, "budget_fen": done.budget_fen}


COMMANDS = {
    RecordAssessment: record_assessment,
    SetPolicy: set_policy,
    SetPayLevel: set_pay_level,
    CloseQuarter: close_quarter,
    CloseYear: close_year,
}


# -- reactions to tickets' events ---------------------------------------------------------

def on_ticket_dispatched(uow, event: Envelope, ctx) -> None:
    p = event.payload
    worker = p["assignee_id"] if p.get("assignee_kind") == "worker" else None
    upsert(uow.connection, ctx.tables.tickets, {"ticket_id": p["ticket_id"]}, {"worker_id": worker})
    _credit_ticket(uow, ctx, worker, event, "dispatched")


def on_ticket_accepted(uow, event: Envelope, ctx) -> None:
    _credit_ticket(uow, ctx, _handler(uow, ctx, event), event, "accepted")


def on_ticket_returned(uow, event: Envelope, ctx) -> None:
    _credit_ticket(uow, ctx, _handler(uow, ctx, event), event, "returned")
    # no one handles it until the next dispatch
    upsert(uow.connection, ctx.tables.tickets, {"ticket_id": event.payload["ticket_id"]},
           {"worker_id": None})


def on_ticket_resolved(uow, event: Envelope, ctx) -> None:
    outcome = "resolved_on_time" if event.payload.get("on_time") else "resolved_late"
    _credit_ticket(uow, ctx, _handler(uow, ctx, event), event, outcome)


def on_callback_recorded(uow, event: Envelope, ctx) -> None:
    _credit_ticket(uow, ctx, _handler(uow, ctx, event), event, event.payload["rating"])


def on_ticket_reopened(uow, event: Envelope, ctx) -> None:
    _credit_ticket(uow, ctx, _handler(uow, ctx, event), event, "reopened")


def on_ticket_overdue(uow, event: Envelope, ctx) -> None:
    _credit_ticket(uow, ctx, _handler(uow, ctx, event), event, "overdue")


def on_ticket_closed(uow, event: Envelope, ctx) -> None:
    _credit_ticket(uow, ctx, _handler(uow, ctx, event), event, "closed")


def _handler(uow, ctx, event: Envelope) -> Optional[str]:
    """Who handles the ticket: the worker the event names, else the one it was dispatched to."""
    p = event.payload
    if p.get("assignee_kind") == "worker" and p.get("assignee_id"):
        return p["assignee_id"]  # the event names its handler: trust it over our memory
    return reads.ticket_handler(uow, ctx, p["ticket_id"])


# -- reactions to grid's events -----------------------------------------------------------

def on_community_registered(uow, event: Envelope, ctx) -> None:
    p = event.payload
    upsert(uow.connection, ctx.tables.communities, {"community_code": p["community_code"]},
           {"street": p["street_code"]})


def on_grid_drawn(uow, event: Envelope, ctx) -> None:
    p = event.payload
    upsert(uow.connection, ctx.tables.grids, {"grid_code": p["grid_code"]},
           {"street": p["street_code"], "community": p["community_code"]})


def on_worker_enrolled(uow, event: Envelope, ctx) -> None:
    p = event.payload
    upsert(uow.connection, ctx.tables.workers, {"worker_id": p["worker_id"]},
           {"community": p["community_code"],
            "street": reads.community_street(uow, ctx, p["community_code"])})


def on_worker_posted(uow, event: Envelope, ctx) -> None:
    p = event.payload
    _hold_post(uow, ctx, event, p["worker_id"], p["grid_code"], p["post"])


def on_worker_moved(uow, event: Envelope, ctx) -> None:
    p = event.payload
    _hold_post(uow, ctx, event, p["worker_id"], p["to_grid"], p["to_post"],
               left=(p["from_grid"], p["from_post"]))


def on_leave_granted(uow, event: Envelope, ctx) -> None:
    p = event.payload
    upsert(uow.connection, ctx.tables.leave, {"worker_id": p["worker_id"], "day": p["day"]}, {})


def on_worker_left(uow, event: Envelope, ctx) -> None:
    p, conn = event.payload, uow.connection
    upsert(conn, ctx.tables.workers, {"worker_id": p["worker_id"]}, {"left_on": p["day"]})
    for grid_code, post in reads.posts_of(uow, ctx, p["worker_id"]):
        upsert(conn, ctx.tables.posts, {"grid_code": grid_code, "post": post}, {"worker_id": None})
    record = reads.record(uow, p["worker_id"])
    day = dt.date.fromisoformat(p["day"])
    touched = record.quarters_from(day)
    if record.is_known and record.leave_post(day, event.event_id):
        uow.save(record)
        _reassess(uow, ctx, p["worker_id"], touched, event.event_id, "late WorkerLeft")


def on_patrol_finished(uow, event: Envelope, ctx) -> None:
    p = event.payload
    _credit_patrol(uow, ctx, p["worker_id"], p["patrol_id"], True, event, _day(event))


def on_patrol_missed(uow, event: Envelope, ctx) -> None:
    p = event.payload
    day = dt.date.fromisoformat(p["day"])
    worker = reads.on_duty(uow, ctx, p["grid_code"], day)
    if worker:
        _credit_patrol(uow, ctx, worker, f"{p['grid_code']}:{p['day']}:{p['window']}", False,
                       event, day)


#: what performance reacts to, by the logical name of the source; the queues' bindings follow
REACTIONS = {
    "tickets": {
        "TicketDispatched": on_ticket_dispatched,
        "TicketAccepted": on_ticket_accepted,
        "TicketReturned": on_ticket_returned,
        "TicketResolved": on_ticket_resolved,
        "CallbackRecorded": on_callback_recorded,
        "TicketReopened": on_ticket_reopened,
        "TicketOverdue": on_ticket_overdue,
        "TicketClosed": on_ticket_closed,
    },
    "grid": {
        "CommunityRegistered": on_community_registered,
        "GridDrawn": on_grid_drawn,
        "WorkerEnrolled": on_worker_enrolled,
        "WorkerPosted": on_worker_posted,
        "WorkerMoved": on_worker_moved,
        "LeaveGranted": on_leave_granted,
        "WorkerLeft": on_worker_left,
        "PatrolFinished": on_patrol_finished,
        "PatrolMissed": on_patrol_missed,
    },
}


# -- the steps they share -----------------------------------------------------------------

def _require_worker(uow, ctx, worker_id: str) -> None:
    if reads.worker(uow, ctx, worker_id) is None:
        raise UnknownWorker(f"worker_id: no worker {worker_id!r} is known to the performance "
                            f"service (enrolled by the grid service); check the id")


def _day(event: Envelope, field: str = "at") -> dt.date:
    """The local calendar day an event happened on (its ``at`` field, else occurred_at)."""
    value = event.payload.get(field)
    if isinstance(value, str) and "T" in value:
        return dt.datetime.fromisoformat(value).astimezone(LOCAL_TZ).date()
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    return event.occurred_at.astimezone(LOCAL_TZ).date()


def _credit_ticket(uow, ctx, worker_id: Optional[str], event: Envelope, outcome: str) -> None:
    if not worker_id:
        return  # handled by a department, the street office or the district: no one to credit
    quarter = Quarter.of(_day(event))
    ledger = reads.ledger(uow, worker_id, quarter)
    if ledger.credit_ticket(event.payload["ticket_id"], outcome, event.event_id):
        uow.save(ledger)
        _reassess(uow, ctx, worker_id, [quarter], event.event_id, f"late {event.event_type}")


def _credit_patrol(uow, ctx, worker_id: str, patrol_id: str, completed: bool,
                   event: Envelope, day: dt.date) -> None:
    quarter = Quarter.of(day)
    ledger = reads.ledger(uow, worker_id, quarter)
    if ledger.credit_patrol(patrol_id, completed, event.event_id):
        uow.save(ledger)
        _reassess(uow, ctx, worker_id, [quarter], event.event_id, f"late {event.event_type}")


def _hold_post(uow, ctx, event: Envelope, worker_id: str, grid_code: str, post: str,
               left: Optional[tuple[str, str]] = None) -> None:
    grid = reads.grid(uow, ctx, grid_code)
    if grid is None:
        raise UnknownGrid(f"grid {grid_code!r} is not known yet; its GridDrawn comes first")
    conn, posts = uow.connection, ctx.tables.posts
    if left is not None and reads.post_holder(uow, ctx, *left) == worker_id:
        upsert(conn, posts, {"grid_code": left[0], "post": left[1]}, {"worker_id": None})
    upsert(conn, posts, {"grid_code": grid_code, "post": post}, {"worker_id": worker_id})
    known = reads.worker(uow, ctx, worker_id)
    level = (known and known["pay_level"]) or ctx.default_level
    upsert(conn, ctx.tables.workers, {"worker_id": worker_id}, {"street": grid["street"]})
    _post(uow, ctx, worker_id, grid["street"], grid_code, post, level, _day(event),
          event.event_id, f"late {event.event_type}")


def _post(uow, ctx, worker_id: str, street: str, grid: str, post: str, level: str,
          on: dt.date, cause: str, reason: str) -> None:
    record = reads.record(uow, worker_id)
    touched = record.quarters_from(on)
    if record.post(street, grid, post, level, on, cause):
        uow.save(record)
        upsert(uow.connection, ctx.tables.members, {"street": street, "worker_id": worker_id}, {})
        _reassess(uow, ctx, worker_id, touched | record.quarters_from(on), cause, reason)


def _reassess(uow, ctx, worker_id: str, quarters: Iterable[Quarter], cause: str,
              reason: str) -> int:
    """After a late input: reassess each closed quarter of the worker's streets."""
    record = reads.record(uow, worker_id)
    recorded = 0
    for quarter in sorted(set(quarters)):
        streets = {s.street for s in record.stints
                   if s.days_within(quarter.first_day, quarter.last_day)}
        for street in sorted(streets):
            if not reads.is_closed(uow, ctx, street, quarter):
                continue
            office = reads.street_period(uow, street)
            recorded += office.reassess_quarter(quarter, reads.inputs(uow, ctx, street, quarter),
                                                cause=cause, reason=reason)
            uow.save(office)
    return recorded
