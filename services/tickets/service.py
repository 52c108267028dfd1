"""The nameko service ``tickets``: the life of every ticket (工单), from intake to close.

Thin shell: validate input with ``schemas.COMMAND_SCHEMAS``, run the pure handler on a repo
over the kernel's unit of work (one store transaction, retried on a version conflict), return
what changed. Build the class with ``make_service(...)``: its own name, the name of the grid
service whose ``DispatchDecided``/``ProblemReported`` it consumes, the clock and the overdue
timer's interval are fixed when the class is made. ``SERVICE = make_service()`` is the
production class; tests make their own with random names and an injected clock.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import random
from typing import Callable, Optional

import eventlet
import marshmallow
from nameko.rpc import rpc
from nameko.timer import timer

from onegrid.envelope import Actor, Envelope, new_event_id
from onegrid.registry import EventRegistry
from onegrid.runtime import EventLogRpc, Inbox, Store, consume
from onegrid.store import WrongExpectedVersion

from . import commands as c
from . import handlers, reads
from .domain import (PRIVATE_FIELDS, InvalidInput, Ticket, TicketAlreadyExists,
                     TicketNotFound)
from .policy import load_calendar, load_catalogue
from .projections import make_projections
from .schemas import COMMAND_SCHEMAS, EVENT_SCHEMAS
from .tables import make_tables

log = logging.getLogger(__name__)

REGISTRY = EventRegistry("tickets")
REGISTRY.register_all(EVENT_SCHEMAS)

#: a command reloads and decides again this many times when its ticket moved on meanwhile
COMMAND_RETRIES = 10
#: then it backs off a random moment and tries again, this many times
CONFLICT_BACKOFFS = 4
OVERDUE_BATCH = 100


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def redact(envelope: Envelope) -> Envelope:
    """The envelope as it may leave the service: reporter name and phone stripped."""
    private = PRIVATE_FIELDS.get(envelope.event_type)
    if not private or not private & envelope.payload.keys():
        return envelope
    return dataclasses.replace(
        envelope, payload={k: v for k, v in envelope.payload.items() if k not in private})


class UowTickets:
    """The handlers' repository over a kernel unit of work: a ticket's stream is its id."""

    def __init__(self, uow):
        self.uow = uow
        self.last: Optional[Ticket] = None

    def get(self, ticket_id: str) -> Ticket:
        ticket = self.uow.load(Ticket, ticket_id)
        if ticket is None:
            raise TicketNotFound(ticket_id)
        self.last = ticket
        return ticket

    def save(self, ticket: Ticket) -> None:
        self.uow.save(ticket)
        self.last = ticket


def load_input(schema, data: dict, **options) -> dict:
    """Load input through a schema; InvalidInput names every bad field, nothing is stored."""
    try:
        return schema(**options).load(data)
    except marshmallow.ValidationError as error:
        raise InvalidInput(error.messages) from None


def _actor(actor, fields: dict) -> Actor:
    """Who acts: ``actor={"id", "role"}``, else the command's ``actor_id`` as a ``user``."""
    if actor is None:
        return Actor(str(fields.get("actor_id") or "anonymous"), "user")
    if not isinstance(actor, dict) or not actor.get("id") or not actor.get("role"):
        raise InvalidInput({"actor": ["Give the actor as {'id': ..., 'role': ...}."]})
    fields.setdefault("actor_id", actor["id"])
    return Actor(str(actor["id"]), str(actor["role"]))


def outcome(ticket: Ticket, events) -> dict:
    """What a command returns: the ticket as it now stands and the events it recorded."""
    return {"ticket_id": ticket.id, "state": ticket.state.value, "version": ticket.version,
            "deadline": ticket.deadline.isoformat() if ticket.deadline else None,
            "overdue": ticket.is_overdue, "allowed": list(ticket.allowed),
            "events": [type(e).__name__ for e in events]}


def make_service(name: str = "tickets", grid: str = "grid", *,
                 clock: Callable[[], dt.datetime] = utc_now,
                 overdue_check_seconds: float = 30.0, catalogue=None, calendar=None):
    """Build the tickets service class (read-model tables are prefixed ``<name>_``)."""
    tables = make_tables(f"{name}_")
    projections = make_projections(f"{name}_")
    catalogue = catalogue or load_catalogue()
    calendar = calendar or load_calendar()

    def run(uow, cmd, now, node_id):
        repo = UowTickets(uow)
        events = handlers.handle(repo, cmd, now, catalogue=catalogue, calendar=calendar,
                                 node_id=node_id)
        return outcome(repo.last, events)

    def on_dispatch_decided(uow, envelope: Envelope) -> None:
        """Record the grid's decision as TicketDispatched (nothing if stale or moot)."""
        p = envelope.payload
        fields = load_input(COMMAND_SCHEMAS[c.RecordDispatchDecision], {
            "ticket_id": p.get("ticket_id"), "ticket_version": p.get("ticket_version"),
            "assignee_kind": p.get("assignee_kind"), "assignee_id": p.get("assignee_id"),
            "grid_code": p.get("grid_code"), "trigger": p.get("trigger", "opened"),
            "reason": _decision_reason(p), "actor_id": grid})
        handlers.record_dispatch_decision(UowTickets(uow), c.RecordDispatchDecision(**fields),
                                          clock())

    def on_problem_reported(uow, envelope: Envelope) -> None:
        """Open a ticket (channel ``patrol``) for a problem a grid worker found on patrol."""
        p = envelope.payload
        category = catalogue[p["category_code"]]  # UnknownCategory: retried, then dead-lettered
        cmd = c.OpenTicket(
            ticket_id=f"patrol-{p['problem_id']}", actor_id=p["worker_id"], channel="patrol",
            category_code=category.code, title=f"{category.name} (found on patrol)",
            description=p["description"], street=p.get("street_code") or "unknown",
            community=p.get("community_code") or "unknown", lat=p["lat"], lng=p["lng"],
            grid_code=p.get("grid_code"))
        at = dt.datetime.fromisoformat(p["at"])
        try:
            handlers.open_ticket(UowTickets(uow), cmd, at, catalogue=catalogue,
                                 calendar=calendar, node_id=envelope.node_id)
        except TicketAlreadyExists:
            pass  # opened from an earlier delivery

    class TicketsService(EventLogRpc):
        store = Store(REGISTRY, projections=projections, redact=redact)
        inbox = Inbox({grid: {"DispatchDecided": on_dispatch_decided,
                              "ProblemReported": on_problem_reported}})

        grid_service = grid

        def _command(self, command_class, fields: dict, actor=None):
            who = _actor(actor, fields)
            cmd = command_class(**load_input(COMMAND_SCHEMAS[command_class], fields))
            now, node_id = clock(), self.store.store.node_id
            for attempt in range(CONFLICT_BACKOFFS + 1):
                try:
                    return self.store.command(lambda uow: run(uow, cmd, now, node_id),
                                              actor=who, retries=COMMAND_RETRIES)
                except WrongExpectedVersion:
                    if attempt == CONFLICT_BACKOFFS:
                        raise  # a clear conflict error reaches the caller; nothing stored
                    # a hot ticket: step back a random moment so racing workers spread out
                    eventlet.sleep(random.uniform(0, 0.01 * 2 ** attempt))

        # --- commands ---------------------------------------------------------------------

        @rpc
        def open(self, actor=None, **fields):
            """Open a ticket from any channel (a ``ticket_id`` is made if none is given)."""
            fields.setdefault("ticket_id", new_event_id())
            return self._command(c.OpenTicket, fields, actor)

        @rpc
        def dispatch(self, actor=None, **fields):
            """Dispatch (or reassign) a ticket to a worker, department, street office or district."""
            return self._command(c.DispatchTicket, fields, actor)

        @rpc
        def accept(self, actor=None, **fields):
            """Accept (签收) a dispatched ticket."""
            return self._command(c.AcceptTicket, fields, actor)

        @rpc
        def return_ticket(self, actor=None, **fields):
            """Return (退单) a ticket with a reason; the grid service dispatches it again."""
            return self._command(c.ReturnTicket, fields, actor)

        @rpc
        def resolve(self, actor=None, **fields):
            return self._command(c.ResolveTicket, fields, actor)

        @rpc
        def record_callback(self, actor=None, **fields):
            """Record the resident's rating at the callback (回访)."""
            return self._command(c.RecordCallback, fields, actor)

        @rpc
        def close(self, actor=None, **fields):
            return self._command(c.CloseTicket, fields, actor)

        @rpc
        def reopen(self, actor=None, **fields):
            """Reopen a ticket after an unsatisfied callback, with a fresh deadline."""
            return self._command(c.ReopenTicket, fields, actor)

        @rpc
        def request_extension(self, actor=None, **fields):
            """Ask for a later deadline (延期), before the current one passes."""
            return self._command(c.RequestExtension, fields, actor)

        @rpc
        def grant_extension(self, actor=None, **fields):
            return self._command(c.GrantExtension, fields, actor)

        @rpc
        def deny_extension(self, actor=None, **fields):
            return self._command(c.DenyExtension, fields, actor)

        @rpc
        def supervise(self, actor=None, **fields):
            """Supervise (督办): a supervisor's note and a new deadline."""
            return self._command(c.SuperviseTicket, fields, actor)

        @rpc
        def escalate(self, actor=None, **fields):
            """Escalate to the street office or the district."""
            return self._command(c.EscalateTicket, fields, actor)

        @rpc
        def merge(self, actor=None, **fields):
            """Merge a ticket into another live ticket as a duplicate."""
            return self._command(c.MergeTicket, fields, actor)

        @rpc
        def cancel(self, actor=None, **fields):
            """Cancel a ticket at the reporter's request, before dispatch."""
            return self._command(c.CancelTicket, fields, actor)

        # --- reads ------------------------------------------------------------------------

        @rpc
        def get_ticket(self, ticket_id):
            """One ticket as it stands and its full history, private fields included."""
            envelopes = self.store.read_stream(str(ticket_id))
            if not envelopes:
                raise TicketNotFound(str(ticket_id))
            return reads.ticket_with_history(REGISTRY, str(ticket_id), envelopes)

        @rpc
        def list_tickets(self, **filters):
            """Tickets by filters, oldest opening first, a page at a time (``next_cursor``)."""
            query = reads.load_list_query(filters)
            return self.store.read(lambda conn: reads.list_tickets(conn, tables, query))

        @rpc
        def queues(self, by="worker"):
            """Open tickets and overdue ones per worker, department, grid or street office."""
            if by not in reads.QUEUE_KEYS:
                raise InvalidInput({"by": [f"Must be one of: {', '.join(reads.QUEUE_KEYS)}."]})
            return self.store.read(lambda conn: reads.queues(conn, tables, by))

        @rpc
        def rates(self, **query):
            """Closure, on-time and satisfaction rates, counts and average times (docs/ticket-rates.md)."""
            query = reads.load_rates_query(query)
            now = query.pop("now", None) or clock()
            return self.store.read(lambda conn: reads.rates(conn, tables, query, now))

        # --- the overdue timer ------------------------------------------------------------

        @timer(interval=overdue_check_seconds)
        def check_overdue(self):
            """Record TicketOverdue for every deadline passed unresolved (safe on every replica)."""
            self.record_overdue()

        def record_overdue(self) -> int:
            now = clock()
            due = self.store.read(lambda conn: reads.due_for_overdue(conn, tables, now))
            recorded = 0
            for i in range(0, len(due), OVERDUE_BATCH):
                batch = due[i:i + OVERDUE_BATCH]
                recorded += self.store.command(
                    lambda uow: _mark_overdue(uow, batch, now), retries=20)
            return recorded

        # --- reactions --------------------------------------------------------------------

        @consume(grid, ["DispatchDecided", "ProblemReported"])
        def on_grid_event(self, event):
            """Record the grid's dispatch decisions; open tickets for problems found on patrol."""
            return self.inbox.apply(grid, event)

    TicketsService.name = name
    TicketsService.__name__ = TicketsService.__qualname__ = f"TicketsService_{name}"
    return TicketsService


def _mark_overdue(uow, ticket_ids, now) -> int:
    """Mark each due ticket overdue; one that another replica marked first records nothing."""
    repo = UowTickets(uow)
    return sum(len(handlers.mark_overdue(repo, c.MarkOverdue(tid), now)) for tid in ticket_ids)


def _decision_reason(p: dict) -> str:
    parts = [p.get("step"), p.get("reason")]
    text = ": ".join(str(x) for x in parts if x)
    if p.get("rule_version") is not None:
        text += f" (rule v{p['rule_version']})"
    return text[:1000] or "decided by the grid service"


SERVICE = make_service()
