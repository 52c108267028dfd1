"""Builders for tests and benchmarks: tickets' payloads for other services' tests, and helpers
for tests of the tickets service itself.

Payloads are made with the tickets service's own event classes and schemas, so they are what
the service publishes (private fields left out), never hand-copied dicts.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

import sqlalchemy as sa

from onegrid import config as cfg
from onegrid.testing import CST

from .domain import TicketOpened, deadline_for
from .policy import load_calendar, load_catalogue
from .schemas import dump_event
from .tables import make_tables


# -- tickets' payloads, for other services' tests ----------------------------------------------

def ticket_opened(ticket_id, *, lat=None, lng=None, category="road_damage", grid_code=None,
                  street="", community="", at=None) -> dict:
    """A TicketOpened payload as the tickets service publishes it (its stream:
    ``Ticket.stream_id(ticket_id)``); department, deadline class and deadline from the
    catalogue and calendar. ``street`` and ``community`` are passed as given."""
    at = at or dt.datetime.now(CST)
    category = load_catalogue()[category]
    event = TicketOpened(
        ticket_id=ticket_id, at=at, actor_id="op-1", node_id="shazhou",
        channel="hotline_12345", category_code=category.code,
        department=category.department, deadline_class=category.deadline_class,
        title="t", description="d", lat=lat, lng=lng, address=None, grid_code=grid_code,
        street=street, community=community, reporter_name=None, reporter_phone=None,
        attachments=(), deadline=deadline_for(category, at, load_calendar()))
    return dump_event(event, public=True)


# -- tests of the tickets service ---------------------------------------------------------------

def open_fields(ticket_id: Optional[str], **overrides) -> dict:
    """Valid input for ``open`` (a hotline consultation in Shazhou)."""
    fields = dict(ticket_id=ticket_id, actor_id="operator-1", channel="hotline_12345",
                  category_code="legal_advice", title="Rental dispute",
                  description="The landlord keeps the deposit", street="shazhou",
                  community="zhongcheng", lat=32.0, lng=118.73, grid_code="SZ-ZC-03",
                  reporter_name="Wang Fang", reporter_phone="13812345678",
                  attachments=["https://files.example/a.jpg"])
    fields.update(overrides)
    return fields


def open_store(service, config):
    """The store of the running service class ``service`` (its own name and config)."""
    return cfg.open_service_store(service.name, config)


def table_rows(store, service_name: str) -> list[dict]:
    """Every row of the ticket list read model, in ticket order."""
    t = make_tables(f"{service_name}_").tickets
    with store.reading() as conn:
        return [dict(r) for r in conn.execute(sa.select(t).order_by(t.c.ticket_id)).mappings()]


def caught_up(store, service_name: str) -> bool:
    """True when the list projection has folded the whole log."""
    return store.get_position(f"projection:{service_name}_list") == store.last_position()
