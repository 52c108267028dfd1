"""The service's wiring: dispatch decisions, redaction, the list projection's fold, the class."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from onegrid.envelope import Envelope
from onegrid.testing import renamed
from services.tickets import handlers
from services.tickets.domain import commands as c
from services.tickets.domain.rates import TicketSummary
from services.tickets.projections import fold
from services.tickets.service import SERVICE, TicketsService, redact
from services.tickets.tables import stamp

from .helpers import T0, Tickets, hours


@pytest.fixture
def repo():
    tickets = Tickets()
    yield tickets
    tickets.close()


def _open(repo, tid="t-1"):
    repo.run(handlers.open_ticket, c.OpenTicket(
        ticket_id=tid, actor_id="op", channel="hotline_12345", category_code="legal_advice",
        title="t", description="d", street="shazhou", community="zhongcheng",
        grid_code="G1", reporter_name="Wang Fang", reporter_phone="13812345678"), T0)


def decision(version, trigger="opened", kind="worker", who="w-1"):
    return c.RecordDispatchDecision("t-1", version, kind, who, "G1", "post_a", trigger)


def decide(repo, cmd) -> list[str]:
    """The events the decision recorded (none for an unknown ticket)."""
    result = repo.run(handlers.record_dispatch_decision, cmd, T0)
    return [] if result is None else result["events"]


def test_a_decision_for_the_current_opening_dispatches_the_ticket(repo):
    _open(repo)
    events = decide(repo, decision(1))
    assert events == ["TicketDispatched"]
    assert (repo.ticket("t-1").assignee_kind, repo.ticket("t-1").assignee_id) == ("worker", "w-1")


@pytest.mark.parametrize("kind,who", [("street", "shazhou"), ("district", "district")])
def test_the_street_office_or_the_district_can_be_the_assignee(repo, kind, who):
    _open(repo)
    decide(repo, decision(1, kind=kind, who=who))
    repo.run(handlers.accept, c.AcceptTicket("t-1", "office"), T0 + hours(1))
    assert repo.ticket("t-1").state == "accepted"


def test_a_moot_decision_records_nothing(repo):
    assert decide(repo, decision(1)) == []  # no such ticket
    _open(repo)
    decide(repo, decision(1))
    # a second decision for the same opening: already dispatched
    assert decide(repo, decision(1, who="w-2")) == []
    # a reassignment to the same assignee: nothing to do
    assert decide(repo, decision(1, trigger="worker_on_leave")) == []
    repo.run(handlers.return_ticket, c.ReturnTicket("t-1", "w-1", "not mine"), T0 + hours(1))
    # stale: for the opening (version 1), not the return (version 3)
    assert decide(repo, decision(1, trigger="worker_on_leave", who="w-3")) == []
    assert repo.ticket("t-1").dispatch_requested_version == 3
    assert len(decide(repo, decision(3, "returned", who="w-2"))) == 1
    assert len(decide(repo, decision(3, "worker_left", who="w-4"))) == 1
    assert repo.ticket("t-1").assignee_id == "w-4"


def _grid_event(event_type, payload, version=1) -> Envelope:
    return Envelope("e-1", "dispatch/t-1", version, event_type, 1, payload, T0, T0, "shazhou",
                    "c-1", None, "grid", "system", version)


def test_the_grid_decision_reaction_records_the_step_and_the_grid_as_the_actor(repo):
    _open(repo)
    repo.run(handlers.on_dispatch_decided, _grid_event("DispatchDecided", {
        "ticket_id": "t-1", "ticket_version": 1, "assignee_kind": "worker",
        "assignee_id": "w-1", "grid_code": "G1", "step": "post_a",
        "reason": "w-1 holds the A post", "rule_version": 2}))
    dispatched = repo.stream("t-1")[-1].payload
    assert dispatched["actor_id"] == "grid"
    assert dispatched["reason"] == "post_a: w-1 holds the A post (rule v2)"


def test_redaction_strips_the_reporter_and_leaves_everything_else(repo):
    _open(repo)
    opened = repo.log()[0]
    public = redact(opened)
    assert "reporter_phone" not in public.payload and "reporter_name" not in public.payload
    assert opened.payload["reporter_phone"] == "13812345678"  # the stored one is untouched
    assert dataclasses.replace(public, payload=opened.payload) == opened
    repo.run(handlers.dispatch, c.DispatchTicket("t-1", "d", "worker", "w-1"), T0)
    other = repo.log()[1]
    assert redact(other) is other


def test_the_fold_agrees_with_the_aggregate_over_a_long_life(repo):
    _open(repo)
    steps = [
        (handlers.dispatch, c.DispatchTicket("t-1", "d", "worker", "w-1", "G2")),
        (handlers.accept, c.AcceptTicket("t-1", "w-1")),
        (handlers.request_extension, c.RequestExtension(
            "t-1", "w-1", "parts", T0 + dt.timedelta(days=9))),
        (handlers.grant_extension, c.GrantExtension("t-1", "sup")),
        (handlers.mark_overdue, c.MarkOverdue(("t-1",))),
        (handlers.resolve, c.ResolveTicket("t-1", "w-1", "done")),
        (handlers.record_callback, c.RecordCallback("t-1", "op", "unsatisfied")),
        (handlers.reopen, c.ReopenTicket("t-1", "op", "still broken")),
        (handlers.accept, c.AcceptTicket("t-1", "w-1")),
        (handlers.resolve, c.ResolveTicket("t-1", "w-1", "done")),
        (handlers.record_callback, c.RecordCallback("t-1", "op", "satisfied")),
        (handlers.close, c.CloseTicket("t-1", "op")),
    ]
    row = None
    for i, (handler, cmd) in enumerate(steps):
        t = T0 + hours(i + 1)
        if handler is handlers.mark_overdue:
            t = T0 + dt.timedelta(days=10)
        repo.run(handler, cmd, t)
        row = None
        for envelope in repo.log():
            row = fold(row, envelope)
        ticket = repo.ticket("t-1")
        summary = TicketSummary.of(ticket)
        assert row["state"] == summary.state
        assert row["deadline"] == stamp(summary.deadline)
        assert row["accepted_at"] == stamp(summary.accepted_at)
        assert row["resolved_at"] == stamp(summary.resolved_at)
        assert (row["on_time"], row["rating"], row["grid_code"]) == (
            summary.on_time, summary.rating, summary.grid_code)
        assert row["overdue"] == ticket.is_overdue
        assert (row["assignee_kind"], row["assignee_id"]) == (ticket.assignee_kind,
                                                              ticket.assignee_id)
    assert row["state"] == "closed" and row["reopen_count"] == 1


def test_the_service_runs_under_its_logical_name_or_any_other():
    assert SERVICE is TicketsService and SERVICE.name == "tickets"
    assert renamed(TicketsService, "ticketsx").name == "ticketsx"
