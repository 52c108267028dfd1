"""Builders for tests of the performance service: fake source logs and the worked example.

``example_grid_events`` and ``example_ticket_events`` write docs/performance.md's worked
example (Shazhou, 2026Q3) as the grid and tickets services would publish it: the map, the four
workers and their posts, leave days (a missed patrol is answered by the A post, or by the B
post when A is on leave), patrols finished and missed, and each worker's tickets.
"""
from __future__ import annotations

import datetime as dt

from onegrid.envelope import NewEvent

CST = dt.timezone(dt.timedelta(hours=8))
STREET = "shazhou"
Q3_FIRST = dt.date(2026, 7, 1)
POLICY_V1 = dict(street=STREET, version=1, effective_from="2026Q1",
                 pay_standards={"senior": 9_600_000, "standard": 8_400_000, "junior": 7_200_000})

# worker: (grid, post, pay level, posted on, third-party score, ticket counts, (patrols done, missed))
EXAMPLE = {
    "w-li": ("SZ-01", "A", "standard", dt.date(2026, 1, 1), "92",
             dict(dispatched=20, accepted=20, overdue=2, resolved_on_time=18, resolved_late=2,
                  satisfied=15, basically_satisfied=3, unsatisfied=1, reopened=1, closed=19,
                  returned=0), (176, 8)),
    "w-wang": ("SZ-01", "B", "junior", dt.date(2026, 1, 1), "85",
               dict(dispatched=12, accepted=11, overdue=1, resolved_on_time=9, resolved_late=1,
                    satisfied=8, basically_satisfied=1, unsatisfied=1, reopened=0, closed=10,
                    returned=2), (180, 4)),
    "w-zhang": ("SZ-02", "A", "senior", dt.date(2026, 1, 1), "95",
                dict(dispatched=16, accepted=16, overdue=0, resolved_on_time=16, resolved_late=0,
                     satisfied=14, basically_satisfied=0, unsatisfied=0, reopened=0, closed=16,
                     returned=0), (184, 0)),
    "w-chen": ("SZ-02", "B", "standard", dt.date(2026, 8, 1), None,
               dict(dispatched=5, accepted=5, overdue=2, resolved_on_time=2, resolved_late=2,
                    satisfied=2, basically_satisfied=1, unsatisfied=1, reopened=0, closed=4,
                    returned=1), (100, 22)),
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


def at(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), CST)


def credits_expected() -> int:
    """How many TicketCredited and PatrolCredited the example makes."""
    return sum(sum(t.values()) + done + missed for *_, t, (done, missed) in EXAMPLE.values())


def example_grid_map() -> list[tuple[str, list[tuple]]]:
    """The map, the workers, their posts and their leave (phase 1)."""
    streams = [("community:co-sz", [("CommunityRegistered", {
        "community_code": "co-sz", "street_code": STREET, "name": "Shazhou 1", "name_zh": "",
        "boundary": []}, at(dt.date(2025, 12, 1)))])]
    for grid in ("SZ-01", "SZ-02"):
        streams.append((f"grid:{grid}", [("GridDrawn", {
            "grid_code": grid, "community_code": "co-sz", "street_code": STREET,
            "kind": "comprehensive", "purpose": None, "boundary": []}, at(dt.date(2025, 12, 1)))]))
    for worker, (grid, post, _level, on, *_rest) in EXAMPLE.items():
        events = [("WorkerEnrolled", {"worker_id": worker, "community_code": "co-sz",
                                      "name": worker}, at(dt.date(2025, 12, 15))),
                  ("WorkerPosted", {"worker_id": worker, "grid_code": grid, "post": post}, at(on, 9))]
        events += [("LeaveGranted", {"worker_id": worker, "day": d.isoformat()}, at(d, 8))
                   for d in LEAVE.get(worker, [])]
        streams.append((f"worker:{worker}", events))
    return streams


def example_activity() -> tuple[list, list]:
    """(grid streams, ticket streams): patrols finished and missed, and every ticket (phase 2)."""
    grid_streams, ticket_streams = [], []
    for worker, (grid, post, _level, on, _score, tickets, (done, missed)) in EXAMPLE.items():
        first = max(on, Q3_FIRST)
        days = [first + dt.timedelta(days=n) for n in range((dt.date(2026, 9, 30) - first).days + 1)]
        for n in range(done):
            day = days[(n // 2) % len(days)]
            grid_streams.append((f"patrol:{worker}-p{n}", [("PatrolFinished", {
                "patrol_id": f"{worker}-p{n}", "grid_code": grid, "worker_id": worker,
                "at": at(day, 9 + 6 * (n % 2)).isoformat(), "lat": 32.0, "lng": 118.7,
                "outside_grid": False}, at(day, 9 + 6 * (n % 2)))]))
        if post == "A":
            missed_days = MISSED_OWN.get(worker, [])
        else:
            partner = next(w for w, spec in EXAMPLE.items() if spec[0] == grid and spec[1] == "A")
            missed_days = LEAVE.get(partner, [])
        assert len(missed_days) * 2 == missed, (worker, missed_days, missed)
        for day in missed_days:
            for window in ("morning", "afternoon"):
                grid_streams.append((f"patrol-round:{grid}:{day}:{window}", [("PatrolMissed", {
                    "grid_code": grid, "day": day.isoformat(), "window": window},
                    at(day, 23))]))
        for n in range(tickets["dispatched"]):
            ticket_streams.append(_ticket(worker, n, tickets, days[(n * 3) % len(days)]))
    return grid_streams, ticket_streams


def _ticket(worker: str, n: int, counts: dict, day: dt.date):
    """Ticket ``n`` of a worker: the k-th ticket gets an outcome if k < that outcome's count."""
    tid = f"{worker}-t{n}"
    who = {"assignee_kind": "worker", "assignee_id": worker}
    events = [("TicketDispatched", dict(ticket_id=tid, at=at(day, 8).isoformat(), actor_id="op",
                                        grid_code=None, reason=None, **who))]

    def add(kind, minute, **fields):
        when = at(day, 9, minute)
        events.append((kind, dict(ticket_id=tid, at=when.isoformat(), **fields), when))

    if n < counts["accepted"]:
        add("TicketAccepted", 1, actor_id=worker, **who)
    if n < counts["overdue"]:
        add("TicketOverdue", 2, deadline=at(day, 9).isoformat(), **who)
    if n < counts["resolved_on_time"] + counts["resolved_late"]:
        add("TicketResolved", 3, actor_id=worker, resolution="done", deadline=at(day, 20).isoformat(),
            on_time=n < counts["resolved_on_time"])
    minute = 4
    for rating in ("satisfied", "basically_satisfied", "unsatisfied"):
        start = sum(counts[r] for r in ("satisfied", "basically_satisfied", "unsatisfied")
                    [:("satisfied", "basically_satisfied", "unsatisfied").index(rating)])
        if start <= n < start + counts[rating]:
            add("CallbackRecorded", minute, actor_id="op", rating=rating, comment=None)
    if n < counts["reopened"]:
        add("TicketReopened", 5, actor_id="op", reason="redo", deadline=at(day, 22).isoformat(), **who)
    if n < counts["closed"]:
        add("TicketClosed", 6, actor_id="op", rating="satisfied", on_time=True)
    if n >= counts["dispatched"] - counts["returned"]:
        add("TicketReturned", 7, actor_id=worker, reason="not mine", **who)
    events[0] = events[0] + (at(day, 8),)
    return (f"ticket:{tid}", events)


class FakeSource:
    """Another service's log and relay (tickets or grid), standing in for the real service."""

    def __init__(self, name, amqp_uri, tmp_path):
        from onegrid.store import open_store
        self.name = name
        self.store = open_store(f"sqlite:///{tmp_path}/{name}.sqlite", "shazhou", prefix=f"{name}_")
        self.amqp_uri = amqp_uri

    def append(self, streams) -> None:
        """Append ``[(stream id, [(type, payload, occurred_at), ...]), ...]`` in one transaction."""
        with self.store.transaction() as tx:
            for stream_id, events in streams:
                tx.append(stream_id, tx.stream_version(stream_id),
                          [NewEvent(t, p, occurred_at=when) for t, p, when in events])

    def publish(self) -> int:
        from onegrid.relay import Relay
        relay = Relay(self.store, self.amqp_uri, self.name, page_size=1000)
        try:
            return relay.drain()
        finally:
            relay.close()

    def close(self):
        self.store.close()


def source_service(name: str):
    """A stand-in for the tickets or grid service that answers ``read_stream`` from its log
    (the consumer's gap fetch), its store being the FakeSource's file (``<NAME>_DATABASE_URL``)."""
    from onegrid.registry import EventRegistry
    from onegrid.runtime import EventLogRpc, Store
    return type(f"Fake_{name}", (EventLogRpc,), {"name": name, "store": Store(EventRegistry())})


def perf_config(amqp_uri, tmp_path, unique, **extra) -> dict:
    from onegrid.testing import service_config
    return service_config(amqp_uri, tmp_path, f"performance{unique}", f"tickets{unique}",
                          f"grid{unique}", PERFORMANCE_TODAY="2026-10-01", ONEGRID_RELAY="false",
                          **extra)
