"""Command handlers against the in-memory repository: load, decide, save."""
from __future__ import annotations

import datetime as dt

import pytest

from services.tickets import commands as c
from services.tickets import handlers
from services.tickets.domain import (InvalidTicketCommand, InvalidTransition, Ticket,
                                     TicketAlreadyExists, TicketNotFound, UnknownCategory)
from services.tickets.policy import load_calendar, load_catalogue

from .helpers import T0, ConcurrencyConflict, InMemoryTicketRepo, hours, random_id

CATALOGUE = load_catalogue()
CALENDAR = load_calendar()
POLICY = dict(catalogue=CATALOGUE, calendar=CALENDAR, node_id="shazhou")


def open_command(ticket_id, **overrides):
    return c.OpenTicket(**{**dict(
        ticket_id=ticket_id, actor_id="op-1", channel="hotline_12345",
        category_code="legal_advice", title="Deposit withheld", description="Landlord",
        street="shazhou", community="zhongcheng", address="1 Jiangdong Rd",
        reporter_name="Wang Fang", reporter_phone="13812345678"), **overrides})


@pytest.fixture
def repo():
    return InMemoryTicketRepo()


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
        [event] = handlers.handle(repo, command, now, **POLICY)
    ticket = repo.get(tid)
    assert ticket.state == "closed" and ticket.version == 6
    assert [type(e).__name__ for e in repo.streams[tid]] == [
        "TicketOpened", "TicketDispatched", "TicketAccepted", "TicketResolved",
        "CallbackRecorded", "TicketClosed"]


def test_opening_takes_the_department_class_and_deadline_from_the_catalogue(repo):
    [opened] = handlers.open_ticket(repo, open_command("t-1"), T0, **POLICY)
    assert (opened.department, opened.deadline_class) == ("judicial_administration",
                                                          "consultation")
    assert opened.deadline.isoformat() == "2026-03-05T23:59:59+08:00"
    assert opened.node_id == "shazhou"


def test_opening_an_existing_ticket_is_refused(repo):
    handlers.open_ticket(repo, open_command("t-1"), T0, **POLICY)
    with pytest.raises(TicketAlreadyExists):
        handlers.open_ticket(repo, open_command("t-1"), T0, **POLICY)


def test_opening_with_an_unknown_category_stores_nothing(repo):
    with pytest.raises(UnknownCategory):
        handlers.open_ticket(repo, open_command("t-1", category_code="karaoke"), T0, **POLICY)
    assert repo.streams == {}


def test_a_command_for_a_missing_ticket_is_ticket_not_found(repo):
    with pytest.raises(TicketNotFound, match="no ticket 'nope'"):
        handlers.accept(repo, c.AcceptTicket("nope", "w"), T0)


def test_a_refused_command_stores_nothing(repo):
    handlers.open_ticket(repo, open_command("t-1"), T0, **POLICY)
    with pytest.raises(InvalidTransition):
        handlers.resolve(repo, c.ResolveTicket("t-1", "w", "done"), T0 + hours(1))
    assert len(repo.streams["t-1"]) == 1


def test_the_overdue_timer_records_once_even_when_two_replicas_tick(repo):
    handlers.open_ticket(repo, open_command("t-1"), T0, **POLICY)
    late = T0 + dt.timedelta(days=5)
    first = handlers.mark_overdue(repo, c.MarkOverdue("t-1"), late)
    second = handlers.mark_overdue(repo, c.MarkOverdue("t-1"), late + hours(1))
    assert [type(e).__name__ for e in first] == ["TicketOverdue"] and second == []
    assert handlers.mark_overdue(repo, c.MarkOverdue("t-1"), T0 + hours(1)) == []


def test_two_replicas_deciding_on_the_same_version_conflict_instead_of_losing_an_update(repo):
    handlers.open_ticket(repo, open_command("t-1"), T0, **POLICY)
    late = T0 + dt.timedelta(days=5)
    replica_a, replica_b = repo.get("t-1"), repo.get("t-1")
    replica_a.record_overdue(at=late)
    replica_b.record_overdue(at=late)
    repo.save(replica_a)
    with pytest.raises(ConcurrencyConflict):
        repo.save(replica_b)
    assert len(repo.streams["t-1"]) == 2


def test_reopening_gives_a_fresh_deadline_from_the_recorded_class(repo):
    tid = "t-1"
    handlers.open_ticket(repo, open_command(tid), T0, **POLICY)
    handlers.dispatch(repo, c.DispatchTicket(tid, "d", "department", "civil_affairs"), T0)
    handlers.accept(repo, c.AcceptTicket(tid, "staff-1"), T0)
    handlers.resolve(repo, c.ResolveTicket(tid, "staff-1", "done"), T0 + hours(1))
    handlers.record_callback(repo, c.RecordCallback(tid, "op", "unsatisfied"), T0 + hours(2))
    now = dt.datetime.fromisoformat("2026-03-06T10:00:00+08:00")  # a Friday
    [reopened] = handlers.reopen(repo, c.ReopenTicket(tid, "sup", "redo"), now,
                                 calendar=CALENDAR)
    assert reopened.deadline.isoformat() == "2026-03-11T23:59:59+08:00"
    assert reopened.assignee_kind == "department"


def test_a_ticket_is_merged_only_into_a_live_ticket(repo):
    for tid in ("t-1", "t-2", "t-3"):
        handlers.open_ticket(repo, open_command(tid), T0, **POLICY)
    with pytest.raises(TicketNotFound):
        handlers.merge(repo, c.MergeTicket("t-1", "op", "t-404"), T0)
    handlers.merge(repo, c.MergeTicket("t-2", "op", "t-3"), T0)
    with pytest.raises(InvalidTicketCommand, match="'t-3'"):
        handlers.merge(repo, c.MergeTicket("t-1", "op", "t-2"), T0)
    handlers.merge(repo, c.MergeTicket("t-1", "op", "t-3"), T0)
    assert repo.get("t-1").merged_into == "t-3"


def test_every_command_class_has_a_handler():
    assert set(handlers.HANDLERS) == set(c.COMMAND_TYPES)


def test_the_repository_hands_back_a_ticket_rebuilt_from_its_stream(repo):
    handlers.open_ticket(repo, open_command("t-1"), T0, **POLICY)
    ticket = repo.get("t-1")
    assert isinstance(ticket, Ticket) and ticket.pending == () and ticket.version == 1
