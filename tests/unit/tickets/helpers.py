"""Builders for the tickets unit tests, and the handlers run on an in-memory SQLite store."""
from __future__ import annotations

import datetime as dt
import uuid

from onegrid.envelope import Envelope
from onegrid.store import open_store
from onegrid.testing import CST, Clock
from onegrid.uow import UnitOfWork, run_in_transaction
from services.tickets.context import Context
from services.tickets.domain import Calendar, Ticket
from services.tickets.handlers import load_ticket
from services.tickets.policy import load_calendar, load_catalogue
from services.tickets.schemas import REGISTRY
from services.tickets.tables import make_tables

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=CST)  # a Monday morning
DEADLINE = dt.datetime(2026, 3, 5, 23, 59, 59, tzinfo=CST)  # 3 working days later


class Tickets:
    """The handlers on an in-memory SQLite store: one transaction per command, as in the service.

    ``run(handler, cmd, at)`` runs a handler (or reaction) at the clock time ``at``.
    """

    def __init__(self, now: dt.datetime = T0):
        self.clock = Clock(now)
        self.store = open_store("sqlite://", "shazhou", prefix="tickets_")
        self.ctx = Context(tables=make_tables("tickets_"), clock=self.clock,
                           catalogue=load_catalogue(), calendar=load_calendar(),
                           node_id="shazhou")

    def run(self, handler, cmd, at: dt.datetime | None = None):
        if at is not None:
            self.clock.now = at
        result, _ = run_in_transaction(self.store, REGISTRY,
                                       lambda uow: handler(uow, cmd, self.ctx))
        return result

    def ticket(self, ticket_id: str) -> Ticket:
        """The ticket as stored (TicketNotFound when it never opened)."""
        with self.store.snapshot() as tx:
            return load_ticket(UnitOfWork(tx, REGISTRY, read_only=True), ticket_id)

    def save(self, ticket: Ticket) -> None:
        """Append a ticket's pending events, expecting the version it was loaded at."""
        run_in_transaction(self.store, REGISTRY, lambda uow: uow.save(ticket), retries=0)

    def stream(self, ticket_id: str) -> list[Envelope]:
        return self.store.read_stream(Ticket.stream_id(ticket_id))

    def events(self, ticket_id: str) -> list[str]:
        """The event types of a ticket's stream, in order."""
        return [e.event_type for e in self.stream(ticket_id)]

    def log(self) -> list[Envelope]:
        return self.store.read_all(0, 10_000)

    def close(self):
        self.store.close()


def random_id(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def hours(n: float) -> dt.timedelta:
    return dt.timedelta(hours=n)


def opened_ticket(ticket_id: str | None = None, *, at: dt.datetime = T0,
                  deadline: dt.datetime = DEADLINE, **overrides) -> Ticket:
    """A ticket just opened from the hotline, collected (nothing pending)."""
    ticket = Ticket(ticket_id or random_id())
    ticket.open(**{**open_kwargs(at=at, deadline=deadline), **overrides})
    ticket.collect()
    return ticket


def open_kwargs(*, at: dt.datetime = T0, deadline: dt.datetime = DEADLINE) -> dict:
    return dict(
        at=at, actor_id="operator-1", node_id="shazhou", channel="hotline_12345",
        category_code="legal_advice", department="judicial_administration",
        deadline_class="consultation", title="Need advice on a rental dispute",
        description="Landlord keeps the deposit", street="shazhou", community="zhongcheng",
        deadline=deadline, lat=32.0, lng=118.73, address="1 Jiangdong Rd",
        grid_code="SZ-ZC-03", reporter_name="Wang Fang", reporter_phone="13812345678",
        attachments=("https://files.example/a.jpg",))


WEEKENDS_ONLY = Calendar()
