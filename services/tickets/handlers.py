"""Command handlers: load the ticket, let it decide, save it — plain functions.

``repo`` is any object with ``get(ticket_id) -> Ticket`` (raising TicketNotFound) and
``save(ticket)`` (appending ``ticket.collect()`` at ``ticket.expected_version``). Each handler
returns the events it recorded, in order. ``now`` is an aware datetime from the caller's clock.
"""
from __future__ import annotations

import datetime as dt
from typing import Callable, Protocol

from onegrid.domain import DomainEvent

from . import commands as c
from .domain import (Calendar, Catalogue, InvalidTicketCommand, Ticket, TicketAlreadyExists,
                     TicketNotFound, TicketState, deadline_for, overdue_due)


class TicketRepository(Protocol):
    def get(self, ticket_id: str) -> Ticket: ...

    def save(self, ticket: Ticket) -> None: ...


def _save(repo: TicketRepository, ticket: Ticket) -> list[DomainEvent]:
    events = list(ticket.pending)
    repo.save(ticket)
    return events


def _change(repo: TicketRepository, ticket_id: str,
            decide: Callable[[Ticket], None]) -> list[DomainEvent]:
    ticket = repo.get(ticket_id)
    decide(ticket)
    return _save(repo, ticket)


def open_ticket(repo: TicketRepository, cmd: c.OpenTicket, now: dt.datetime, *,
                catalogue: Catalogue, calendar: Calendar, node_id: str) -> list[DomainEvent]:
    """Open a new ticket, its deadline set from the category and the calendar."""
    try:
        repo.get(cmd.ticket_id)
    except TicketNotFound:
        pass
    else:
        raise TicketAlreadyExists(cmd.ticket_id)
    category = catalogue[cmd.category_code]
    ticket = Ticket(cmd.ticket_id)
    ticket.open(
        at=now, actor_id=cmd.actor_id, node_id=node_id, channel=cmd.channel,
        category_code=category.code, department=category.department,
        deadline_class=category.deadline_class, title=cmd.title, description=cmd.description,
        street=cmd.street, community=cmd.community,
        deadline=deadline_for(category, now, calendar), lat=cmd.lat, lng=cmd.lng,
        address=cmd.address, grid_code=cmd.grid_code, reporter_name=cmd.reporter_name,
        reporter_phone=cmd.reporter_phone, attachments=tuple(cmd.attachments))
    return _save(repo, ticket)


def dispatch(repo: TicketRepository, cmd: c.DispatchTicket, now: dt.datetime) -> list[DomainEvent]:
    """Dispatch or reassign a ticket to a worker or a department."""
    return _change(repo, cmd.ticket_id, lambda t: t.dispatch(
        at=now, actor_id=cmd.actor_id, assignee_kind=cmd.assignee_kind,
        assignee_id=cmd.assignee_id, grid_code=cmd.grid_code, reason=cmd.reason))


def accept(repo: TicketRepository, cmd: c.AcceptTicket, now: dt.datetime) -> list[DomainEvent]:
    """Accept (签收) a dispatched ticket."""
    return _change(repo, cmd.ticket_id, lambda t: t.accept(at=now, actor_id=cmd.actor_id))


def return_ticket(repo: TicketRepository, cmd: c.ReturnTicket,
                  now: dt.datetime) -> list[DomainEvent]:
    """Return (退单) a ticket with a reason."""
    return _change(repo, cmd.ticket_id, lambda t: t.return_ticket(
        at=now, actor_id=cmd.actor_id, reason=cmd.reason))


def resolve(repo: TicketRepository, cmd: c.ResolveTicket, now: dt.datetime) -> list[DomainEvent]:
    """Resolve a ticket."""
    return _change(repo, cmd.ticket_id, lambda t: t.resolve(
        at=now, actor_id=cmd.actor_id, resolution=cmd.resolution))


def record_callback(repo: TicketRepository, cmd: c.RecordCallback,
                    now: dt.datetime) -> list[DomainEvent]:
    """Record the resident's rating at the callback (回访)."""
    return _change(repo, cmd.ticket_id, lambda t: t.record_callback(
        at=now, actor_id=cmd.actor_id, rating=cmd.rating, comment=cmd.comment))


def close(repo: TicketRepository, cmd: c.CloseTicket, now: dt.datetime) -> list[DomainEvent]:
    """Close a ticket after its callback."""
    return _change(repo, cmd.ticket_id, lambda t: t.close(at=now, actor_id=cmd.actor_id))


def reopen(repo: TicketRepository, cmd: c.ReopenTicket, now: dt.datetime, *,
           calendar: Calendar) -> list[DomainEvent]:
    """Reopen an unsatisfied ticket, with a fresh deadline from its deadline class."""
    ticket = repo.get(cmd.ticket_id)
    # The class recorded at intake, so a later catalogue edit cannot change a running ticket.
    deadline = deadline_for(ticket.opened.deadline_class, now, calendar) if ticket.opened else None
    ticket.reopen(at=now, actor_id=cmd.actor_id, reason=cmd.reason, deadline=deadline)
    return _save(repo, ticket)


def request_extension(repo: TicketRepository, cmd: c.RequestExtension,
                      now: dt.datetime) -> list[DomainEvent]:
    """Ask for a later deadline (延期)."""
    return _change(repo, cmd.ticket_id, lambda t: t.request_extension(
        at=now, actor_id=cmd.actor_id, reason=cmd.reason,
        requested_deadline=cmd.requested_deadline))


def grant_extension(repo: TicketRepository, cmd: c.GrantExtension,
                    now: dt.datetime) -> list[DomainEvent]:
    """Grant the pending extension."""
    return _change(repo, cmd.ticket_id, lambda t: t.grant_extension(
        at=now, actor_id=cmd.actor_id, new_deadline=cmd.new_deadline))


def deny_extension(repo: TicketRepository, cmd: c.DenyExtension,
                   now: dt.datetime) -> list[DomainEvent]:
    """Deny the pending extension."""
    return _change(repo, cmd.ticket_id, lambda t: t.deny_extension(
        at=now, actor_id=cmd.actor_id, reason=cmd.reason))


def mark_overdue(repo: TicketRepository, cmd: c.MarkOverdue,
                 now: dt.datetime) -> list[DomainEvent]:
    """Record TicketOverdue if it is due; otherwise do nothing (safe for every timer tick)."""
    ticket = repo.get(cmd.ticket_id)
    if not overdue_due(ticket, now):
        return []
    ticket.record_overdue(at=now)
    return _save(repo, ticket)


def supervise(repo: TicketRepository, cmd: c.SuperviseTicket,
              now: dt.datetime) -> list[DomainEvent]:
    """Supervise (督办) a ticket with a note and a new deadline."""
    return _change(repo, cmd.ticket_id, lambda t: t.supervise(
        at=now, actor_id=cmd.actor_id, note=cmd.note, new_deadline=cmd.new_deadline))


def escalate(repo: TicketRepository, cmd: c.EscalateTicket,
             now: dt.datetime) -> list[DomainEvent]:
    """Escalate a ticket to the street office or the district."""
    return _change(repo, cmd.ticket_id, lambda t: t.escalate(
        at=now, actor_id=cmd.actor_id, level=cmd.level, reason=cmd.reason))


def merge(repo: TicketRepository, cmd: c.MergeTicket, now: dt.datetime) -> list[DomainEvent]:
    """Merge a ticket into another, live ticket as a duplicate."""
    ticket = repo.get(cmd.ticket_id)
    if cmd.into_ticket_id != cmd.ticket_id:
        target = repo.get(cmd.into_ticket_id)
        if target.state in (TicketState.MERGED, TicketState.CANCELLED):
            raise InvalidTicketCommand(
                f"ticket {cmd.into_ticket_id!r} is {target.state}; merge into the ticket "
                f"it was merged into ({target.merged_into!r}) or another live ticket")
    ticket.merge(at=now, actor_id=cmd.actor_id, into_ticket_id=cmd.into_ticket_id)
    return _save(repo, ticket)


def cancel(repo: TicketRepository, cmd: c.CancelTicket, now: dt.datetime) -> list[DomainEvent]:
    """Cancel a ticket at the reporter's request, before dispatch."""
    return _change(repo, cmd.ticket_id, lambda t: t.cancel(
        at=now, actor_id=cmd.actor_id, reason=cmd.reason))


FIRST_DISPATCH_TRIGGERS = frozenset({"opened", "returned"})
AWAITING_DISPATCH = frozenset({TicketState.OPENED, TicketState.RETURNED})
REASSIGNABLE = frozenset({TicketState.DISPATCHED, TicketState.ACCEPTED})


def record_dispatch_decision(repo: TicketRepository, cmd: c.RecordDispatchDecision,
                             now: dt.datetime) -> list[DomainEvent]:
    """Record the grid service's decision as TicketDispatched, or nothing if it is moot.

    Moot: an unknown ticket; a decision for an older opening or return than the latest
    (``ticket_version`` below ``dispatch_requested_version``); a first dispatch for a ticket
    no longer waiting for one (already dispatched by hand, escalated, cancelled...); a
    reassignment of a ticket that is not dispatched/accepted or already with that assignee.
    """
    try:
        ticket = repo.get(cmd.ticket_id)
    except TicketNotFound:
        return []
    if cmd.ticket_version < ticket.dispatch_requested_version:
        return []
    if cmd.trigger in FIRST_DISPATCH_TRIGGERS:
        if ticket.state not in AWAITING_DISPATCH:
            return []
    elif (ticket.state not in REASSIGNABLE
          or (ticket.assignee_kind, ticket.assignee_id) == (cmd.assignee_kind, cmd.assignee_id)):
        return []
    ticket.dispatch(at=now, actor_id=cmd.actor_id, assignee_kind=cmd.assignee_kind,
                    assignee_id=cmd.assignee_id, grid_code=cmd.grid_code, reason=cmd.reason)
    return _save(repo, ticket)


# Command class -> handler. open_ticket also needs catalogue, calendar and node_id;
# reopen needs the calendar.
HANDLERS: dict[type, Callable[..., list[DomainEvent]]] = {
    c.OpenTicket: open_ticket, c.DispatchTicket: dispatch, c.AcceptTicket: accept,
    c.ReturnTicket: return_ticket, c.ResolveTicket: resolve,
    c.RecordCallback: record_callback, c.CloseTicket: close, c.ReopenTicket: reopen,
    c.RequestExtension: request_extension, c.GrantExtension: grant_extension,
    c.DenyExtension: deny_extension, c.MarkOverdue: mark_overdue,
    c.SuperviseTicket: supervise, c.EscalateTicket: escalate, c.MergeTicket: merge,
    c.CancelTicket: cancel, c.RecordDispatchDecision: record_dispatch_decision,
}
_NEEDS_POLICY = {c.OpenTicket: ("catalogue", "calendar", "node_id"),
                 c.ReopenTicket: ("calendar",)}


def handle(repo: TicketRepository, cmd, now: dt.datetime, *, catalogue: Catalogue,
           calendar: Calendar, node_id: str) -> list[DomainEvent]:
    """Route any command to its handler, passing the policy only to those that need it."""
    given = {"catalogue": catalogue, "calendar": calendar, "node_id": node_id}
    extra = {name: given[name] for name in _NEEDS_POLICY.get(type(cmd), ())}
    return HANDLERS[type(cmd)](repo, cmd, now, **extra)
