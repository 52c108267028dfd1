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


def bench_dispatch(n: int, replicas: int, log) -> float:
    import datetime as dt

    import sqlalchemy as sa

    from onegrid import config as cfg
    from onegrid.config import amqp_uri
    from onegrid.envelope import NewEvent
    from onegrid.relay import Relay
    from onegrid.store import open_store
    from onegrid.testing import rpc_client, running, wait_until
    from services.grid.cli import seed_store
    from services.grid.service import make_service

    unique = uuid.uuid4().hex[:8]
    tmp = tempfile.mkdtemp(prefix="grid-bench-")
    name, source = f"gridbench{unique}", f"ticketsbench{unique}"
    config = {"AMQP_URI": amqp_uri(), "NODE_ID": "bench", "ONEGRID_POLL_SECONDS": 0.05,
              f"{name.upper()}_DATABASE_URL": f"sqlite:///{tmp}/{name}.sqlite"}
    Grid = make_service(name, source, patrol_check_seconds=3600)
    store = cfg.open_service_store(name, config)
    seed_store(store)
    events = store.events
    district = generate_district()
    rng = random.Random(3)
    tickets = open_store(f"sqlite:///{tmp}/{source}.sqlite", "bench", prefix=f"{source}_")
    now = dt.datetime.now(dt.timezone(dt.timedelta(hours=8)))
    batch = []
    for i in range(n):
        g = rng.choice(district.grids)
        (x0, y0), (x1, _), (_, y1) = g.boundary[0], g.boundary[1], g.boundary[2]
        batch.append((f"bt{unique}-{i}", 0, [NewEvent("TicketOpened", {
            "ticket_id": f"bt{unique}-{i}", "at": now.isoformat(), "actor_id": "bench",
            "node_id": "bench", "channel": "hotline_12345",
            "category_code": rng.choice(["road_damage", "noise", "sanitation", "fire_hazard"]),
            "department": "", "deadline_class": "complaint", "title": "t", "description": "d",
            "lat": (y0 + y1) / 2, "lng": (x0 + x1) / 2, "address": None, "grid_code": None,
            "street": g.street_code, "community": g.community_code, "reporter_name": None,
            "reporter_phone": None, "attachments": [], "deadline": now.isoformat()})]))

    def decided():
        with store.reading() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(events).where(
                events.c.event_type == "DispatchDecided")).scalar_one()

    with running(*([Grid] * replicas), config=config), rpc_client(config) as proxy:
        wait_until(lambda: getattr(proxy, name).status()["grids"] == 792, timeout=60)
        tickets.append_batch(batch)
        started = time.perf_counter()
        relay = Relay(tickets, config["AMQP_URI"], source)
        relay.drain()
        relay.close()
        wait_until(lambda: decided() >= n, timeout=600, interval=0.1)
        elapsed = time.perf_counter() - started
    store.close()
    tickets.close()
    log(f"dispatch: {n} openings, {replicas} replica(s): {elapsed:.1f}s")
    return n / elapsed


def bench_dispatch_to_ticket(n: int, log) -> float:
    """TicketOpened → grid's DispatchDecided → TicketDispatched committed on the ticket."""
    import datetime as dt

    import sqlalchemy as sa

    from onegrid import config as cfg
    from onegrid.config import amqp_uri
    from onegrid.testing import rpc_client, running, service_config, wait_until
    from onegrid.uow import run_in_transaction
    from services.grid.cli import seed_store
    from services.grid.service import make_service as make_grid
    from services.tickets import commands as c
    from services.tickets import handlers
    from services.tickets.policy import load_calendar, load_catalogue
    from services.tickets.service import REGISTRY, UowTickets
    from services.tickets.service import make_service as make_tickets

    unique = uuid.uuid4().hex[:8]
    tmp = tempfile.mkdtemp(prefix="dispatch-bench-")
    grid_name, tickets_name = f"gridbench{unique}", f"ticketsbench{unique}"
    config = service_config(amqp_uri(), tmp, grid_name, tickets_name, NODE_ID="bench",
                            max_workers=100)
    grid_store = cfg.open_service_store(grid_name, config)
    seed_store(grid_store)
    grid_store.close()
    tickets_store = cfg.open_service_store(tickets_name, config)
    catalogue, calendar = load_catalogue(), load_calendar()
    district, rng = generate_district(), random.Random(5)
    now = dt.datetime.now(dt.timezone.utc)
    for i in range(n):  # the openings, as the tickets service itself records them
        g = rng.choice(district.grids)
        (x0, y0), (x1, _), (_, y1) = g.boundary[0], g.boundary[1], g.boundary[2]
        cmd = c.OpenTicket(
            ticket_id=f"bt-{i}", actor_id="bench", channel="hotline_12345",
            category_code=rng.choice(["road_damage", "stairwell_hygiene", "noise_nuisance",
                                      "streetlight_out", "fire_hazard"]),
            title="t", description="d", street=g.street_code, community=g.community_code,
            lat=(y0 + y1) / 2, lng=(x0 + x1) / 2, address=None, grid_code=None,
            reporter_name=None, reporter_phone=None, attachments=())
        run_in_transaction(tickets_store, REGISTRY, lambda uow, cmd=cmd: handlers.open_ticket(
            UowTickets(uow), cmd, now, catalogue=catalogue, calendar=calendar, node_id="bench"))
    events = tickets_store.events

    def dispatched():
        with tickets_store.reading() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(events).where(
                events.c.event_type == "TicketDispatched")).scalar_one()

    Grid = make_grid(grid_name, tickets_name, patrol_check_seconds=3600)
    Tickets = make_tickets(tickets_name, grid_name, overdue_check_seconds=3600)
    with running(Grid, config=config), rpc_client(config) as proxy:
        wait_until(lambda: getattr(proxy, grid_name).status()["grids"] == 792, timeout=60)
        started = time.perf_counter()
        with running(Tickets, config=config):  # its relay now publishes the openings
            wait_until(lambda: dispatched() >= n, timeout=600, interval=0.1)
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
