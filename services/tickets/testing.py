"""Builders for tests and benchmarks of the tickets service against a real broker."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from onegrid import config as cfg
from onegrid.envelope import NewEvent
from onegrid.testing import service_config

from .service import make_service
from .tables import make_tables

CST = dt.timezone(dt.timedelta(hours=8))


class Clock:
    """A clock a test moves by hand: ``clock()`` is now; ``clock.now = ...`` sets it."""

    def __init__(self, now: dt.datetime | None = None):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now or dt.datetime.now(dt.timezone.utc)


def tickets_config(amqp_uri, tmp_path, unique, **extra) -> dict:
    return service_config(amqp_uri, tmp_path, f"tickets{unique}", **extra)


def make_tickets(unique, **options):
    """The tickets service class named ``tickets<unique>``, consuming ``grid<unique>``."""
    return make_service(f"tickets{unique}", f"grid{unique}", **options)


def open_fields(ticket_id: str, **overrides) -> dict:
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
    return cfg.open_service_store(service.name, config)


def table_rows(store, service_name: str) -> list[dict]:
    """Every row of the ticket list read model, in ticket order."""
    t = make_tables(f"{service_name}_").tickets
    with store.reading() as conn:
        return [dict(r) for r in conn.execute(sa.select(t).order_by(t.c.ticket_id)).mappings()]


def caught_up(store, service_name: str) -> bool:
    """True when the list projection has folded the whole log."""
    return store.get_position(f"projection:{service_name}_list") == store.last_position()


class FakeGrid:
    """The grid service's log and relay, standing in for the real service."""

    def __init__(self, amqp_uri, tmp_path, unique):
        from onegrid.store import open_store as open_sql
        self.name = f"grid{unique}"
        self.store = open_sql(f"sqlite:///{tmp_path}/{self.name}.sqlite", "shazhou",
                              prefix=f"{self.name}_")
        self.amqp_uri = amqp_uri

    def append(self, stream_id: str, events: list[tuple[str, dict]]) -> None:
        with self.store.transaction() as tx:
            tx.append(stream_id, tx.stream_version(stream_id),
                      [NewEvent(t, p) for t, p in events])

    def publish(self) -> int:
        from onegrid.relay import Relay
        relay = Relay(self.store, self.amqp_uri, self.name)
        try:
            return relay.drain()
        finally:
            relay.close()

    def close(self):
        self.store.close()


def dispatch_decided(ticket_id, ticket_version, assignee_kind="worker", assignee_id="w-1",
                     trigger="opened", grid_code="SZ-ZC-03") -> dict:
    """A DispatchDecided payload as services/grid/domain/events.py defines it."""
    return {"ticket_id": ticket_id, "ticket_version": ticket_version,
            "assignee_kind": assignee_kind, "assignee_id": assignee_id,
            "grid_code": grid_code, "community_code": "zhongcheng", "street_code": "shazhou",
            "step": "post_a", "reason": f"{assignee_id} holds the A post", "rule_version": 1,
            "trigger": trigger}
