"""Builders for tests with the grid service: its payloads for other services' tests, its config,
the tickets events it consumes (made with the tickets service's own schemas; TicketOpened:
``services.tickets.testing.ticket_opened``), seeding."""
from __future__ import annotations

import json

from onegrid import config as cfg
from onegrid.testing import CST, renamed, service_config

from .domain import events as ev
from .schemas import EVENT_SCHEMAS

__all__ = ["CST", "grid_config", "grid_service", "seeded", "seeded_grid_and_a_post", "square",
           "street_and_community", "dispatch_decided", "ticket_event", "decisions", "queue_depth"]


# --- grid's payloads, for other services' tests -----------------------------------------------

def dispatch_decided(ticket_id, ticket_version, assignee_kind="worker", assignee_id="w-1",
                     trigger="opened", grid_code="SZ-ZC-03", *, community_code="zhongcheng",
                     street_code="shazhou", step="post_a", reason=None, rule_version=1) -> dict:
    """A DispatchDecided payload, dumped by the grid's own schema."""
    event = ev.DispatchDecided(
        ticket_id, ticket_version, assignee_kind, assignee_id, grid_code, community_code,
        street_code, step, reason or f"{assignee_id} holds the A post", rule_version, trigger)
    return EVENT_SCHEMAS[ev.DispatchDecided]().dump(event.fields())


# --- the grid under test -----------------------------------------------------------------------

def grid_config(amqp_uri, tmp_path, unique, **extra) -> dict:
    """Config for ``grid_service(unique)``; its patrol timer stays quiet unless a test asks."""
    extra.setdefault("GRID_PATROL_CHECK_SECONDS", 3600)
    return service_config(amqp_uri, tmp_path, f"grid{unique}", unique=unique, **extra)


def grid_service(unique) -> type:
    """The grid service running as ``grid<unique>``."""
    from .service import GridService
    return renamed(GridService, f"grid{unique}")


def seeded(config, service) -> dict:
    """Load the demo district into ``service``'s store (as ``onegrid seed`` does)."""
    from .cli import seed_store
    store = cfg.open_service_store(service.name, config)
    try:
        return seed_store(store)
    finally:
        store.close()


def seeded_grid_and_a_post(seed=None):
    """A comprehensive grid of the demo district, its A post's worker and a point inside it."""
    from shapely.geometry import Polygon

    from .seed import DEFAULT_SEED, generate_district
    district = generate_district(DEFAULT_SEED if seed is None else seed)
    grid = next(g for g in district.grids if g.kind == "comprehensive")
    a_post = next(w.id for w in district.workers if (grid.code, "A") in w.posts)
    return grid, a_post, Polygon(grid.boundary).representative_point()


def square(x0, y0, size=0.01):
    return [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]


def street_and_community(grid, street="S", community="C") -> None:
    """Register, through the grid proxy, the street office ``st`` and its community ``co``."""
    grid.register_street(street_code="st", name=street, boundary=square(118.70, 32.00, 0.1))
    grid.register_community(community_code="co", street_code="st", name=community,
                            boundary=square(118.70, 32.00, 0.05))


# --- what the tickets service publishes ----------------------------------------------------------

def ticket_event(event_class: type, **fields) -> dict:
    """A payload of the tickets service's ``event_class``, as it publishes it (its own schema)."""
    from services.tickets.schemas import dump_event
    return dump_event(event_class(**fields), public=True)


# --- looking at the grid from outside -------------------------------------------------------------

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
    return [json.loads(r) for r in rows]


def queue_depth(amqp_uri, source, consumer) -> int:
    from kombu import Connection
    from onegrid.runtime.consume import queue_name
    with Connection(amqp_uri) as conn:
        return conn.default_channel.queue_declare(queue_name(source, consumer),
                                                  passive=True).message_count
