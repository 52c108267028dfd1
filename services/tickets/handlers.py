"""Command handlers and reactions: load the ticket, let it decide, save it — plain functions.

A handler is ``handler(uow, cmd, ctx) -> dict``: ``uow`` is the store transaction
(``uow.load``/``uow.save``), ``ctx`` the service's ``Context`` (clock, catalogue, calendar,
node). It returns what the RPC returns: the ticket as it now stands and the events it
recorded (``outcome``). ``COMMANDS`` maps each command class to its handler.

A reaction is ``reaction(uow, event, ctx)`` for another service's event; ``REACTIONS`` maps
the logical source name to ``{event type: reaction}`` and is the service's whole subscription.
"""
from __future__ import annotations

import datetime as dt
from typing import Callable, Optional

from onegrid.envelope import Envelope
from onegrid.inputs import load_input
from onegrid.uow import UnitOfWork

from .context import Context
from .domain import (InvalidTicketCommand, Ticket, TicketAlreadyExists, TicketNotFound,
                     TicketState, deadline_for, overdue_due)
from .domain import commands as c
from .schemas import COMMAND_SCHEMAS


def load_ticket(uow: UnitOfWork, ticket_id: str) -> Ticket:
    """The ticket rebuilt from its stream; TicketNotFound when it was never opened."""
    ticket = uow.load(Ticket, Ticket.stream_id(ticket_id))
    if ticket is None:
        raise TicketNotFound(ticket_id)
    return ticket


def outcome(ticket: Ticket, events) -> dict:
    """What a command returns: the ticket as it now stands and the events it recorded."""
    return {"ticket_id": ticket.ticket_id, "state": ticket.state.value,
            "version": ticket.version,
            "deadline": ticket.deadline.isoformat() if ticket.deadline else None,
            "overdue": ticket.is_overdue, "allowed": list(ticket.allowed),
            "events": [type(e).__name__ for e in events]}


def _save(uow: UnitOfWork, ticket: Ticket) -> dict:
    events = list(ticket.pending)
    uow.save(ticket)
    return outcome(ticket, events)


def _change(uow: UnitOfWork, ticket_id: str, decide: Callable[[Ticket], None]) -> dict:
    ticket = load_ticket(uow, ticket_id)
    decide(ticket)
    return _save(uow, ticket)


# -- commands ----------------------------------------------------------------------------------

def open_ticket(uow: UnitOfWork, cmd: c.OpenTicket, ctx: Context) -> dict:
    """Open a new ticket, its deadline set from the category and the calendar."""
    return _open(uow, cmd, ctx, at=ctx.clock(), node_id=ctx.node_id)


def _open(uow: UnitOfWork, cmd: c.OpenTicket, ctx: Context, *, at: dt.datetime,
          node_id: str) -> dict:
    if uow.load(Ticket, Ticket.stream_id(cmd.ticket_id)) is not None:
        raise TicketAlreadyExists(cmd.ticket_id)
    category = ctx.catalogue[cmd.category_code]
    ticket = Ticket.of(cmd.ticket_id)
    ticket.open(
        at=at, actor_id=cmd.actor_id, node_id=node_id, channel=cmd.channel,
        category_code=category.code, department=category.department,
        deadline_class=category.deadline_class, title=cmd.title, description=cmd.description,
        street=cmd.street, community=cmd.community,
        deadline=deadline_for(category, at, ctx.calendar), lat=cmd.lat, lng=cmd.lng,
        address=cmd.address, grid_code=cmd.grid_code, reporter_name=cmd.reporter_name,
        reporter_phone=cmd.reporter_phone, attachments=tuple(cmd.attachments))
    return _save(uow, ticket)


def dispatch(uow: UnitOfWork, cmd: c.DispatchTicket, ctx: Context) -> dict:
    """Dispatch or reassign a ticket to a worker, a department, the street or the district."""
    return _change(uow, cmd.ticket_id, lambda t: t.dispatch(
        at=ctx.clock(), actor_id=cmd.actor_id, assignee_kind=cmd.assignee_kind,
        assignee_id=cmd.assignee_id, grid_code=cmd.grid_code, reason=cmd.reason))


def accept(uow: UnitOfWork, cmd: c.AcceptTicket, ctx: Context) -> dict:
    """Accept (签收) a dispatched ticket."""
    return _change(uow, cmd.ticket_id, lambda t: t.accept(at=ctx.clock(), actor_id=cmd.actor_id))


def return_ticket(uow: UnitOfWork, cmd: c.ReturnTicket, ctx: Context) -> dict:
    """Return (退单) a ticket with a reason."""
    return _change(uow, cmd.ticket_id, lambda t: t.return_ticket(
        at=ctx.clock(), actor_id=cmd.actor_id, reason=cmd.reason))


def resolve(uow: UnitOfWork, cmd: c.ResolveTicket, ctx: Context) -> dict:
    """Resolve a ticket."""
    return _change(uow, cmd.ticket_id, lambda t: t.resolve(
        at=ctx.clock(), actor_id=cmd.actor_id, resolution=cmd.resolution))


def record_callback(uow: UnitOfWork, cmd: c.RecordCallback, ctx: Context) -> dict:
    """Record the resident's rating at the callback (回访)."""
    return _change(uow, cmd.ticket_id, lambda t: t.record_callback(
        at=ctx.clock(), actor_id=cmd.actor_id, rating=cmd.rating, comment=cmd.comment))


def close(uow: UnitOfWork, cmd: c.CloseTicket, ctx: Context) -> dict:
    """Close a ticket after its callback."""
    return _change(uow, cmd.ticket_id, lambda t: t.close(at=ctx.clock(), actor_id=cmd.actor_id))


def reopen(uow: UnitOfWork, cmd: c.ReopenTicket, ctx: Context) -> dict:
    """Reopen an unsatisfied ticket, with a fresh deadline from its deadline class."""
    ticket, now = load_ticket(uow, cmd.ticket_id), ctx.clock()
    # The class recorded at intake, so a later catalogue edit cannot change a running ticket.
    deadline = (deadline_for(ticket.opened.deadline_class, now, ctx.calendar)
                if ticket.opened else None)
    ticket.reopen(at=now, actor_id=cmd.actor_id, reason=cmd.reason, deadline=deadline)
    return _save(uow, ticket)


def request_extension(uow: UnitOfWork, cmd: c.RequestExtension, ctx: Context) -> dict:
    """Ask for a later deadline (延期)."""
    return _change(uow, cmd.ticket_id, lambda t: t.request_extension(
        at=ctx.clock(), actor_id=cmd.actor_id, reason=cmd.reason,
        requested_deadline=cmd.requested_deadline))


def grant_extension(uow: UnitOfWork, cmd: c.GrantExtension, ctx: Context) -> dict:
    """Grant the pending extension."""
    return _change(uow, cmd.ticket_id, lambda t: t.grant_extension(
        at=ctx.clock(), actor_id=cmd.actor_id, new_deadline=cmd.new_deadline))


def deny_extension(uow: UnitOfWork, cmd: c.DenyExtension, ctx: Context) -> dict:
    """Deny the pending extension."""
    return _change(uow, cmd.ticket_id, lambda t: t.deny_extension(
        at=ctx.clock(), actor_id=cmd.actor_id, reason=cmd.reason))


def mark_overdue(uow: UnitOfWork, cmd: c.MarkOverdue, ctx: Context) -> dict:
    """Record TicketOverdue for each ticket that is due; the others record nothing.

    Safe for every timer tick on every replica: a ticket marked meanwhile is not due any
    more, and a replica that raced another reloads (version conflict) and finds that.
    """
    now, marked = ctx.clock(), []
    for ticket_id in cmd.ticket_ids:
        ticket = load_ticket(uow, ticket_id)
        if overdue_due(ticket, now):
            ticket.record_overdue(at=now)
            uow.save(ticket)
            marked.append(ticket_id)
    return {"overdue": marked}


def supervise(uow: UnitOfWork, cmd: c.SuperviseTicket, ctx: Context) -> dict:
    """Supervise (督办) a ticket with a note and a new deadline."""
    return _change(uow, cmd.ticket_id, lambda t: t.supervise(
        at=ctx.clock(), actor_id=cmd.actor_id, note=cmd.note, new_deadline=cmd.new_deadline))


def escalate(uow: UnitOfWork, cmd: c.EscalateTicket, ctx: Context) -> dict:
    """Escalate a ticket to the street office or the district."""
    return _change(uow, cmd.ticket_id, lambda t: t.escalate(
        at=ctx.clock(), actor_id=cmd.actor_id, level=cmd.level, reason=cmd.reason))


def merge(uow: UnitOfWork, cmd: c.MergeTicket, ctx: Context) -> dict:
    """Merge a ticket into another, live ticket as a duplicate."""
    ticket = load_ticket(uow, cmd.ticket_id)
    if cmd.into_ticket_id != cmd.ticket_id:
        target = load_ticket(uow, cmd.into_ticket_id)
        if target.state in (TicketState.MERGED, TicketState.CANCELLED):
            raise InvalidTicketCommand(
                f"ticket {cmd.into_ticket_id!r} is {target.state}; merge into the ticket "
                f"it was merged into ({target.merged_into!r}) or another live ticket")
    ticket.merge(at=ctx.clock(), actor_id=cmd.actor_id, into_ticket_id=cmd.into_ticket_id)
    return _save(uow, ticket)


def cancel(uow: UnitOfWork, cmd: c.CancelTicket, ctx: Context) -> dict:
    """Cancel a ticket at the reporter's request, before dispatch."""
    return _change(uow, cmd.ticket_id, lambda t: t.cancel(
        at=ctx.clock(), actor_id=cmd.actor_id, reason=cmd.reason))


FIRST_DISPATCH_TRIGGERS = frozenset({"opened", "returned"})
AWAITING_DISPATCH = frozenset({TicketState.OPENED, TicketState.RETURNED})
REASSIGNABLE = frozenset({TicketState.DISPATCHED, TicketState.ACCEPTED})


def record_dispatch_decision(uow: UnitOfWork, cmd: c.RecordDispatchDecision,
                             ctx: Context) -> Optional[dict]:
    """Record the grid service's decision as TicketDispatched, or nothing if it is moot.

    Moot: an unknown ticket (None); a decision for an older opening or return than the
    latest (``ticket_version`` below ``dispatch_requested_version``); a first dispatch for a
    ticket no longer waiting for one (already dispatched by hand, escalated, cancelled...); a
    reassignment of a ticket that is not dispatched/accepted or already with that assignee.
    """
    ticket = uow.load(Ticket, Ticket.stream_id(cmd.ticket_id))
    if ticket is None:
        return None
    if cmd.ticket_version < ticket.dispatch_requested_version:
        return outcome(ticket, [])
    if cmd.trigger in FIRST_DISPATCH_TRIGGERS:
        if ticket.state not in AWAITING_DISPATCH:
            return outcome(ticket, [])
    elif (ticket.state not in REASSIGNABLE
          or (ticket.assignee_kind, ticket.assignee_id) == (cmd.assignee_kind, cmd.assignee_id)):
        return outcome(ticket, [])
    ticket.dispatch(at=ctx.clock(), actor_id=cmd.actor_id, assignee_kind=cmd.assignee_kind,
                    assignee_id=cmd.assignee_id, grid_code=cmd.grid_code, reason=cmd.reason)
    return _save(uow, ticket)


COMMANDS: dict[type, Callable[[UnitOfWork, object, Context], Optional[dict]]] = {
    c.OpenTicket: open_ticket, c.DispatchTicket: dispatch, c.AcceptTicket: accept,
    c.ReturnTicket: return_ticket, c.ResolveTicket: resolve,
    c.RecordCallback: record_callback, c.CloseTicket: close, c.ReopenTicket: reopen,
    c.RequestExtension: request_extension, c.GrantExtension: grant_extension,
    c.DenyExtension: deny_extension, c.MarkOverdue: mark_overdue,
    c.SuperviseTicket: supervise, c.EscalateTicket: escalate, c.MergeTicket: merge,
    c.CancelTicket: cancel, c.RecordDispatchDecision: record_dispatch_decision,
}


# -- reactions to the grid service's events ----------------------------------------------------

def on_dispatch_decided(uow: UnitOfWork, event: Envelope, ctx: Context) -> None:
    """Record the grid's decision as TicketDispatched (nothing if stale or moot)."""
    p = event.payload
    cmd = c.RecordDispatchDecision(**load_input(COMMAND_SCHEMAS[c.RecordDispatchDecision], {
        "ticket_id": p.get("ticket_id"), "ticket_version": p.get("ticket_version"),
        "assignee_kind": p.get("assignee_kind"), "assignee_id": p.get("assignee_id"),
        "grid_code": p.get("grid_code"), "trigger": p.get("trigger", "opened"),
        "reason": decision_reason(p), "actor_id": ctx.grid}))
    record_dispatch_decision(uow, cmd, ctx)


def on_problem_reported(uow: UnitOfWork, event: Envelope, ctx: Context) -> None:
    """Open a ticket (channel ``patrol``) for a problem a grid worker found on patrol."""
    p = event.payload
    category = ctx.catalogue[p["category_code"]]  # UnknownCategory: retried, then dead-lettered
    cmd = c.OpenTicket(
        ticket_id=f"patrol-{p['problem_id']}", actor_id=p["worker_id"], channel="patrol",
        category_code=category.code, title=f"{category.name} (found on patrol)",
        description=p["description"], street=p.get("street_code") or "unknown",
        community=p.get("community_code") or "unknown", lat=p["lat"], lng=p["lng"],
        grid_code=p.get("grid_code"))
    try:
        _open(uow, cmd, ctx, at=dt.datetime.fromisoformat(p["at"]), node_id=event.node_id)
    except TicketAlreadyExists:
        pass  # opened from an earlier delivery


def decision_reason(p: dict) -> str:
    """The grid's step, reason and rule version, as TicketDispatched records them."""
    parts = [p.get("step"), p.get("reason")]
    text = ": ".join(str(x) for x in parts if x)
    if p.get("rule_version") is not None:
        text += f" (rule v{p['rule_version']})"
    return text[:1000] or "decided by the grid service"


REACTIONS = {"grid": {"DispatchDecided": on_dispatch_decided,
                      "ProblemReported": on_problem_reported}}
