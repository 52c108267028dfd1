"""The service's pure wiring: dispatch decisions, redaction, and the list projection's fold."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from onegrid.envelope import Envelope
from services.tickets import commands as c
from services.tickets import handlers
from services.tickets.policy import load_calendar, load_catalogue
from services.tickets.projections import fold
from services.tickets.rates import TicketSummary
from services.tickets.service import REGISTRY, redact
from services.tickets.tables import stamp

from .helpers import T0, InMemoryTicketRepo, hours

POLICY = dict(catalogue=load_catalogue(), calendar=load_calendar(), node_id="shazhou")


def _open(repo, tid="t-1"):
    handlers.open_ticket(repo, c.OpenTicket(
        ticket_id=tid, actor_id="op", channel="hotline_12345", category_code="legal_advice",
        title="t", description="d", street="shazhou", community="zhongcheng",
        grid_code="G1", reporter_name="Wang Fang", reporter_phone="13812345678"), T0, **POLICY)


def decision(version, trigger="opened", kind="worker", who="w-1"):
    return c.RecordDispatchDecision("t-1", version, kind, who, "G1", "post_a", trigger)


def test_a_decision_for_the_current_opening_dispatches_the_ticket():
    repo = InMemoryTicketRepo()
    _open(repo)
    events = handlers.record_dispatch_decision(repo, decision(1), T0)
    assert [type(e).__name__ for e in events] == ["TicketDispatched"]
    assert (repo.get("t-1").assignee_kind, repo.get("t-1").assignee_id) == ("worker", "w-1")


@pytest.mark.parametrize("kind,who", [("street", "shazhou"), ("district", "district")])
def test_the_street_office_or_the_district_can_be_the_assignee(kind, who):
    repo = InMemoryTicketRepo()
    _open(repo)
    handlers.record_dispatch_decision(repo, decision(1, kind=kind, who=who), T0)
    handlers.accept(repo, c.AcceptTicket("t-1", "office"), T0 + hours(1))
    assert repo.get("t-1").state == "accepted"


def test_a_moot_decision_records_nothing():
    repo = InMemoryTicketRepo()
    assert handlers.record_dispatch_decision(repo, decision(1), T0) == []  # no such ticket
    _open(repo)
    handlers.record_dispatch_decision(repo, decision(1), T0)
    # a second decision for the same opening: already dispatched
    assert handlers.record_dispatch_decision(repo, decision(1, who="w-2"), T0) == []
    # a reassignment to the same assignee: nothing to do
    assert handlers.record_dispatch_decision(
        repo, decision(1, trigger="worker_on_leave"), T0) == []
    handlers.return_ticket(repo, c.ReturnTicket("t-1", "w-1", "not mine"), T0 + hours(1))
    # stale: for the opening (version 1), not the return (version 3)
    assert handlers.record_dispatch_decision(
        repo, decision(1, trigger="worker_on_leave", who="w-3"), T0) == []
    assert repo.get("t-1").dispatch_requested_version == 3
    assert len(handlers.record_dispatch_decision(repo, decision(3, "returned", who="w-2"), T0)) == 1
    assert len(handlers.record_dispatch_decision(
        repo, decision(3, "worker_left", who="w-4"), T0)) == 1
    assert repo.get("t-1").assignee_id == "w-4"


def _envelopes(events):
    out = []
    for version, event in enumerate(events, start=1):
        new = REGISTRY.to_new_event(event)
        out.append(Envelope(new.event_id, event.ticket_id, version, new.event_type, 1,
                            new.payload, event.at, event.at, "shazhou", new.event_id, None,
                            "op", "user", version))
    return out


def test_redaction_strips_the_reporter_and_leaves_everything_else():
    repo = InMemoryTicketRepo()
    _open(repo)
    opened = _envelopes(repo.saved)[0]
    public = redact(opened)
    assert "reporter_phone" not in public.payload and "reporter_name" not in public.payload
    assert opened.payload["reporter_phone"] == "13812345678"  # the stored one is untouched
    assert dataclasses.replace(public, payload=opened.payload) == opened
    handlers.dispatch(repo, c.DispatchTicket("t-1", "d", "worker", "w-1"), T0)
    other = _envelopes(repo.saved)[1]
    assert redact(other) is other


def test_the_fold_agrees_with_the_aggregate_over_a_long_life():
    repo = InMemoryTicketRepo()
    _open(repo)
    t = T0
    steps = [
        lambda: handlers.dispatch(repo, c.DispatchTicket("t-1", "d", "worker", "w-1", "G2"), t),
        lambda: handlers.accept(repo, c.AcceptTicket("t-1", "w-1"), t),
        lambda: handlers.request_extension(repo, c.RequestExtension(
            "t-1", "w-1", "parts", T0 + dt.timedelta(days=9)), t),
        lambda: handlers.grant_extension(repo, c.GrantExtension("t-1", "sup"), t),
        lambda: handlers.mark_overdue(repo, c.MarkOverdue("t-1"), T0 + dt.timedelta(days=10)),
        lambda: handlers.resolve(repo, c.ResolveTicket("t-1", "w-1", "done"), t),
        lambda: handlers.record_callback(repo, c.RecordCallback("t-1", "op", "unsatisfied"), t),
        lambda: handlers.reopen(repo, c.ReopenTicket("t-1", "op", "still broken"), t,
                                calendar=POLICY["calendar"]),
        lambda: handlers.accept(repo, c.AcceptTicket("t-1", "w-1"), t),
        lambda: handlers.resolve(repo, c.ResolveTicket("t-1", "w-1", "done"), t),
        lambda: handlers.record_callback(repo, c.RecordCallback("t-1", "op", "satisfied"), t),
        lambda: handlers.close(repo, c.CloseTicket("t-1", "op"), t),
    ]
    row = None
    for i, step in enumerate(steps):
        t = T0 + hours(i + 1)
        step()
        row = None
        for envelope in _envelopes(repo.saved):
            row = fold(row, envelope)
        ticket = repo.get("t-1")
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
