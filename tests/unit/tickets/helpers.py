"""Fakes and builders for the tickets unit tests."""
from __future__ import annotations

import datetime as dt
import uuid

from services.tickets.domain import SHANGHAI, Calendar, Ticket, TicketNotFound

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)  # a Monday morning
DEADLINE = dt.datetime(2026, 3, 5, 23, 59, 59, tzinfo=SHANGHAI)  # 3 working days later


class ConcurrencyConflict(Exception):
    pass


class InMemoryTicketRepo:
    """Streams of events per ticket id, with the expected-version check of a real store."""

    def __init__(self):
        self.streams: dict[str, list] = {}
        self.saved: list = []

    def get(self, ticket_id: str) -> Ticket:
        if ticket_id not in self.streams:
            raise TicketNotFound(ticket_id)
        return Ticket.rehydrate(ticket_id, self.streams[ticket_id])

    def save(self, ticket: Ticket) -> None:
        stream = self.streams.setdefault(ticket.id, [])
        if len(stream) != ticket.expected_version:
            raise ConcurrencyConflict(
                f"{ticket.id}: expected version {ticket.expected_version}, store has {len(stream)}")
        events = ticket.collect()
        stream.extend(events)
        self.saved.extend(events)


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
