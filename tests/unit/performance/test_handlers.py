"""Handlers and reactions on in-memory SQLite: load, decide, save, in one transaction."""
from __future__ import annotations

import datetime as dt

import pytest

from onegrid.envelope import Envelope, new_event_id
from onegrid.errors import NotFound
from onegrid.inputs import load_input
from onegrid.runtime import Setup
from onegrid.store import open_store
from onegrid.store.sql import create_tables
from onegrid.testing import Clock
from onegrid.uow import UnitOfWork, run_in_transaction
from services.grid.domain import events as grid_events
from services.performance import reads
from services.performance.context import build_context
from services.performance.domain import Ledger, PeriodNotEnded, UnknownWorker
from services.performance.domain.commands import CloseQuarter, RecordAssessment, SetPolicy
from services.performance.domain.periods import Quarter
from services.performance.handlers import COMMANDS, REACTIONS
from services.performance.schemas import COMMAND_SCHEMAS, REGISTRY
from services.performance.testing import POLICY_V1, STREET, at, grid_event, ticket_event
from services.tickets.domain import events as ticket_events

Q3 = Quarter(2026, 3)
UTC = dt.timezone.utc


class Performance:
    """The service's handlers over an in-memory store, fed envelopes by hand."""

    def __init__(self):
        self.store = open_store("sqlite://", "shazhou", prefix="performance_")
        self.clock = Clock(dt.datetime(2026, 9, 30, 17, 0, tzinfo=UTC))  # 1 October in Shazhou
        self.ctx = build_context(Setup("performance", {}, "shazhou", "performance_", self.clock))
        create_tables(self.ctx.tables.reactions, self.store.engine)
        self.versions: dict[str, int] = {}

    def run(self, command, **fields):
        cmd = command(**load_input(COMMAND_SCHEMAS[command], fields))
        return run_in_transaction(self.store, REGISTRY,
                                  lambda uow: COMMANDS[command](uow, cmd, self.ctx))[0]

    def deliver(self, source: str, stream: str, published: tuple, event_id=None) -> Envelope:
        kind, payload, when = published
        version = self.versions[stream] = self.versions.get(stream, 0) + 1
        envelope = Envelope(event_id or new_event_id(), stream, version, kind, 1, payload, when,
                            when, "shazhou", new_event_id(), None, "src", "system")
        run_in_transaction(self.store, REGISTRY,
                           lambda uow: REACTIONS[source][kind](uow, envelope, self.ctx))
        return envelope

    def read(self, fn, *args):
        with self.store.snapshot() as tx:
            return fn(UnitOfWork(tx, REGISTRY, read_only=True), *args)


@pytest.fixture
def perf():
    service = Performance()
    g, day = grid_events, at(dt.date(2025, 12, 1))
    service.deliver("grid", "community/co", grid_event(g.CommunityRegistered(
        "co", STREET, "Co", "", ()), day))
    service.deliver("grid", "grid/SZ-01", grid_event(g.GridDrawn(
        "SZ-01", "co", STREET, g.COMPREHENSIVE, None, ()), day))
    for worker, post in (("w-a", "A"), ("w-b", "B")):
        service.deliver("grid", f"worker/{worker}", grid_event(g.WorkerEnrolled(worker, "co", worker), day))
        service.deliver("grid", f"worker/{worker}", grid_event(g.WorkerPosted(worker, "SZ-01", post),
                                                              at(dt.date(2026, 7, 1))))
    yield service
    service.store.close()


def ledger(perf, worker) -> Ledger:
    return perf.read(lambda q: reads.ledger(q, worker, Q3))


def test_an_assessment_of_a_worker_the_grid_never_enrolled_is_refused_and_records_nothing(perf):
    before = perf.store.last_position()
    with pytest.raises(UnknownWorker, match="worker_id: no worker 'w-nobody'") as refused:
        perf.run(RecordAssessment, worker_id="w-nobody", quarter="2026Q3", assessor="hq",
                 score="80", assessment_id="a-1")
    assert isinstance(refused.value, NotFound) and refused.value.code == "unknown_worker"
    assert perf.store.last_position() == before


def test_a_ticket_is_credited_to_the_worker_it_was_dispatched_to_once_per_event(perf):
    t, when = ticket_events, at(dt.date(2026, 8, 3), 9)
    perf.deliver("tickets", "ticket/T-1", ticket_event(t.TicketDispatched(
        "T-1", when, "op", "worker", "w-a", "SZ-01", None), when))
    closed = perf.deliver("tickets", "ticket/T-1", ticket_event(t.TicketClosed(
        "T-1", when, "op", "satisfied", True), when))
    perf.versions["ticket/T-1"] -= 1  # the same event delivered again
    perf.deliver("tickets", "ticket/T-1", (closed.event_type, closed.payload, when),
                 event_id=closed.event_id)
    counts = ledger(perf, "w-a").counts()
    assert (counts.dispatched, counts.closed) == (1, 1)


def test_a_missed_patrol_is_credited_to_the_b_post_when_the_a_post_is_on_leave(perf):
    g, day = grid_events, dt.date(2026, 8, 10)
    perf.deliver("grid", "worker/w-a", grid_event(g.LeaveGranted("w-a", day), at(day, 7)))
    perf.deliver("grid", f"missed/SZ-01/{day}/morning",
                 grid_event(g.PatrolMissed("SZ-01", day, "morning"), at(day, 23)))
    assert ledger(perf, "w-b").counts().patrols_missed == 1
    assert ledger(perf, "w-a").counts().patrols_missed == 0


def test_a_worker_who_left_vacates_the_post_and_no_longer_answers_for_it(perf):
    day = dt.date(2026, 8, 20)
    perf.deliver("grid", "worker/w-a", grid_event(grid_events.WorkerLeft("w-a", day, "moved away"),
                                                  at(day, 9)))
    assert perf.read(lambda q: reads.posts_of(q, perf.ctx, "w-a")) == []
    assert perf.read(lambda q: reads.on_duty(q, perf.ctx, "SZ-01", day)) == "w-b"
    record = perf.read(lambda q: reads.record(q, "w-a"))
    assert record.current is None and record.days_in_post(Q3, STREET) == 50


def test_a_quarter_closes_on_the_street_offices_calendar_day(perf):
    perf.run(SetPolicy, **POLICY_V1)
    perf.clock.now = dt.datetime(2026, 9, 30, 15, 59, tzinfo=UTC)  # 23:59 on 30 September
    with pytest.raises(PeriodNotEnded):
        perf.run(CloseQuarter, street=STREET, quarter="2026Q3")
    perf.clock.now = dt.datetime(2026, 9, 30, 16, 0, tzinfo=UTC)  # midnight in Shazhou
    closed = perf.run(CloseQuarter, street=STREET, quarter="2026Q3")
    assert closed["closed"] is True and closed["workers"] == ["w-a", "w-b"]
    assert perf.read(lambda q: reads.is_closed(q, perf.ctx, STREET, Q3))
    assert perf.run(CloseQuarter, street=STREET, quarter="2026Q3")["closed"] is False
