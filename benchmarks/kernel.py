"""``onegrid bench kernel``: what the event-sourcing kernel sustains on this machine.

Every figure is measured in this run; nothing is asserted. Figures are events per second
unless named otherwise.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid

import sqlalchemy as sa

from onegrid import config as cfg
from onegrid.envelope import NewEvent
from onegrid.relay import Relay
from onegrid.store.sql import SqlEventStore

PAYLOAD = {"title": "water leak in stairwell 3", "category": "housing.leak", "street": "shazhou"}


def _events(n):
    return [NewEvent("Noted", dict(PAYLOAD, n=i)) for i in range(n)]


def bench_append(store, n, batch):
    """n events, ``batch`` per transaction, each transaction on its own stream."""
    started = time.perf_counter()
    for i in range(n // batch):
        store.append(f"s-{uuid.uuid4().hex}", 0, _events(batch))
    return n / (time.perf_counter() - started)


def _sqlite(tmp, name, **options):
    return SqlEventStore(f"sqlite:///{tmp}/{name}.sqlite", node_id="bench", **options)


def _bound_queue(amqp_uri, service):
    """A durable queue bound to everything ``service`` publishes, as a consumer would have."""
    from kombu import Connection, Exchange, Queue

    exchange = Exchange(f"{service}.events", type="topic", durable=True, auto_delete=False)
    queue = Queue(f"bench-{service}", exchange=exchange, routing_key="#", durable=True)
    with Connection(amqp_uri) as conn:
        queue(conn.default_channel).declare()
    return queue


def _delete_queue(amqp_uri, queue):
    from kombu import Connection

    with Connection(amqp_uri) as conn:
        queue(conn.default_channel).delete()


def bench_relay(tmp, amqp_uri, n):
    store = _sqlite(tmp, "relay")
    for start in range(0, n, 1000):
        store.append_batch([(f"s-{start + i}", 0, _events(1)) for i in range(min(1000, n - start))])
    service = f"benchrelay{uuid.uuid4().hex[:6]}"
    queue = _bound_queue(amqp_uri, service)
    relay = Relay(store, amqp_uri, service, page_size=1000)
    started = time.perf_counter()
    published = relay.drain()
    rate = published / (time.perf_counter() - started)
    relay.close()
    _delete_queue(amqp_uri, queue)
    store.close()
    return rate


def bench_nameko_dispatch(tmp, amqp_uri, n):
    """The baseline: the same events through nameko's EventDispatcher, default confirms."""
    from nameko.standalone.events import event_dispatcher

    store = _sqlite(tmp, "dispatch")
    for start in range(0, n, 1000):
        store.append_batch([(f"s-{start + i}", 0, _events(1)) for i in range(min(1000, n - start))])
    envelopes = list(store.iter_all())
    service = f"benchdispatch{uuid.uuid4().hex[:6]}"
    queue = _bound_queue(amqp_uri, service)
    dispatch = event_dispatcher({"AMQP_URI": amqp_uri})
    started = time.perf_counter()
    for envelope in envelopes:
        dispatch(service, envelope.event_type, envelope.to_message())
    rate = len(envelopes) / (time.perf_counter() - started)
    _delete_queue(amqp_uri, queue)
    store.close()
    return rate


def bench_end_to_end(tmp, amqp_uri, n, log):
    """Append in one service's store → its relay → another service's idempotent commit.

    The source runs in its own process (benchmarks/e2e_source.py), as it would in a node;
    the consuming service runs here.
    """
    import eventlet
    from onegrid.runtime import Inbox, Store, consume
    from onegrid.tables import upsert
    from onegrid.testing import running

    source_name = f"e2esrc{uuid.uuid4().hex[:6]}"
    sink_name = f"e2esink{uuid.uuid4().hex[:6]}"
    counts = sa.Table("counts", sa.MetaData(), sa.Column("stream_id", sa.String(64), primary_key=True),
                      sa.Column("n", sa.Integer, nullable=False))

    def count(uow, event, ctx):
        upsert(uow.connection, counts, {"stream_id": event.stream_id}, {"n": 1}, {"n": counts.c.n + 1})

    reactions = {source_name: {"Noted": count}}

    class Sink:
        name = sink_name
        store = Store()
        inbox = Inbox(reactions, tables=lambda ctx: counts.metadata)

        @consume(reactions)
        def on_event(self, source, event):
            self.inbox.apply(source, event)

    config = {"AMQP_URI": amqp_uri, "max_workers": 200,
              f"{sink_name.upper()}_DATABASE_URL": f"sqlite:///{tmp}/{sink_name}.sqlite"}
    streams = max(n // 10, 1)
    source = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.e2e_source", source_name,
         f"sqlite:///{tmp}/{source_name}.sqlite", str(n), str(streams)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env=dict(os.environ, AMQP_URI=amqp_uri))
    try:
        with running(Sink, config=config) as containers:
            keeper = next(e for e in containers[0].shared_extensions.values() if hasattr(e, "relay"))
            if eventlet.tpool.execute(source.stdout.readline).strip() != "ready":
                raise RuntimeError("the source service did not start")
            started = time.perf_counter()
            source.stdin.write("go\n")
            source.stdin.flush()
            applied = 0
            while applied < n:
                eventlet.sleep(0.02)
                with keeper.store.reading() as conn:
                    applied = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(counts.c.n), 0))).scalar()
                if time.perf_counter() - started > 600:
                    raise RuntimeError(f"end-to-end stalled at {applied} of {n}")
            return n / (time.perf_counter() - started)
    finally:
        try:
            source.stdin.write("stop\n")
            source.stdin.flush()
        except OSError:
            pass
        source.wait(timeout=30)


def make_replay_log(path, n):
    """A SQLite log of ``n`` events, interleaved over ``n / 100`` streams.

    Written straight into the events table in big batches: this prepares the data, it is not
    the append being measured (``append_*`` measure that).
    """
    from onegrid.envelope import dumps, new_event_id, utcnow

    store = SqlEventStore(f"sqlite:///{path}", node_id="bench", sqlite_synchronous="OFF")
    streams, now = max(n // 100, 1), utcnow().isoformat()
    payload = dumps(dict(PAYLOAD, n=0))
    with store.transaction() as tx:
        for start in range(0, n, 50_000):
            rows = []
            for i in range(start, min(start + 50_000, n)):
                event_id = new_event_id()
                rows.append({"event_id": event_id, "stream_id": f"s-{i % streams}",
                             "version": i // streams + 1, "event_type": "Noted",
                             "schema_version": 1, "payload": payload, "occurred_at": now,
                             "recorded_at": now, "node_id": "bench", "correlation_id": event_id,
                             "causation_id": None, "actor_id": "system", "actor_role": "system"})
            tx.connection.execute(store.events.insert(), rows)
    store.close()


def replay_in_subprocess(path, log):
    """Replay in a fresh process so its peak RSS is the replay's own."""
    out = subprocess.run([sys.executable, "-m", "benchmarks.replay_worker", path],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(quick: bool = False, log=print) -> dict:
    amqp_uri = cfg.amqp_uri()
    database_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    n_append = 1000 if quick else 5000
    n_publish = 5000 if quick else 20000
    n_e2e = 2000 if quick else 10000
    n_replay = 100_000 if quick else 1_000_000
    results = {}
    with tempfile.TemporaryDirectory(prefix="onegrid-bench-") as tmp:
        log(f"append: {n_append} events to SQLite and PostgreSQL")
        s = _sqlite(tmp, "append")
        results["append_sqlite"] = bench_append(s, n_append, 1)
        results["append_sqlite_batch100"] = bench_append(s, n_append * 10, 100)
        s.close()
        pg = SqlEventStore(database_url, node_id="bench", prefix=f"bench{uuid.uuid4().hex[:6]}_")
        try:
            results["append_postgres"] = bench_append(pg, n_append, 1)
            results["append_postgres_batch100"] = bench_append(pg, n_append * 10, 100)
        finally:
            pg.drop_all()
            pg.close()
        log(f"relay and nameko's dispatcher: {n_publish} events each")
        results["relay"] = bench_relay(tmp, amqp_uri, n_publish)
        results["nameko_dispatch"] = bench_nameko_dispatch(tmp, amqp_uri, n_publish)
        results["relay_vs_nameko_dispatch"] = results["relay"] / results["nameko_dispatch"]
        log(f"end to end: {n_e2e} events")
        results["end_to_end"] = bench_end_to_end(tmp, amqp_uri, n_e2e, log)
        log(f"replay: writing {n_replay:,} events")
        path = f"{tmp}/replay.sqlite"
        make_replay_log(path, n_replay)
        log("replay: rebuilding a projection in a fresh process")
        replayed = replay_in_subprocess(path, log)
        results["replay"] = replayed["rate"]
        results["replay_events"] = replayed["events"]
        results["replay_peak_rss_mb"] = replayed["peak_rss_mb"]
    return results
