"""A service rides out its broker and its database.

Each test runs the toy services of ``riding.py`` (``ledger`` takes commands, ``echo``
consumes its events) as their own ``nameko run`` processes on a RabbitMQ node of the test's
own (``private_broker``), and for the database test on a PostgreSQL cluster of its own
(``private_postgres``): the shared broker and database are never stopped. A client sends
``note`` commands with explicit command ids and retries each, with the same id, until it is
answered; the services' stores then show how many effects each command had.
"""
from __future__ import annotations

import collections
import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import eventlet
import pytest
import sqlalchemy as sa
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy

from onegrid.testing import wait_until

pytestmark = pytest.mark.broker

ROOT = Path(__file__).resolve().parents[2]


class Service:
    """One ``nameko run`` process of a service (``riding:Ledger``, or ``module:Class``)."""

    def __init__(self, name: str, cls: str, config: dict, data_dir: Path):
        self.name, self.data_dir = name, data_dir
        path = data_dir / f"{name}.yaml"
        path.write_text("\n".join(f"{k}: {json.dumps(v)}" for k, v in config.items()) + "\n")
        self.log_path = data_dir / f"{name}.log"
        env = {k: v for k, v in os.environ.items()
               if not k.endswith("DATABASE_URL") and k != "AMQP_URI"}
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "tests" / "system"), str(ROOT)])
        nameko = os.path.join(os.path.dirname(sys.executable), "nameko")
        self.process = subprocess.Popen(
            [nameko, "run", "--config", str(path), cls if ":" in cls else f"riding:{cls}"],
            env=env, cwd=ROOT,
            stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT)

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.alive():
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def services(tmp_path):
    started = []

    def start(name, cls, amqp_uri, **extra):
        config = {"AMQP_URI": amqp_uri, "NODE_ID": "shazhou", "ONEGRID_DATA_DIR": str(tmp_path),
                  "ONEGRID_POLL_SECONDS": 0.05, "ONEGRID_LEASE_SECONDS": 2,
                  "ONEGRID_RETRY_DELAYS": "0.2,0.5,1", "max_workers": 20,
                  "LOGGING": {"version": 1, "disable_existing_loggers": False,
                              "handlers": {"out": {"class": "logging.StreamHandler"}},
                              "root": {"level": "WARNING", "handlers": ["out"]}}}
        config.update(extra)
        service = Service(name, cls, config, tmp_path)
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


def call(amqp_uri, service, method, timeout=5.0, **kwargs):
    """One attempt of an RPC on a connection of its own (the broker may have gone)."""
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=timeout) as rpc:
        return getattr(getattr(rpc, service), method)(**kwargs)


def _try(fn):
    try:
        return fn()
    except Exception:
        eventlet.sleep(0.5)
        return None


def answers(amqp_uri, service) -> bool:
    try:
        return call(amqp_uri, service, "ping", timeout=3) == service
    except Exception:
        eventlet.sleep(0.5)
        return False


class Client:
    """Sends ``note`` commands, each retried with its own command id until it is answered."""

    def __init__(self, amqp_uri):
        self.amqp_uri = amqp_uri
        self.results: dict[str, dict] = {}
        self.attempts = 0
        self.errors = collections.Counter()
        self._ids = itertools.count(1)
        self.sending = True

    def send(self, command_id: str, **fields):
        while True:
            self.attempts += 1
            try:
                result = call(self.amqp_uri, "ledger", "note", command_id=command_id, **fields)
            except RemoteError as error:
                self.errors[f"RemoteError {error.exc_type}"] += 1
            except Exception as error:  # the broker is away, or the reply did not come in time
                self.errors[type(error).__name__] += 1
            else:
                if command_id in self.results:
                    assert result == self.results[command_id]
                self.results[command_id] = result
                return result
            eventlet.sleep(0.5)

    def keep_sending(self):
        while self.sending:
            n = next(self._ids)
            self.send(f"cmd-{n}", text=f"note {n}")

    def report(self, label):
        counts = dict(commands=len(self.results), attempts=self.attempts,
                      retries=self.attempts - len(self.results), errors=dict(self.errors))
        print(f"\n{label}: {counts}")
        return counts


def sqlite_count(path: Path, table: str, where: str = "1=1") -> int:
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        try:
            return db.execute(f"select count(*) from {table} where {where}").fetchone()[0]
        except sqlite3.OperationalError:  # not created yet
            return 0


def effects(data_dir: Path, ledger_url: str | None = None) -> dict:
    if ledger_url:
        engine = sa.create_engine(ledger_url)
        with engine.connect() as conn:
            noted = conn.execute(sa.text(
                "select count(*), count(distinct stream_id) from ledger_events "
                "where event_type = 'Noted'")).one()
            commands = conn.execute(sa.text("select count(*) from ledger_commands")).scalar()
        engine.dispose()
    else:
        with sqlite3.connect(data_dir / "ledger.sqlite") as db:
            noted = db.execute("select count(*), count(distinct stream_id) from ledger_events "
                               "where event_type = 'Noted'").fetchone()
            commands = db.execute("select count(*) from ledger_commands").fetchone()[0]
    return dict(noted=noted[0], noted_streams=noted[1], command_ids=commands,
                echoed=sqlite_count(data_dir / "echo.sqlite", "echo_events",
                                    "event_type = 'Echoed'"))


def test_services_started_before_the_broker_serve_when_it_comes(private_broker, services,
                                                                 tmp_path):
    uri = private_broker.uri
    ledger = services("ledger", "Ledger", uri)
    echo = services("echo", "Echo", uri)
    tickets = services("tickets", "services.tickets.service:TicketsService", uri)
    grid = services("grid", "services.grid.service:GridService", uri)
    performance = services("performance", "services.performance.service:PerformanceService", uri)
    wait_until(lambda: "waits for the broker" in echo.log(), timeout=30,
               message="echo never said it waits for the broker")
    wait_until(lambda: "waits for the broker" in tickets.log(), timeout=30,
               message="tickets never said it waits for the broker")
    wait_until(lambda: "Error connecting to broker" in ledger.log(), timeout=30,
               message="ledger never said it waits for the broker")
    for service in (grid, performance):
        wait_until(lambda: "waits for the broker" in service.log(), timeout=30,
                   message=f"{service.name} never said it waits for the broker")
    time.sleep(5)
    assert all(s.alive() for s in (ledger, echo, tickets, grid, performance)), \
        "a service exited while the broker was down"

    came = time.monotonic()
    private_broker.start()
    wait_until(lambda: answers(uri, "ledger") and answers(uri, "echo"), timeout=90,
               interval=0.5, message="the services did not serve once the broker came")
    serving = time.monotonic() - came

    from services.tickets.testing import open_fields
    opened = wait_until(lambda: _try(lambda: call(uri, "tickets", "open", timeout=10,
                                                  command_id="start-open",
                                                  **open_fields(None))),
                        timeout=90, interval=0.5, message="tickets did not serve")
    assert call(uri, "tickets", "get_ticket", ticket_id=opened["ticket_id"])["state"]
    wait_until(lambda: all(_try(lambda n=n: call(uri, n, "read_log", timeout=5, limit=1)) is not None
                           for n in ("grid", "performance")), timeout=90,
               interval=0.5, message="grid and performance did not serve once the broker came")

    client = Client(uri)
    result = client.send("start-1", text="hello")
    wait_until(lambda: effects(tmp_path)["echoed"] == 1, timeout=30,
               message="echo did not consume the ledger's event")
    counts = effects(tmp_path)
    client.report(f"started before the broker (serving {serving:.0f}s after it came)")
    print(f"effects: {counts}")
    assert result["text"] == "hello"
    assert counts == dict(noted=1, noted_streams=1, command_ids=1, echoed=1)
    assert "waits for the broker" in echo.log() and "answers after" in echo.log()


def test_a_broker_outage_of_a_minute_kills_no_service_and_every_command_has_one_effect(
        private_broker, services, tmp_path):
    uri = private_broker.uri
    private_broker.start()
    ledger = services("ledger", "Ledger", uri)
    echo = services("echo", "Echo", uri)
    wait_until(lambda: answers(uri, "ledger") and answers(uri, "echo"), timeout=60,
               interval=0.5, message="the services did not start")

    client = Client(uri)
    senders = [eventlet.spawn(client.keep_sending) for _ in range(4)]
    eventlet.sleep(5)
    # commands in flight when the broker goes: their replies cannot be sent
    slow = [eventlet.spawn(client.send, f"slow-{n}", text=f"slow {n}", pause=3)
            for n in range(3)]
    eventlet.sleep(1.0)
    sent_before = len(client.results)
    private_broker.stop()
    stopped = time.monotonic()
    while time.monotonic() - stopped < 60:
        eventlet.sleep(5)
        assert ledger.alive() and echo.alive(), "a service exited while the broker was away"
    private_broker.start()
    back = time.monotonic()
    wait_until(lambda: answers(uri, "ledger"), timeout=90, interval=0.5,
               message="ledger did not serve again")
    serving = time.monotonic() - back
    eventlet.sleep(5)
    client.sending = False
    for sender in senders + slow:
        sender.wait()

    total = len(client.results)
    wait_until(lambda: effects(tmp_path)["echoed"] == total, timeout=60,
               message=f"echo did not consume every event: {effects(tmp_path)} of {total}")
    counts = effects(tmp_path)
    client.report(f"broker away 60s (ledger served {serving:.0f}s after it came back; "
                  f"{sent_before} answered before the stop)")
    print(f"effects: {counts}")
    assert ledger.alive() and echo.alive()
    assert counts == dict(noted=total, noted_streams=total, command_ids=total, echoed=total)
    assert all(client.results[f"slow-{n}"]["text"] == f"slow {n}" for n in range(3))
    assert "the reply to note" in ledger.log() and "waits for the broker" in ledger.log()


def test_a_database_restart_fails_commands_as_service_unavailable_and_retries_have_one_effect(
        private_broker, private_postgres, services, tmp_path):
    uri = private_broker.uri
    private_broker.start()
    ledger = services("ledger", "Ledger", uri, LEDGER_DATABASE_URL=private_postgres.url)
    echo = services("echo", "Echo", uri)
    wait_until(lambda: "waits for its database" in ledger.log(), timeout=30,
               message="ledger never said it waits for its database")
    assert ledger.alive()
    private_postgres.start()
    wait_until(lambda: answers(uri, "ledger") and answers(uri, "echo"), timeout=60,
               interval=0.5, message="the services did not start")

    client = Client(uri)
    senders = [eventlet.spawn(client.keep_sending) for _ in range(4)]
    eventlet.sleep(5)
    private_postgres.kill()
    eventlet.sleep(10)
    assert ledger.alive()
    down_errors = dict(client.errors)
    private_postgres.start()
    eventlet.sleep(8)
    client.sending = False
    with eventlet.Timeout(90, False):  # each sender finishes its command once ledger answers
        for sender in senders:
            sender.wait()
    stuck = [s for s in senders if not s.dead]
    assert not stuck, (f"ledger stopped answering 90s after the database came back "
                       f"({len(stuck)} commands unanswered; errors {dict(client.errors)}); "
                       f"its log ends:\n{ledger.log()[-3000:]}")

    total = len(client.results)
    wait_until(lambda: effects(tmp_path, private_postgres.url)["echoed"] == total, timeout=60,
               message="echo did not consume every event")
    counts = effects(tmp_path, private_postgres.url)
    client.report("database killed for 10s")
    print(f"errors while it was down: {down_errors}; effects: {counts}")
    assert client.errors["RemoteError ServiceUnavailable"] > 0
    assert not [e for e in client.errors if "OperationalError" in e], client.errors
    assert counts == dict(noted=total, noted_streams=total, command_ids=total, echoed=total)


def test_settle_does_not_wait_for_a_dead_replicas_projection_lease(amqp_uri, tmp_path, unique):
    """A replica killed a moment ago still holds its projection lease (for a minute here):
    a settled command of another replica folds the projection itself after a short grace."""
    from onegrid.envelope import NewEvent
    from onegrid.projections import Projection, checkpoint_name
    from onegrid.runtime import Store
    from onegrid.runtime.rpc import rpc
    from onegrid.store import open_store
    from onegrid.testing import rpc_client, running

    table = sa.Table(f"seen{unique}", sa.MetaData(), sa.Column("text", sa.String(40)))

    class Seen(Projection):
        name = f"seen{unique}"
        metadata = table.metadata

        def apply(self, conn, envelope):
            conn.execute(table.insert().values(text=envelope.payload["text"]))

    class Notes:
        name = f"notes{unique}"
        store = Store(projections=[Seen()])

        @rpc
        def note(self, text):
            self.store.command(lambda uow: uow.tx.append(
                f"n-{text}", 0, [NewEvent("Noted", {"text": text})]), settle=True)
            return self.store.query(lambda q: [r.text for r in q.connection.execute(
                sa.select(table))])

    url = f"sqlite:///{tmp_path}/notes.sqlite"
    dead = open_store(url, "shazhou", prefix=f"{Notes.name}_")
    assert dead.try_lease(f"{checkpoint_name(Seen())}:{Notes.name}", "dead-replica", 60)
    dead.close()
    config = {"AMQP_URI": amqp_uri, "ONEGRID_RELAY": False, "ONEGRID_POLL_SECONDS": 0.05,
              f"{Notes.name.upper()}_DATABASE_URL": url}
    with running(Notes, config=config), rpc_client(config) as rpc_:
        started = time.monotonic()
        seen = getattr(rpc_, Notes.name).note("one")
        took = time.monotonic() - started
    print(f"\nsettled behind a dead holder's lease in {took:.2f}s (lease 60s, settle timeout 10s)")
    assert seen == ["one"]
    assert took < 5
