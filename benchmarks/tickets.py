"""``onegrid bench tickets``: commands/s through RPC for the full life of N tickets.

A tickets service (one container in its own process, as in a node; SQLite in a temp dir; the
broker at ``AMQP_URI``) takes open → dispatch → accept → resolve → record_callback → close for N tickets,
from ``CLIENTS`` concurrent clients (each its own RPC proxy, one ticket at a time). Each command
records one event, so events/s = commands/s. Latency is per command, measured at the client
(RPC round trip: broker, validation, one store transaction).
"""
from __future__ import annotations

import shutil
import statistics
import tempfile
import time
import uuid

CLIENTS = 8


def service(name: str):
    """The tickets service class running as ``name`` (built by ``benchmarks.serve``)."""
    from onegrid.testing import renamed
    from services.tickets.service import TicketsService
    return renamed(TicketsService, name)


def _percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(quick: bool = False, log=print) -> dict:
    import eventlet
    eventlet.monkey_patch()  # noqa: the CLI may import us before anything patched
    import eventlet.tpool  # noqa: F401  benchmarks.serve uses it without importing it

    import os

    from benchmarks.serve import serve, stop
    from onegrid.config import amqp_uri
    from onegrid.testing import rpc_client, wait_until
    from services.tickets.testing import caught_up, open_fields, open_store

    n = 60 if quick else 600
    unique = uuid.uuid4().hex[:8]
    tmp = tempfile.mkdtemp(prefix="tickets-bench-")
    name = f"ticketsbench{unique}"
    config = {"AMQP_URI": amqp_uri(), "NODE_ID": "bench", "ONEGRID_POLL_SECONDS": 0.05,
              f"{name.upper()}_DATABASE_URL": f"sqlite:///{tmp}/{name}.sqlite",
              "ONEGRID_SERVICE_NAMES": f"tickets={name},grid=gridbench{unique}"}
    Tickets = type("Tickets", (), {"name": name})  # what the clients and store helpers need
    latencies: list[float] = []

    def life(proxy, tid):
        svc = getattr(proxy, Tickets.name)
        steps = [
            (svc.open, open_fields(tid)),
            (svc.dispatch, dict(ticket_id=tid, actor_id="d", assignee_kind="worker",
                                assignee_id="w-1")),
            (svc.accept, dict(ticket_id=tid, actor_id="w-1")),
            (svc.resolve, dict(ticket_id=tid, actor_id="w-1", resolution="fixed")),
            (svc.record_callback, dict(ticket_id=tid, actor_id="op", rating="satisfied")),
            (svc.close, dict(ticket_id=tid, actor_id="op")),
        ]
        for method, kwargs in steps:
            started = time.perf_counter()
            method(**kwargs)
            latencies.append(time.perf_counter() - started)

    def client(ids):
        with rpc_client(config) as proxy:
            for tid in ids:
                life(proxy, tid)

    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update({k: str(v) for k, v in config.items()})
    server = serve("benchmarks.tickets:service", name, env=env)
    try:
        with rpc_client(config) as warm:  # one lifecycle to warm up
            life(warm, "warm-up")
        latencies.clear()
        log(f"tickets: {n} lifecycles, {CLIENTS} clients")
        pool = eventlet.GreenPool(CLIENTS)
        ids = [f"b-{i:05d}" for i in range(n)]
        started = time.perf_counter()
        for k in range(CLIENTS):
            pool.spawn(client, ids[k::CLIENTS])
        pool.waitall()
        elapsed = time.perf_counter() - started
        store = open_store(Tickets, config)
        try:
            wait_until(lambda: caught_up(store, Tickets.name), timeout=120)
            projected = time.perf_counter() - started
        finally:
            store.close()
    finally:
        stop(server)
        shutil.rmtree(tmp, ignore_errors=True)
    commands = len(latencies)
    figures = {
        "tickets (full lifecycles)": n,
        "commands": commands,
        "commands/s": round(commands / elapsed, 1),
        "events/s": round(commands / elapsed, 1),
        "p50 command latency ms": round(1000 * statistics.median(latencies), 2),
        "p99 command latency ms": round(1000 * _percentile(latencies, 0.99), 2),
        "list projection caught up after s": round(projected, 2),
    }
    log(str(figures))
    return figures
