"""Builders for tests of the performance service: docs/performance.md's worked example.

``EXAMPLE`` is Shazhou's 2026Q3 (four workers, their posts, pay levels, scores, tickets and
patrols) with the figures it pays. ``example_grid_map`` and ``example_activity`` write it as
the grid and tickets services publish it: their own domain events, dumped by their own
schemas, on their streams, ready for ``onegrid.testing.FakeSource.append``. A missed patrol is
answered by the A post, or by the B post when A is on leave.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from onegrid.testing import CST, service_config
from services.grid.domain import events as grid_events
from services.grid.schemas import EVENT_SCHEMAS as GRID_SCHEMAS
from services.tickets.domain import events as ticket_events
from services.tickets.schemas import EVENT_SCHEMAS as TICKET_SCHEMAS

STREET = "shazhou"
Q3_FIRST, Q3_LAST = dt.date(2026, 7, 1), dt.date(2026, 9, 30)
POLICY_V1 = dict(street=STREET, version=1, effective_from="2026Q1",
                 pay_standards={"senior": 9_600_000, "standard": 8_400_000, "junior": 7_200_000})

# The worked example: each worker's post, pay level, third-party score and 2026Q3's counts
EXAMPLE = {
    "w-li": dict(grid="SZ-01", post="A", level="standard", on=dt.date(2026, 1, 1), score=Decimal(92),
                 tickets=dict(dispatched=20, accepted=20, resolved_on_time=18, resolved_late=2,
                              satisfied=15, basically_satisfied=3, unsatisfied=1, returned=0,
                              reopened=1, overdue=2, closed=19),
                 patrols=(176, 8)),
    "w-wang": dict(grid="SZ-01", post="B", level="junior", on=dt.date(2026, 1, 1), score=Decimal(85),
                   tickets=dict(dispatched=12, accepted=11, resolved_on_time=9, resolved_late=1,
                                satisfied=8, basically_satisfied=1, unsatisfied=1, returned=2,
                                reopened=0, overdue=1, closed=10),
                   patrols=(180, 4)),
    "w-zhang": dict(grid="SZ-02", post="A", level="senior", on=dt.date(2026, 1, 1), score=Decimal(95),
                    tickets=dict(dispatched=16, accepted=16, resolved_on_time=16, resolved_late=0,
                                 satisfied=14, basically_satisfied=0, unsatisfied=0, returned=0,
                                 reopened=0, overdue=0, closed=16),
                    patrols=(184, 0)),
    "w-chen": dict(grid="SZ-02", post="B", level="standard", on=dt.date(2026, 8, 1), score=None,
                   tickets=dict(dispatched=5, accepted=5, resolved_on_time=2, resolved_late=2,
                                satisfied=2, basically_satisfied=1, unsatisfied=1, returned=1,
                                reopened=0, overdue=2, closed=4),
                   patrols=(100, 22)),
}
#: the figures of docs/performance.md, standard mode
EXPECTED_PAY = {"w-li": 705_600, "w-wang": 504_000, "w-zhang": 806_400, "w-chen": 311_896}
EXPECTED_COMPOSITE = {"w-li": "93.04", "w-wang": "86.31", "w-zhang": "97.50", "w-chen": "63.55"}
EXPECTED_GRADE = {"w-li": "excellent", "w-wang": "good", "w-zhang": "excellent", "w-chen": "pass"}
# days the A post is on leave so that the B post answers for the missed windows
LEAVE = {"w-li": [dt.date(2026, 9, 1), dt.date(2026, 9, 2)],
         "w-zhang": [dt.date(2026, 8, d) for d in range(2, 13)]}
# the A post's own missed days (two windows each)
MISSED_OWN = {"w-li": [dt.date(2026, 7, d) for d in (6, 7, 8, 9)]}
RATINGS = ("satisfied", "basically_satisfied", "unsatisfied")


def perf_config(amqp_uri, tmp_path, unique, **extra) -> dict:
    """Config for ``performance<unique>`` consuming ``tickets<unique>`` and ``grid<unique>``."""
    return service_config(amqp_uri, tmp_path, f"performance{unique}", unique=unique,
                          PERFORMANCE_TODAY="2026-10-01", ONEGRID_RELAY="false", **extra)


def at(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), CST)


def credits_expected() -> int:
    """How many TicketCredited and PatrolCredited the example makes."""
    return sum(sum(spec["tickets"].values()) + sum(spec["patrols"]) for spec in EXAMPLE.values())


def _published(schemas, event, when: dt.datetime) -> tuple:
    """``(type, payload, occurred_at)`` as the source's relay publishes ``event``."""
    return type(event).__name__, schemas[type(event)]().dump(event.fields()), when


def grid_event(event, when: dt.datetime) -> tuple:
    return _published(GRID_SCHEMAS, event, when)


def ticket_event(event, when: dt.datetime) -> tuple:
    return _published(TICKET_SCHEMAS, event, when)


def ticket_stream(ticket_id: str) -> str:
    return f"ticket/{ticket_id}"


def example_grid_map() -> list[tuple[str, list[tuple]]]:
    """The map, the workers, their posts and their leave (phase 1), as grid streams."""
    g, drawn = grid_events, at(dt.date(2025, 12, 1))
    square = ((118.7, 32.0), (118.71, 32.0), (118.71, 32.01), (118.7, 32.01), (118.7, 32.0))
    streams = [("community/co-sz", [grid_event(g.CommunityRegistered(
        "co-sz", STREET, "Shazhou 1", "沙洲一", square), drawn)])]
    for code in ("SZ-01", "SZ-02"):
        streams.append((f"grid/{code}", [grid_event(g.GridDrawn(
            code, "co-sz", STREET, g.COMPREHENSIVE, None, square), drawn)]))
    for worker, spec in EXAMPLE.items():
        events = [grid_event(g.WorkerEnrolled(worker, "co-sz", worker), at(dt.date(2025, 12, 15))),
                  grid_event(g.WorkerPosted(worker, spec["grid"], spec["post"]), at(spec["on"], 9))]
        events += [grid_event(g.LeaveGranted(worker, day), at(day, 8)) for day in LEAVE.get(worker, [])]
        streams.append((f"worker/{worker}", events))
    return streams


def example_activity() -> tuple[list, list]:
    """(grid streams, ticket streams): patrols finished and missed, and every ticket (phase 2)."""
    grid_streams, ticket_streams = [], []
    for worker, spec in EXAMPLE.items():
        first = max(spec["on"], Q3_FIRST)
        days = [first + dt.timedelta(days=n) for n in range((Q3_LAST - first).days + 1)]
        done, missed = spec["patrols"]
        for n in range(done):
            when = at(days[(n // 2) % len(days)], 9 + 6 * (n % 2))
            grid_streams.append((f"patrol/{worker}-p{n}", [grid_event(grid_events.PatrolFinished(
                f"{worker}-p{n}", spec["grid"], worker, when, 32.0, 118.7, False), when)]))
        missed_days = _missed_days(worker, spec)
        assert len(missed_days) * 2 == missed, (worker, missed_days, missed)
        for day in missed_days:
            for window in ("morning", "afternoon"):
                grid_streams.append((f"missed/{spec['grid']}/{day}/{window}", [grid_event(
                    grid_events.PatrolMissed(spec["grid"], day, window), at(day, 23))]))
        for n in range(spec["tickets"]["dispatched"]):
            ticket_streams.append(_ticket(worker, n, spec["tickets"], days[(n * 3) % len(days)]))
    return grid_streams, ticket_streams


def _missed_days(worker: str, spec: dict) -> list[dt.date]:
    """An A post misses its own days; a B post the days its grid's A post is on leave."""
    if spec["post"] == "A":
        return MISSED_OWN.get(worker, [])
    partner = next(w for w, s in EXAMPLE.items() if s["grid"] == spec["grid"] and s["post"] == "A")
    return LEAVE.get(partner, [])


def callback(ticket_id: str, rating: str, when: dt.datetime) -> tuple:
    """A CallbackRecorded of a ticket (for a late callback after the close)."""
    return ticket_event(ticket_events.CallbackRecorded(ticket_id, when, "op", rating, None), when)


def _ticket(worker: str, n: int, counts: dict, day: dt.date):
    """Ticket ``n`` of a worker: the k-th ticket gets an outcome if k < that outcome's count."""
    t, tid = ticket_events, f"{worker}-t{n}"
    who = dict(assignee_kind="worker", assignee_id=worker)
    events = [ticket_event(t.TicketDispatched(tid, at(day, 8), "op", grid_code=None, reason=None,
                                              **who), at(day, 8))]
    when = [at(day, 9, minute) for minute in range(8)]
    if n < counts["accepted"]:
        events.append(ticket_event(t.TicketAccepted(tid, when[1], worker, **who), when[1]))
    if n < counts["overdue"]:
        events.append(ticket_event(t.TicketOverdue(tid, when[2], at(day, 9), **who), when[2]))
    if n < counts["resolved_on_time"] + counts["resolved_late"]:
        events.append(ticket_event(t.TicketResolved(
            tid, when[3], worker, "done", at(day, 20), n < counts["resolved_on_time"]), when[3]))
    for rating in RATINGS:
        start = sum(counts[r] for r in RATINGS[:RATINGS.index(rating)])
        if start <= n < start + counts[rating]:
            events.append(callback(tid, rating, when[4]))
    if n < counts["reopened"]:
        events.append(ticket_event(t.TicketReopened(tid, when[5], "op", "redo", deadline=at(day, 22),
                                                    **who), when[5]))
    if n < counts["closed"]:
        events.append(ticket_event(t.TicketClosed(tid, when[6], "op", "satisfied", True), when[6]))
    if n >= counts["dispatched"] - counts["returned"]:
        events.append(ticket_event(t.TicketReturned(tid, when[7], worker, reason="not mine", **who),
                                   when[7]))
    return ticket_stream(tid), events
