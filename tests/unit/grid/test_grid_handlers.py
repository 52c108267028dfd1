"""The grid's handlers and reactions, run on an in-memory SQLite store (no broker)."""
from __future__ import annotations

import datetime as dt

import pytest

from onegrid.envelope import NewEvent
from onegrid.projections import catch_up
from onegrid.runtime import Setup
from onegrid.store import open_store
from onegrid.store.sql import create_tables
from onegrid.testing import CST, Clock
from onegrid.uow import run_in_transaction
from services.grid import reads
from services.grid.context import build_context
from services.grid.domain import Community, Patrol, TicketDispatch
from services.grid.domain import commands as c
from services.grid.handlers import COMMANDS, REACTIONS
from services.grid.projections import projections
from services.grid.schemas import REGISTRY
from services.tickets.testing import ticket_opened

from .helpers import square

NOW = dt.datetime(2024, 5, 6, 9, 0, tzinfo=CST)


class Grid:
    """The grid's handlers over one store, its read models folded after every command."""

    def __init__(self):
        self.store = open_store("sqlite://", "shazhou", prefix="grid_")
        self.clock = Clock(NOW)
        self.ctx = build_context(Setup("grid", {}, "shazhou", "grid_", self.clock))
        self.projections = projections(self.ctx)
        for projection in self.projections:
            projection.create(self.store.engine)
        create_tables(self.ctx.tables.reactions, self.store.engine)
        self.tickets = open_store("memory://", "shazhou")  # the tickets service's log

    def run(self, cmd):
        return self._in_transaction(lambda uow: COMMANDS[type(cmd)](uow, cmd, self.ctx))

    def react(self, ticket_id, event_type, payload):
        """Record a tickets event on its stream and apply it as the inbox would."""
        stream = f"ticket/{ticket_id}"
        with self.tickets.transaction() as tx:
            [envelope] = tx.append(stream, tx.stream_version(stream), [NewEvent(event_type, payload)])
        reaction = REACTIONS["tickets"][event_type]
        self._in_transaction(lambda uow: reaction(uow, envelope, self.ctx))

    def read(self, fn, *args):
        return self._in_transaction(lambda uow: fn(uow, self.ctx, *args))

    def stream(self, stream_id) -> list[str]:
        return [e.event_type for e in self.store.read_stream(stream_id)]

    def _in_transaction(self, fn):
        result, _ = run_in_transaction(self.store, REGISTRY, fn)
        for projection in self.projections:
            catch_up(self.store, projection)
        return result


@pytest.fixture
def grid():
    """A street, a community with grid g1 (A: wa, B: wb) and three workers."""
    grid = Grid()
    grid.run(c.RegisterStreet("st", "Street", "", tuple(map(tuple, square(118.70, 32.00, 0.1)))))
    grid.run(c.RegisterCommunity("co", "st", "Community", "",
                                 tuple(map(tuple, square(118.70, 32.00, 0.05)))))
    grid.run(c.DrawGrid("g1", "co", "comprehensive", None, tuple(map(tuple, square(118.70, 32.00)))))
    for worker in ("wa", "wb", "wc"):
        grid.run(c.EnrollWorker(worker, "co", worker.upper()))
    grid.run(c.PostWorker("wa", "co", "g1", "A"))
    grid.run(c.PostWorker("wb", "co", "g1", "B"))
    yield grid
    grid.store.close()


def test_posting_a_worker_records_on_the_community_stream(grid):
    assert grid.stream(Community.stream_id("co"))[-2:] == ["WorkerPosted", "WorkerPosted"]
    assert grid.read(reads.grid, "g1")["post_a"] == "wa"


def test_a_ticket_opened_in_a_grid_goes_to_its_a_post_and_is_remembered(grid):
    grid.react("t1", "TicketOpened", ticket_opened("t1", lat=32.005, lng=118.705, at=NOW))
    [decided] = grid.store.read_stream(TicketDispatch.stream_id("t1"))
    assert (decided.payload["assignee_id"], decided.payload["step"]) == ("wa", "post_a")
    assert grid.read(reads.worker, "wa")["open_tickets"] == ["t1"]


def test_leave_for_today_moves_the_workers_open_tickets_in_the_same_command(grid):
    grid.react("t1", "TicketOpened", ticket_opened("t1", lat=32.005, lng=118.705, at=NOW))
    assert grid.run(c.GrantLeave("wa", "co", NOW.date()))["reassigned"] == 1
    last = grid.read(reads.dispatch_of, "t1")[-1]
    assert (last["assignee_id"], last["trigger"], last["ticket_version"]) == (
        "wb", "worker_on_leave", 1)
    assert grid.read(reads.worker, "wb")["open_tickets"] == ["t1"]


def test_a_returned_ticket_is_decided_again_never_back_to_who_returned_it(grid):
    grid.react("t1", "TicketOpened", ticket_opened("t1", lat=32.005, lng=118.705, at=NOW))
    grid.react("t1", "TicketReturned", {"ticket_id": "t1", "at": NOW.isoformat(),
                                        "actor_id": "wa", "assignee_kind": "worker",
                                        "assignee_id": "wa", "reason": "not mine"})
    decided = grid.read(reads.dispatch_of, "t1")
    assert [(d["assignee_id"], d["trigger"]) for d in decided] == [("wa", "opened"),
                                                                  ("wb", "returned")]


def test_a_closed_ticket_no_longer_counts_against_its_holder(grid):
    grid.react("t1", "TicketOpened", ticket_opened("t1", lat=32.005, lng=118.705, at=NOW))
    grid.run(c.GrantLeave("wa", "co", NOW.date() + dt.timedelta(days=1)))
    grid.react("t1", "TicketClosed", {"ticket_id": "t1", "at": NOW.isoformat(),
                                      "actor_id": "op", "rating": "satisfied", "on_time": True})
    assert grid.read(reads.worker, "wa")["open_tickets"] == []
    assert grid.read(reads.workers_away, NOW.date() + dt.timedelta(days=1)) == []


def test_a_missed_round_is_recorded_once_however_often_the_timer_asks(grid):
    day = dt.datetime.now(CST).date() + dt.timedelta(days=2)  # the grid was drawn just now
    grid.clock.now = dt.datetime.combine(day, dt.time(12, 30), CST)  # the morning closed
    rounds = grid.read(reads.missed_rounds, grid.clock())
    assert rounds[-1] == ("g1", day, "morning") and ("g1", day, "afternoon") not in rounds
    assert grid.run(c.RecordMissedPatrols(tuple(rounds)))["recorded"] == len(rounds)
    assert grid.run(c.RecordMissedPatrols(tuple(rounds)))["recorded"] == 0
    assert grid.read(reads.missed_rounds, grid.clock()) == []


def test_a_patrol_and_a_community_of_the_same_id_live_on_their_own_streams(grid):
    community = grid.stream(Community.stream_id("co"))
    grid.run(c.StartPatrol("co", "g1", "wa", NOW, 32.005, 118.705))
    assert grid.stream(Patrol.stream_id("co")) == ["PatrolStarted"]
    assert grid.stream(Community.stream_id("co")) == community
