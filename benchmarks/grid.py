"""``onegrid bench grid``: locate lookups/s over the demo district, and dispatch decisions/s.

- ``locate``: ``GridIndex.locate`` (one STRtree query per point) over the 792 demo grids, points
  spread over the district's bounding box; also ``locate_many`` (one vectorised query).
- ``dispatch``: a grid service (1 and 3 replicas, SQLite) seeded with the demo district; a
  burst of ``TicketOpened`` is appended to a tickets log and published by the kernel's relay;
  the clock stops when the last ``DispatchDecided`` is committed in the grid's log.
- ``dispatch to the ticket``: the real tickets service (its own log holding N freshly opened
  tickets) and one grid replica; the clock runs from the tickets service's start (its relay
  publishes the openings) until the last ``TicketDispatched`` is committed on its ticket.
"""
from __future__ import annotations

import random
import tempfile
import time
import uuid

from services.grid.geo import GridIndex
from services.grid.seed import STREETS, generate_district


def _points(n, seed=1):
    lng0 = min(b[0] for *_, b, _ in STREETS)
    lat0 = min(b[1] for *_, b, _ in STREETS)
    lng1 = max(b[2] for *_, b, _ in STREETS)
    lat1 = max(b[3] for *_, b, _ in STREETS)
    rng = random.Random(seed)
    return [(rng.uniform(lat0, lat1), rng.uniform(lng0, lng1)) for _ in range(n)]


def bench_locate(n: int) -> dict:
    district = generate_district()
    index = GridIndex({g.code: g.boundary for g in district.grids})
    points = _points(n)
    locate = index.locate
    started = time.perf_counter()
    for lat, lng in points:
        locate(lat, lng)
    one = time.perf_counter() - started
    started = time.perf_counter()
    index.locate_many([p[0] for p in points], [p[1] for p in points])
    many = time.perf_counter() - started
    return {"locate lookups/s": n / one, "locate_many lookups/s": n / many}


def _config(tmp: str, tag: str) -> dict:
    """Config for the grid and tickets services running as ``grid<tag>``, ``tickets<tag>``."""
    from onegrid.config import amqp_uri
    from onegrid.testing import service_config
    return service_config(amqp_uri(), tmp, f"grid{tag}", f"tickets{tag}", unique=tag,
                          NODE_ID="bench", max_workers=100, GRID_PATROL_CHECK_SECONDS=3600)


def _seeded_grid(config: dict, tag: str) -> type:
    """The grid service class running as ``grid<tag>``, its store seeded with the district."""
    from onegrid import config as cfg
    from onegrid.testing import renamed
    from services.grid.cli import seed_store
    from services.grid.service import GridService

    store = cfg.open_service_store(f"grid{tag}", config)
    try:
        seed_store(store)
    finally:
        store.close()
    return renamed(GridService, f"grid{tag}")


def _count(store, event_type: str) -> int:
    import sqlalchemy as sa
    events = store.events
    with store.reading() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(events).where(
            events.c.event_type == event_type)).scalar_one()


def bench_dispatch(n: int, replicas: int, log) -> float:
    from onegrid import config as cfg
    from onegrid.envelope import NewEvent
    from onegrid.relay import Relay
    from onegrid.testing import rpc_client, running, wait_until
    from services.tickets.testing import ticket_opened

    tag = f"bench{uuid.uuid4().hex[:8]}"
    config = _config(tempfile.mkdtemp(prefix="grid-bench-"), tag)
    Grid = _seeded_grid(config, tag)
    store = cfg.open_service_store(Grid.name, config)
    district = generate_district()
    rng = random.Random(3)
    source = f"tickets{tag}"
    tickets = cfg.open_service_store(source, config)
    batch = []
    for i in range(n):
        g = rng.choice(district.grids)
        (x0, y0), (x1, _), (_, y1) = g.boundary[0], g.boundary[1], g.boundary[2]
        ticket_id = f"bt{tag}-{i}"
        batch.append((f"ticket/{ticket_id}", 0, [NewEvent("TicketOpened", ticket_opened(
            ticket_id, lat=(y0 + y1) / 2, lng=(x0 + x1) / 2, street=g.street_code,
            community=g.community_code,
            category=rng.choice(["road_damage", "noise_nuisance", "stairwell_hygiene",
                                 "fire_hazard"])))]))

    with running(*([Grid] * replicas), config=config), rpc_client(config) as proxy:
        wait_until(lambda: getattr(proxy, Grid.name).status()["grids"] == 792, timeout=60)
        tickets.append_batch(batch)
        started = time.perf_counter()
        relay = Relay(tickets, config["AMQP_URI"], source)
        relay.drain()
        relay.close()
        wait_until(lambda: _count(store, "DispatchDecided") >= n, timeout=600, interval=0.1)
        elapsed = time.perf_counter() - started
    store.close()
    tickets.close()
    log(f"dispatch: {n} openings, {replicas} replica(s): {elapsed:.1f}s")
    return n / elapsed


def bench_dispatch_to_ticket(n: int, log) -> float:
    """TicketOpened → grid's DispatchDecided → TicketDispatched committed on the ticket."""
    from onegrid import config as cfg
    from onegrid.runtime import Setup
    from onegrid.testing import renamed, rpc_client, running, wait_until
    from onegrid.uow import run_in_transaction
    from services.tickets.context import build_context
    from services.tickets.domain.commands import OpenTicket
    from services.tickets.handlers import open_ticket
    from services.tickets.schemas import REGISTRY
    from services.tickets.service import TicketsService

    tag = f"bench{uuid.uuid4().hex[:8]}"
    config = _config(tempfile.mkdtemp(prefix="dispatch-bench-"), tag)
    Grid = _seeded_grid(config, tag)
    Tickets = renamed(TicketsService, f"tickets{tag}")
    tickets_store = cfg.open_service_store(Tickets.name, config)
    ctx = build_context(Setup.of(Tickets.name, config))
    district, rng = generate_district(), random.Random(5)
    for i in range(n):  # the openings, as the tickets service itself records them
        g = rng.choice(district.grids)
        (x0, y0), (x1, _), (_, y1) = g.boundary[0], g.boundary[1], g.boundary[2]
        cmd = OpenTicket(
            ticket_id=f"bt-{i}", actor_id="bench", channel="hotline_12345",
            category_code=rng.choice(["road_damage", "stairwell_hygiene", "noise_nuisance",
                                      "streetlight_out", "fire_hazard"]),
            title="t", description="d", street=g.street_code, community=g.community_code,
            lat=(y0 + y1) / 2, lng=(x0 + x1) / 2)
        run_in_transaction(tickets_store, REGISTRY,
                           lambda uow, cmd=cmd: open_ticket(uow, cmd, ctx))

    with running(Grid, config=config), rpc_client(config) as proxy:
        wait_until(lambda: getattr(proxy, Grid.name).status()["grids"] == 792, timeout=60)
        started = time.perf_counter()
        with running(Tickets, config=config):  # its relay now publishes the openings
            wait_until(lambda: _count(tickets_store, "TicketDispatched") >= n, timeout=600,
                       interval=0.1)
            elapsed = time.perf_counter() - started
    tickets_store.close()
    log(f"dispatch to the ticket: {n} openings: {elapsed:.1f}s")
    return n / elapsed


def run(quick: bool, log) -> dict:
    results = bench_locate(20_000 if quick else 200_000)
    log(f"locate: {results['locate lookups/s']:,.0f} lookups/s")
    n = 1000 if quick else 5000
    results["dispatch decisions/s (1 replica, TicketOpened -> DispatchDecided)"] = \
        bench_dispatch(n, 1, log)
    results["dispatch decisions/s (3 replicas, TicketOpened -> DispatchDecided)"] = \
        bench_dispatch(n, 3, log)
    results["dispatch decisions/s (TicketOpened -> TicketDispatched on the ticket)"] = \
        bench_dispatch_to_ticket(n, log)
    return results
