"""Builders for tests of the grid service against a real broker (fake tickets log, seeding)."""
from __future__ import annotations

import datetime as dt

from onegrid import config as cfg
from onegrid.testing import service_config
from services.grid.cli import seed_store
from services.grid.service import make_service

CST = dt.timezone(dt.timedelta(hours=8))


def grid_config(amqp_uri, tmp_path, unique, **extra) -> dict:
    return service_config(amqp_uri, tmp_path, f"grid{unique}", **extra)


def make_grid(unique, **options):
    return make_service(f"grid{unique}", f"tickets{unique}", **options)


def seeded(config, service) -> dict:
    store = cfg.open_service_store(service.name, config)
    try:
        return seed_store(store)
    finally:
        store.close()


def square(x0, y0, size=0.01):
    return [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]


def ticket_opened(ticket_id, *, lat=None, lng=None, category="road_damage", grid_code=None,
                  street="", community="", at=None) -> dict:
    """A TicketOpened payload as services/tickets/schemas.py defines it."""
    at = at or dt.datetime.now(CST)
    return {"ticket_id": ticket_id, "at": at.isoformat(), "actor_id": "op-1",
            "node_id": "shazhou", "channel": "hotline_12345", "category_code": category,
            "department": "", "deadline_class": "complaint", "title": "t", "description": "d",
            "lat": lat, "lng": lng, "address": None, "grid_code": grid_code, "street": street,
            "community": community, "reporter_name": None, "reporter_phone": None,
            "attachments": [], "deadline": (at + dt.timedelta(days=13)).isoformat()}


class FakeTickets:
    """The tickets service's log and relay, standing in for the real service."""

    def __init__(self, amqp_uri, tmp_path, unique):
        from onegrid.store import open_store
        self.name = f"tickets{unique}"
        self.store = open_store(f"sqlite:///{tmp_path}/{self.name}.sqlite", "shazhou",
                                prefix=f"{self.name}_")
        self.amqp_uri = amqp_uri

    def append(self, streams: list[tuple[str, list[tuple[str, dict]]]]) -> None:
        """Append ``[(ticket id, [(type, payload), ...]), ...]`` in one transaction."""
        from onegrid.envelope import NewEvent
        with self.store.transaction() as tx:
            for stream_id, events in streams:
                tx.append(stream_id, tx.stream_version(stream_id),
                          [NewEvent(t, p) for t, p in events])

    def publish(self) -> int:
        from onegrid.relay import Relay
        relay = Relay(self.store, self.amqp_uri, self.name, page_size=1000)
        try:
            return relay.drain()
        finally:
            relay.close()

    def close(self):
        self.store.close()


def decisions(config, name) -> list[dict]:
    """Every DispatchDecided in the grid's log (payloads), in log order."""
    import sqlalchemy as sa
    store = cfg.open_service_store(name, config)
    try:
        t = store.events
        with store.reading() as conn:
            rows = conn.execute(sa.select(t.c.payload).where(t.c.event_type == "DispatchDecided")
                                .order_by(t.c.position)).scalars().all()
    finally:
        store.close()
    import json
    return [json.loads(r) for r in rows]


def queue_depth(amqp_uri, source, consumer) -> int:
    from kombu import Connection
    from onegrid.runtime.consume import queue_name
    with Connection(amqp_uri) as conn:
        return conn.default_channel.queue_declare(queue_name(source, consumer),
                                                  passive=True).message_count
