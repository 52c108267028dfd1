"""Command handlers on an in-memory SQLite store: load, decide, save."""
from __future__ import annotations

import datetime as dt

import pytest

from onegrid.store import WrongExpectedVersion
from services.tickets import handlers
from services.tickets.domain import (InvalidTicketCommand, InvalidTransition, Ticket,
                                     TicketAlreadyExists, TicketNotFound, UnknownCategory)
from services.tickets.domain import commands as c

from .helpers import T0, Tickets, hours, random_id


def open_command(ticket_id, **overrides):
    return c.OpenTicket(**{**dict(
        ticket_id=ticket_id, actor_id="op-1", channel="hotline_12345",
        category_code="legal_advice", title="Deposit withheld", description="Landlord",
        street="shazhou", community="zhongcheng", address="1 Jiangdong Rd",
        reporter_name="Wang Fang", reporter_phone="13812345678"), **overrides})


@pytest.fixture
def repo():
    tickets = Tickets()
    yield tickets
    tickets.close()


def test_the_whole_life_of_a_ticket_through_the_handlers(repo):
    tid = random_id()
    steps = [
        (open_command(tid), T0),
        (c.DispatchTicket(tid, "d-1", "worker", "worker-7", "SZ-ZC-03", "A post on duty"),
         T0 + hours(1)),
        (c.AcceptTicket(tid, "worker-7"), T0 + hours(2)),
        (c.ResolveTicket(tid, "worker-7", "deposit returned"), T0 + hours(20)),
        (c.RecordCallback(tid, "op-2", "satisfied"), T0 + hours(30)),
        (c.CloseTicket(tid, "op-2"), T0 + hours(31)),
    ]
    for command, now in steps:
        [event] = repo.run(handlers.COMMANDS[type(command)], command, now)["events"]
    ticket = repo.ticket(tid)
    assert ticket.state == "closed" and ticket.version == 6
    assert repo.events(tid) == [
        "TicketOpened", "TicketDispatched", "TicketAccepted", "TicketResolved",
        "CallbackRecorded", "TicketClosed"]


def test_opening_takes_the_department_class_and_deadline_from_the_catalogue(repo):
    repo.run(handlers.open_ticket, open_command("t-1"), T0)
    opened = repo.ticket("t-1").opened
    assert (opened.department, opened.deadline_class) == ("judicial_administration",
                                                          "consultation")
    assert opened.deadline.isoformat() == "2026-03-05T23:59:59+08:00"
    assert opened.node_id == "shazhou"


def test_opening_an_existing_ticket_is_refused(repo):
    repo.run(handlers.open_ticket, open_command("t-1"), T0)
    with pytest.raises(TicketAlreadyExists):
        repo.run(handlers.open_ticket, open_command("t-1"), T0)


def test_opening_with_an_unknown_category_stores_nothing(repo):
    with pytest.raises(UnknownCategory):
        repo.run(handlers.open_ticket, open_command("t-1", category_code="karaoke"), T0)
    assert repo.log() == []


def test_a_command_for_a_missing_ticket_is_ticket_not_found(repo):
    with pytest.raises(TicketNotFound, match="no ticket 'nope'"):
        repo.run(handlers.accept, c.AcceptTicket("nope", "w"), T0)


def test_a_refused_command_stores_nothing(repo):
    repo.run(handlers.open_ticket, open_command("t-1"), T0)
    with pytest.raises(InvalidTransition):
        repo.run(handlers.resolve, c.ResolveTicket("t-1", "w", "done"), T0 + hours(1))
    assert len(repo.stream("t-1")) == 1


def test_the_overdue_timer_records_once_even_when_two_replicas_tick(repo):
    repo.run(handlers.open_ticket, open_command("t-1"), T0)
    late = T0 + dt.timedelta(days=5)
    first = repo.run(handlers.mark_overdue, c.MarkOverdue(("t-1",)), late)
    second = repo.run(handlers.mark_overdue, c.MarkOverdue(("t-1",)), late + hours(1))
    assert repo.events("t-1")[1:] == ["TicketOverdue"]
    assert first["overdue"] == ["t-1"] and second["overdue"] == []
    assert repo.run(handlers.mark_overdue, c.MarkOverdue(("t-1",)), T0 + hours(1)) == {
        "overdue": []}


def test_two_replicas_deciding_on_the_same_version_conflict_instead_of_losing_an_update(repo):
    repo.run(handlers.open_ticket, open_command("t-1"), T0)
    late = T0 + dt.timedelta(days=5)
    replica_a, replica_b = repo.ticket("t-1"), repo.ticket("t-1")
    replica_a.record_overdue(at=late)
    replica_b.record_overdue(at=late)
    repo.save(replica_a)
    with pytest.raises(WrongExpectedVersion):
        repo.save(replica_b)
    assert len(repo.stream("t-1")) == 2


def test_reopening_gives_a_fresh_deadline_from_the_recorded_class(repo):
    tid = "t-1"
    repo.run(handlers.open_ticket, open_command(tid), T0)
    repo.run(handlers.dispatch, c.DispatchTicket(tid, "d", "department", "civil_affairs"), T0)
    repo.run(handlers.accept, c.AcceptTicket(tid, "staff-1"), T0)
    repo.run(handlers.resolve, c.ResolveTicket(tid, "staff-1", "done"), T0 + hours(1))
    repo.run(handlers.record_callback, c.RecordCallback(tid, "op", "unsatisfied"), T0 + hours(2))
    now = dt.datetime.fromisoformat("2026-03-06T10:00:00+08:00")  # a Friday
    reopened = repo.run(handlers.reopen, c.ReopenTicket(tid, "sup", "redo"), now)
    event = repo.stream(tid)[-1]
    assert reopened["events"] == [event.event_type] == ["TicketReopened"]
    assert event.payload["deadline"] == "2026-03-11T23:59:59+08:00"
    assert event.payload["assignee_kind"] == "department"


def test_a_ticket_is_merged_only_into_a_live_ticket(repo):
    for tid in ("t-1", "t-2", "t-3"):
        repo.run(handlers.open_ticket, open_command(tid), T0)
    with pytest.raises(TicketNotFound):
        repo.run(handlers.merge, c.MergeTicket("t-1", "op", "t-404"), T0)
    repo.run(handlers.merge, c.MergeTicket("t-2", "op", "t-3"), T0)
    with pytest.raises(InvalidTicketCommand, match="'t-3'"):
        repo.run(handlers.merge, c.MergeTicket("t-1", "op", "t-2"), T0)
    repo.run(handlers.merge, c.MergeTicket("t-1", "op", "t-3"), T0)
    assert repo.ticket("t-1").merged_into == "t-3"


def test_every_command_class_has_a_handler():
    assert set(handlers.COMMANDS) == set(c.COMMAND_TYPES)


def test_the_repository_hands_back_a_ticket_rebuilt_from_its_stream(repo):
    repo.run(handlers.open_ticket, open_command("t-1"), T0)
    ticket = repo.ticket("t-1")
    assert isinstance(ticket, Ticket) and ticket.pending == () and ticket.version == 1
    assert (ticket.id, ticket.ticket_id) == (Ticket.stream_id("t-1"), "t-1")
    assert [e.stream_id for e in repo.stream("t-1")] == ["ticket/t-1"]
