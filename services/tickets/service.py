"""The nameko service ``tickets``: the life of every ticket (工单), from intake to close.

Thin shell: each command validates its fields (``schemas.COMMAND_SCHEMAS``) and runs its
handler (``handlers.COMMANDS``) in one store transaction; each read runs on one snapshot
(``reads.py``); the grid service's events reach ``handlers.REACTIONS`` through the inbox.
"""
from __future__ import annotations

import dataclasses

from onegrid.envelope import Envelope
from onegrid.runtime import Commands, EventLogRpc, Inbox, Store, consume, rpc, timer

from . import reads
from .context import build_context
from .domain import PRIVATE_FIELDS
from .domain.commands import (AcceptTicket, CancelTicket, CloseTicket, DenyExtension,
                              DispatchTicket, EscalateTicket, GrantExtension, MarkOverdue,
                              MergeTicket, OpenTicket, RecordCallback, ReopenTicket,
                              RequestExtension, ResolveTicket, ReturnTicket, SuperviseTicket)
from .handlers import COMMANDS, REACTIONS
from .projections import projections
from .schemas import COMMAND_SCHEMAS, REGISTRY

#: seconds between two looks for deadlines passed unresolved (every replica looks), unless
#: the config's ``TICKETS_OVERDUE_SECONDS`` says otherwise
OVERDUE_CHECK_SECONDS = 30
#: tickets marked overdue in one transaction
OVERDUE_BATCH = 100


def redact(envelope: Envelope) -> Envelope:
    """The envelope as it may leave the service: reporter name and phone stripped."""
    private = PRIVATE_FIELDS.get(envelope.event_type)
    if not private or not private & envelope.payload.keys():
        return envelope
    return dataclasses.replace(
        envelope, payload={k: v for k, v in envelope.payload.items() if k not in private})


class TicketsService(EventLogRpc):
    name = "tickets"
    store = Store(REGISTRY, context=build_context, projections=projections, redact=redact)
    commands = Commands(COMMANDS, COMMAND_SCHEMAS)
    inbox = Inbox(REACTIONS)  # the reactions write no tables of their own: only events

    # -- commands ---------------------------------------------------------------------------

    @rpc
    def open(self, actor=None, **fields):
        """Open a ticket from any channel (a ``ticket_id`` is made if none is given)."""
        return self.commands.run(OpenTicket, fields, actor, new_id="ticket_id")

    @rpc
    def dispatch(self, actor=None, **fields):
        """Dispatch (or reassign) a ticket to a worker, department, street office or district."""
        return self.commands.run(DispatchTicket, fields, actor)

    @rpc
    def accept(self, actor=None, **fields):
        """Accept (签收) a dispatched ticket."""
        return self.commands.run(AcceptTicket, fields, actor)

    @rpc
    def return_ticket(self, actor=None, **fields):
        """Return (退单) a ticket with a reason; the grid service dispatches it again."""
        return self.commands.run(ReturnTicket, fields, actor)

    @rpc
    def resolve(self, actor=None, **fields):
        """Resolve a ticket."""
        return self.commands.run(ResolveTicket, fields, actor)

    @rpc
    def record_callback(self, actor=None, **fields):
        """Record the resident's rating at the callback (回访)."""
        return self.commands.run(RecordCallback, fields, actor)

    @rpc
    def close(self, actor=None, **fields):
        """Close a ticket after its callback."""
        return self.commands.run(CloseTicket, fields, actor)

    @rpc
    def reopen(self, actor=None, **fields):
        """Reopen a ticket after an unsatisfied callback, with a fresh deadline."""
        return self.commands.run(ReopenTicket, fields, actor)

    @rpc
    def request_extension(self, actor=None, **fields):
        """Ask for a later deadline (延期), before the current one passes."""
        return self.commands.run(RequestExtension, fields, actor)

    @rpc
    def grant_extension(self, actor=None, **fields):
        """Grant the pending extension (to the requested deadline unless another is given)."""
        return self.commands.run(GrantExtension, fields, actor)

    @rpc
    def deny_extension(self, actor=None, **fields):
        """Deny the pending extension."""
        return self.commands.run(DenyExtension, fields, actor)

    @rpc
    def supervise(self, actor=None, **fields):
        """Supervise (督办): a supervisor's note and a new deadline."""
        return self.commands.run(SuperviseTicket, fields, actor)

    @rpc
    def escalate(self, actor=None, **fields):
        """Escalate to the street office or the district."""
        return self.commands.run(EscalateTicket, fields, actor)

    @rpc
    def merge(self, actor=None, **fields):
        """Merge a ticket into another live ticket as a duplicate."""
        return self.commands.run(MergeTicket, fields, actor)

    @rpc
    def cancel(self, actor=None, **fields):
        """Cancel a ticket at the reporter's request, before dispatch."""
        return self.commands.run(CancelTicket, fields, actor)

    # -- reads ------------------------------------------------------------------------------

    @rpc
    def get_ticket(self, ticket_id):
        """One ticket as it stands and its full history, private fields included."""
        return self.store.query(
            lambda q: reads.ticket_with_history(q, self.store.context, str(ticket_id)))

    @rpc
    def list_tickets(self, **filters):
        """Tickets by filters, oldest opening first, a page at a time (``next_cursor``)."""
        return self.store.query(lambda q: reads.list_tickets(q, self.store.context, filters))

    @rpc
    def queues(self, by="worker"):
        """Open tickets and overdue ones per worker, department, grid or street office."""
        return self.store.query(lambda q: reads.queues(q, self.store.context, by))

    @rpc
    def rates(self, **query):
        """Closure, on-time and satisfaction rates, counts and average times (docs/ticket-rates.md)."""
        return self.store.query(lambda q: reads.rates(q, self.store.context, query))

    # -- the overdue timer ------------------------------------------------------------------

    @timer("TICKETS_OVERDUE_SECONDS", OVERDUE_CHECK_SECONDS)
    def check_overdue(self) -> int:
        """Record TicketOverdue for every deadline passed unresolved (safe on every replica)."""
        ctx = self.store.context
        due = self.store.query(lambda q: reads.due_for_overdue(q, ctx, ctx.clock()))
        marked = 0
        for i in range(0, len(due), OVERDUE_BATCH):
            batch = MarkOverdue(tuple(due[i:i + OVERDUE_BATCH]))
            marked += len(self.commands.execute(batch)["overdue"])
        return marked

    # -- reactions --------------------------------------------------------------------------

    @consume(REACTIONS)
    def react(self, source, event):
        """Record the grid's dispatch decisions; open tickets for problems found on patrol."""
        return self.inbox.apply(source, event)


SERVICE = TicketsService
