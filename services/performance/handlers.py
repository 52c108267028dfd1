"""Command handlers and reactions to tickets' and grid's events: load, decide, save.

Each runs inside one store transaction (a ``UnitOfWork``): the aggregates' new events and the
consumer tables (``tables.py``) are written together or not at all. Other services' events
are read from their payloads (plain JSON) and mapped to ledger credits as docs/performance.md
says; the source event's id is the credit's ``source_event_id``, so a redelivery is a no-op.
"""
from __future__ import annotations

import datetime as dt
from typing import Callable, Iterable, Optional
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from onegrid.envelope import Envelope
from onegrid.uow import UnitOfWork

from .domain import (
    LEDGER_STREAM, STREET_STREAM, WORKER_STREAM, Ledger, StreetPeriod, WorkerRecord,
    quarter_inputs,
)
from .errors import InvalidInput, PerformanceError
from .periods import Quarter, quarters_of
from .policy import PayPolicy
from .tables import PerformanceTables

TICKET_EVENTS = (
    "TicketOpened", "TicketDispatched", "TicketAccepted", "TicketReturned", "TicketResolved",
    "CallbackRecorded", "TicketClosed", "TicketReopened", "ExtensionRequested",
    "ExtensionGranted", "ExtensionDenied", "TicketOverdue", "TicketSupervised", "TicketEscalated",
    "TicketMerged", "TicketCancelled",
)
GRID_EVENTS = (
    "StreetRegistered", "CommunityRegistered", "GridDrawn", "CommunityGridDesignated",
    "DepartmentRegistered", "DepartmentCategoriesSet", "WorkerEnrolled", "WorkerPosted",
    "WorkerMoved", "LeaveGranted", "WorkerLeft", "PatrolStarted", "PatrolFinished",
    "PatrolMissed", "ProblemReported", "DispatchDecided",
)


class UnknownWorker(InvalidInput):
    code = "unknown_worker"


class UnknownGrid(PerformanceError):
    """A posting to a grid whose GridDrawn has not been consumed yet (retried, then dead-lettered)."""

    code = "unknown_grid"


def worker_stream(worker_id: str) -> str:
    return f"{WORKER_STREAM}{worker_id}"


def ledger_stream(worker_id: str, quarter: Quarter) -> str:
    return f"{LEDGER_STREAM}{worker_id}/{quarter}"


def street_stream(street: str) -> str:
    return f"{STREET_STREAM}{street}"


def load_record(uow: UnitOfWork, worker_id: str) -> WorkerRecord:
    stream = worker_stream(worker_id)
    return uow.load(WorkerRecord, stream) or WorkerRecord(stream)


def load_ledger(uow: UnitOfWork, worker_id: str, quarter: Quarter) -> Ledger:
    stream = ledger_stream(worker_id, quarter)
    return uow.load(Ledger, stream) or Ledger(stream)


def load_street(uow: UnitOfWork, street: str) -> StreetPeriod:
    stream = street_stream(street)
    return uow.load(StreetPeriod, stream) or StreetPeriod(stream)


class Performance:
    """The service's handlers, bound to its tables, default pay level and local calendar."""

    def __init__(self, tables: PerformanceTables, *, default_level: str = "standard",
                 timezone: str = "Asia/Shanghai"):
        self.t = tables
        self.default_level = default_level
        self.tz = ZoneInfo(timezone)

    # -- small table helpers ------------------------------------------------------------

    def _one(self, conn, table, **where):
        stmt = sa.select(table).where(*(table.c[k] == v for k, v in where.items()))
        return conn.execute(stmt).mappings().first()

    def _upsert(self, conn, table, keys: dict, values: dict) -> None:
        where = [table.c[k] == v for k, v in keys.items()]
        if not values:
            if conn.execute(sa.select(*table.primary_key.columns).where(*where)).first() is None:
                conn.execute(table.insert().values(**keys))
        elif conn.execute(table.update().where(*where).values(**values)).rowcount == 0:
            conn.execute(table.insert().values(**keys, **values))

    def _day(self, envelope: Envelope, field: str = "at") -> dt.date:
        """The local calendar day an event happened on (its ``at`` field, else occurred_at)."""
        value = envelope.payload.get(field)
        if isinstance(value, str) and "T" in value:
            return dt.datetime.fromisoformat(value).astimezone(self.tz).date()
        if isinstance(value, str):
            return dt.date.fromisoformat(value)
        return envelope.occurred_at.astimezone(self.tz).date()

    def is_known(self, conn, worker_id: str) -> bool:
        return self._one(conn, self.t.workers, worker_id=worker_id) is not None

    def members(self, conn, street: str) -> list[str]:
        t = self.t.members
        return list(conn.execute(sa.select(t.c.worker_id).where(t.c.street == street)
                                 .order_by(t.c.worker_id)).scalars())

    def is_closed(self, conn, street: str, period) -> bool:
        return self._one(conn, self.t.closed, street=street, period=str(period)) is not None

    # -- scoring inputs -----------------------------------------------------------------

    def inputs(self, uow: UnitOfWork, street: str, quarter: Quarter):
        workers = self.members(uow.connection, street)
        records = [load_record(uow, w) for w in workers]
        ledgers = [load_ledger(uow, w, quarter) for w in workers]
        return quarter_inputs(street, quarter, records, ledgers)

    def _reassess(self, uow: UnitOfWork, worker_id: str, quarters: Iterable[Quarter],
                  cause: str, reason: str) -> int:
        """After a late input: reassess each closed quarter of the worker's streets."""
        record = load_record(uow, worker_id)
        recorded = 0
        for quarter in sorted(set(quarters)):
            streets = {s.street for s in record.stints
                       if s.days_within(quarter.first_day, quarter.last_day)}
            for street in sorted(streets):
                if not self.is_closed(uow.connection, street, quarter):
                    continue
                office = load_street(uow, street)
                recorded += office.reassess_quarter(quarter, self.inputs(uow, street, quarter),
                                                    cause=cause, reason=reason)
                uow.save(office)
        return recorded

    # -- credits ------------------------------------------------------------------------

    def credit_ticket(self, uow: UnitOfWork, worker_id: Optional[str], envelope: Envelope,
                      outcome: str, day: dt.date) -> None:
        if not worker_id:
            return  # handled by a department, the street office or the district: no one to credit
        quarter = Quarter.of(day)
        ledger = load_ledger(uow, worker_id, quarter)
        if ledger.credit_ticket(envelope.payload["ticket_id"], outcome, envelope.event_id):
            uow.save(ledger)
            self._reassess(uow, worker_id, [quarter], envelope.event_id,
                           f"late {envelope.event_type}")

    def credit_patrol(self, uow: UnitOfWork, worker_id: str, patrol_id: str, completed: bool,
                      envelope: Envelope, day: dt.date) -> None:
        quarter = Quarter.of(day)
        ledger = load_ledger(uow, worker_id, quarter)
        if ledger.credit_patrol(patrol_id, completed, envelope.event_id):
            uow.save(ledger)
            self._reassess(uow, worker_id, [quarter], envelope.event_id,
                           f"late {envelope.event_type}")

    def _post(self, uow: UnitOfWork, worker_id: str, street: str, grid: str, post: str,
              level: str, on: dt.date, cause: str, reason: str) -> None:
        record = load_record(uow, worker_id)
        touched = _quarters_from(record, on)
        if record.post(street, grid, post, level, on, cause):
            uow.save(record)
            self._upsert(uow.connection, self.t.members, {"street": street, "worker_id": worker_id}, {})
            self._reassess(uow, worker_id, touched | _quarters_from(record, on), cause, reason)

    # -- reactions to tickets' events ----------------------------------------------------

    def _handler(self, conn, ticket_id: str) -> Optional[str]:
        row = self._one(conn, self.t.tickets, ticket_id=ticket_id)
        return row["worker_id"] if row else None

    def on_ticket(self, uow: UnitOfWork, envelope: Envelope) -> None:
        p, kind, conn = envelope.payload, envelope.event_type, uow.connection
        ticket_id = p["ticket_id"]
        if kind == "TicketDispatched":
            worker = p["assignee_id"] if p.get("assignee_kind") == "worker" else None
            self._upsert(conn, self.t.tickets, {"ticket_id": ticket_id}, {"worker_id": worker})
            self.credit_ticket(uow, worker, envelope, "dispatched", self._day(envelope))
            return
        outcome = {
            "TicketAccepted": "accepted", "TicketReturned": "returned",
            "TicketReopened": "reopened", "TicketOverdue": "overdue", "TicketClosed": "closed",
        }.get(kind)
        if kind == "TicketResolved":
            outcome = "resolved_on_time" if p.get("on_time") else "resolved_late"
        elif kind == "CallbackRecorded":
            outcome = p.get("rating")
        if outcome is None:
            return  # not credited (opened, extensions, supervision, escalation, merge, cancel)
        worker = self._handler(conn, ticket_id)
        if kind in ("TicketAccepted", "TicketReturned", "TicketReopened", "TicketOverdue") \
                and p.get("assignee_kind") == "worker" and p.get("assignee_id"):
            worker = p["assignee_id"]  # the event names its handler: trust it over our memory
        self.credit_ticket(uow, worker, envelope, outcome, self._day(envelope))
        if kind == "TicketReturned":  # no one handles it until the next dispatch
            self._upsert(conn, self.t.tickets, {"ticket_id": ticket_id}, {"worker_id": None})

    # -- reactions to grid's events ------------------------------------------------------

    def on_grid(self, uow: UnitOfWork, envelope: Envelope) -> None:
        p, kind, conn = envelope.payload, envelope.event_type, uow.connection
        if kind == "CommunityRegistered":
            self._upsert(conn, self.t.communities, {"community_code": p["community_code"]},
                         {"street": p["street_code"]})
        elif kind == "GridDrawn":
            self._upsert(conn, self.t.grids, {"grid_code": p["grid_code"]},
                         {"street": p["street_code"], "community": p["community_code"]})
        elif kind == "WorkerEnrolled":
            community = self._one(conn, self.t.communities, community_code=p["community_code"])
            self._upsert(conn, self.t.workers, {"worker_id": p["worker_id"]},
                         {"community": p["community_code"],
                          "street": community["street"] if community else None})
        elif kind in ("WorkerPosted", "WorkerMoved"):
            grid = p["grid_code"] if kind == "WorkerPosted" else p["to_grid"]
            post = p["post"] if kind == "WorkerPosted" else p["to_post"]
            self._hold_post(uow, envelope, p["worker_id"], grid, post,
                            left=(p["from_grid"], p["from_post"]) if kind == "WorkerMoved" else None)
        elif kind == "LeaveGranted":
            self._upsert(conn, self.t.leave, {"worker_id": p["worker_id"], "day": p["day"]}, {})
        elif kind == "WorkerLeft":
            self._upsert(conn, self.t.workers, {"worker_id": p["worker_id"]}, {"left_on": p["day"]})
            posts = self.t.posts
            conn.execute(posts.delete().where(posts.c.worker_id == p["worker_id"]))
            record = load_record(uow, p["worker_id"])
            day = dt.date.fromisoformat(p["day"])
            touched = _quarters_from(record, day)
            if record.is_known and record.leave_post(day, envelope.event_id):
                uow.save(record)
                self._reassess(uow, p["worker_id"], touched, envelope.event_id, "late WorkerLeft")
        elif kind == "PatrolFinished":
            self.credit_patrol(uow, p["worker_id"], p["patrol_id"], True, envelope,
                               self._day(envelope))
        elif kind == "PatrolMissed":
            day = dt.date.fromisoformat(p["day"])
            worker = self.on_duty(conn, p["grid_code"], day)
            if worker:
                self.credit_patrol(uow, worker, f"{p['grid_code']}:{p['day']}:{p['window']}",
                                   False, envelope, day)

    def _hold_post(self, uow, envelope, worker_id, grid_code, post, left=None) -> None:
        conn = uow.connection
        grid = self._one(conn, self.t.grids, grid_code=grid_code)
        if grid is None:
            raise UnknownGrid(f"grid {grid_code!r} is not known yet; its GridDrawn comes first")
        posts = self.t.posts
        if left is not None:
            conn.execute(posts.delete().where(posts.c.grid_code == left[0], posts.c.post == left[1],
                                              posts.c.worker_id == worker_id))
        self._upsert(conn, posts, {"grid_code": grid_code, "post": post}, {"worker_id": worker_id})
        worker = self._one(conn, self.t.workers, worker_id=worker_id)
        level = (worker and worker["pay_level"]) or self.default_level
        self._upsert(conn, self.t.workers, {"worker_id": worker_id}, {"street": grid["street"]})
        self._post(uow, worker_id, grid["street"], grid_code, post, level, self._day(envelope),
                   envelope.event_id, f"late {envelope.event_type}")

    def on_duty(self, conn, grid_code: str, day: dt.date) -> Optional[str]:
        """Who answers for a grid's patrol on a day: the A post, or the B post if A is away."""
        holders = {row.post: row.worker_id for row in conn.execute(
            sa.select(self.t.posts).where(self.t.posts.c.grid_code == grid_code))}
        for post in ("A", "B"):
            worker = holders.get(post)
            if worker and not self._one(conn, self.t.leave, worker_id=worker, day=day.isoformat()):
                return worker
        return None

    def reactions(self) -> tuple[dict[str, Callable], dict[str, Callable]]:
        return ({t: self.on_ticket for t in TICKET_EVENTS}, {t: self.on_grid for t in GRID_EVENTS})

    # -- commands -----------------------------------------------------------------------

    def record_assessment(self, uow: UnitOfWork, *, worker_id, quarter, assessor, score,
                          assessment_id, supersedes=None, reason=None) -> dict:
        if not self.is_known(uow.connection, worker_id):
            raise UnknownWorker(f"worker_id: no worker {worker_id!r} is known to the performance "
                                f"service (enrolled by the grid service); check the id")
        quarter = Quarter.parse(quarter)
        ledger = load_ledger(uow, worker_id, quarter)
        recorded = ledger.record_assessment(assessment_id, assessor, score, supersedes, reason)
        adjustments = 0
        if recorded:
            uow.save(ledger)
            cause = "correction" if supersedes else "late assessment"
            adjustments = self._reassess(uow, worker_id, [quarter], assessment_id, cause)
        return {"worker_id": worker_id, "quarter": str(quarter), "assessment_id": assessment_id,
                "score": str(score), "recorded": recorded, "adjustments": adjustments}

    def set_policy(self, uow: UnitOfWork, policy: PayPolicy) -> dict:
        office = load_street(uow, policy.street)
        recorded = office.set_policy(policy)
        uow.save(office)
        return {"street": policy.street, "version": policy.version,
                "effective_from": str(policy.effective_from), "recorded": recorded}

    def set_pay_level(self, uow: UnitOfWork, *, worker_id, post_level, on) -> dict:
        conn = uow.connection
        if not self.is_known(conn, worker_id):
            raise UnknownWorker(f"worker_id: no worker {worker_id!r} is known to the performance service")
        self._upsert(conn, self.t.workers, {"worker_id": worker_id}, {"pay_level": post_level})
        record = load_record(uow, worker_id)
        current = record.stints[-1] if record.stints and record.stints[-1].end is None else None
        if current is not None and current.post_level != post_level:
            cause = f"pay-level:{worker_id}:{post_level}:{on.isoformat()}"
            self._post(uow, worker_id, current.street, current.grid, current.post, post_level,
                       on, cause, "pay level changed")
        return {"worker_id": worker_id, "post_level": post_level, "on": on.isoformat()}

    def close_quarter(self, uow: UnitOfWork, street: str, quarter: Quarter, today: dt.date) -> dict:
        office = load_street(uow, street)
        closed = office.close_quarter(quarter, today, self.inputs(uow, street, quarter))
        if closed:
            uow.save(office)
            self._upsert(uow.connection, self.t.closed, {"street": street, "period": str(quarter)}, {})
        done = office.quarters[quarter]
        return {"street": street, "quarter": str(quarter), "closed": closed,
                "policy_version": done.policy_version, "workers": list(done.workers),
                "total_pay_fen": done.total_pay_fen, "budget_fen": done.budget_fen}

    def close_year(self, uow: UnitOfWork, street: str, year: int, today: dt.date) -> dict:
        office = load_street(uow, street)
        closed = office.close_year(year, today)
        if closed:
            uow.save(office)
            self._upsert(uow.connection, self.t.closed, {"street": street, "period": str(year)}, {})
        done = office.years[year]
        return {"street": street, "year": year, "closed": closed,
                "policy_version": done.policy_version, "workers": list(done.workers),
                "total_pay_fen": done.total_pay_fen, "budget_fen": done.budget_fen}


def _quarters_from(record: WorkerRecord, on: dt.date) -> set[Quarter]:
    """The quarters a posting from ``on`` may change: from its quarter to the current stint's end."""
    first = Quarter.of(on)
    last = max([first] + [Quarter.of(s.end) for s in record.stints if s.end]
               + [Quarter.of(s.start) for s in record.stints])
    quarters, q = set(), first
    while q <= last:
        quarters.add(q)
        q = q.next()
    return quarters


__all__ = ["Performance", "TICKET_EVENTS", "GRID_EVENTS", "UnknownWorker", "UnknownGrid",
           "load_record", "load_ledger", "load_street", "quarters_of"]
