"""Helpers for tests that run real nameko containers against a real broker."""
from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import os
import threading
import time
import urllib.parse
import urllib.request
from typing import Optional

import eventlet
from nameko.containers import ServiceContainer
from nameko.standalone.rpc import ClusterRpcProxy

from .domain import LOCAL_TZ as CST  # noqa: E402  the street offices' time zone, for test data
#: the services of a node by their logical names
SERVICES = ("tickets", "grid", "performance", "orgs")


class Clock:
    """A clock a test moves by hand: ``clock()`` is now; ``clock.now = ...`` sets it."""

    def __init__(self, now: Optional[dt.datetime] = None):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now or dt.datetime.now(dt.timezone.utc)


def names(unique: str) -> dict[str, str]:
    """Running names for a test's services: ``{"tickets": "tickets<unique>", ...}``."""
    return {logical: f"{logical}{unique}" for logical in SERVICES}


def renamed(service_class: type, name: str) -> type:
    """The service class running under another name (tests: a random one per test)."""
    return type(service_class.__name__, (service_class,), {"name": name})


def service_config(amqp_uri: str, data_dir, *names_: str, unique: Optional[str] = None,
                   clock=None, **extra) -> dict:
    """Config for services under test: a SQLite file each in ``data_dir``, short timings.

    Short retry delays, lease and poll interval keep broker tests quick. With ``unique``,
    every service runs as ``<logical name><unique>`` (``ONEGRID_SERVICE_NAMES``); ``clock``
    is the services' clock; ``extra`` adds or overrides keys.
    """
    config = {"AMQP_URI": amqp_uri, "NODE_ID": "shazhou", "ONEGRID_POLL_SECONDS": 0.05,
              "ONEGRID_RETRY_DELAYS": "0.2,0.5,1", "ONEGRID_LEASE_SECONDS": 2,
              "ONEGRID_CATCHUP_SECONDS": 1}
    if unique is not None:
        config["ONEGRID_SERVICE_NAMES"] = names(unique)
    if clock is not None:
        config["ONEGRID_CLOCK"] = clock
    for name in names_:
        config[f"{name.upper()}_DATABASE_URL"] = f"sqlite:///{data_dir}/{name}.sqlite"
    config.update(extra)
    return config


class FakeSource:
    """Another service's log and relay, standing in for it: append, then publish by hand.

    ``serve(config)`` also answers ``read_stream``/``read_log`` over RPC, as the real
    service does, for consumers that fetch a gap or catch up from the log.
    """

    def __init__(self, amqp_uri: str, data_dir, name: str, node_id: str = "shazhou"):
        from .store import open_store
        self.name = name
        self.amqp_uri = amqp_uri
        self.url = f"sqlite:///{data_dir}/{name}.sqlite"
        self.store = open_store(self.url, node_id, prefix=f"{name}_")

    def append(self, streams) -> list:
        """Append ``[(stream id, [(type, payload), ...]), ...]`` in one transaction.

        An event may also say when it happened: ``(type, payload, occurred_at)``.
        """
        from .envelope import NewEvent
        out = []
        with self.store.transaction() as tx:
            for stream_id, events in streams:
                out.extend(tx.append(stream_id, tx.stream_version(stream_id), [
                    NewEvent(e[0], e[1], occurred_at=e[2]) if len(e) > 2 else NewEvent(e[0], e[1])
                    for e in events]))
        return out

    def publish(self) -> int:
        """Publish whatever the relay has not published yet; returns how many."""
        from .relay import Relay
        relay = Relay(self.store, self.amqp_uri, self.name, page_size=1000)
        try:
            return relay.drain()
        finally:
            relay.close()

    @contextlib.contextmanager
    def serve(self, config: dict):
        """Run the source's log reader (``read_stream``, ``read_log``) as a nameko service."""
        from .runtime import EventLogRpc, Store

        class Log(EventLogRpc):
            name = self.name
            store = Store()

        served = dict(config, ONEGRID_RELAY=False,
                      **{f"{self.name.upper()}_DATABASE_URL": self.url})
        with running(Log, config=served) as containers:
            yield containers[0]

    def close(self):
        self.store.close()


@contextlib.contextmanager
def running(*service_classes, config: dict):
    """Start a container per service class (repeat a class for replicas); stop them after."""
    containers = [ServiceContainer(cls, config) for cls in service_classes]
    for container in containers:
        container.start()
    try:
        yield containers
    finally:
        for container in containers:
            container.stop()


@contextlib.contextmanager
def rpc_client(config: dict, timeout: float = 30):
    with ClusterRpcProxy(config, timeout=timeout) as proxy:
        yield proxy


def at_once(fn, times: int, *, conflict: type, threads=threading) -> list:
    """Run ``fn`` in ``times`` threads started together; what each returned, or ``"conflict"``
    where it raised ``conflict``. ``threads`` is the threading module to use (eventlet's
    ``original("threading")`` for OS threads)."""
    outcomes = []

    def one():
        try:
            outcomes.append(fn())
        except conflict:
            outcomes.append("conflict")
    started = [threads.Thread(target=one) for _ in range(times)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    return outcomes


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.05, message: str = ""):
    """Poll ``predicate`` until it returns truthy; fail with ``message`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message or f"condition not met within {timeout}s")
        eventlet.sleep(interval)


class RabbitAdmin:
    """A small client of RabbitMQ's management API (vhosts, definitions) for tests.

    The API is found beside the broker of ``amqp_uri`` on port 15672 unless
    ``RABBIT_API_URI`` names it; it needs the rabbitmq_management plugin.
    """

    def __init__(self, amqp_uri: str):
        self.amqp = urllib.parse.urlparse(amqp_uri)
        api = os.environ.get("RABBIT_API_URI") or (
            f"http://{self.amqp.username or 'guest'}:{self.amqp.password or 'guest'}"
            f"@{self.amqp.hostname}:15672")
        self.api = urllib.parse.urlparse(api)

    def call(self, method: str, path: str, body=None) -> int:
        request = urllib.request.Request(
            f"{self.api.scheme}://{self.api.hostname}:{self.api.port}{path}", method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"content-type": "application/json"})
        token = base64.b64encode(f"{self.api.username}:{self.api.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status

    def create_vhost(self, vhost: str) -> str:
        """Create ``vhost`` with full rights for the broker user; returns its AMQP URI."""
        user = self.amqp.username or "guest"
        self.call("PUT", f"/api/vhosts/{urllib.parse.quote(vhost, safe='')}")
        self.call("PUT", f"/api/permissions/{urllib.parse.quote(vhost, safe='')}/{user}",
                  {"configure": ".*", "write": ".*", "read": ".*"})
        return self.amqp._replace(path="/" + vhost).geturl()

    def delete_vhost(self, vhost: str) -> None:
        self.call("DELETE", f"/api/vhosts/{urllib.parse.quote(vhost, safe='')}")

    def get(self, path: str):
        request = urllib.request.Request(f"{self.api.scheme}://{self.api.hostname}:{self.api.port}{path}")
        token = base64.b64encode(f"{self.api.username}:{self.api.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def queues(self, vhost: str) -> list[str]:
        return [q["name"] for q in self.get(f"/api/queues/{urllib.parse.quote(vhost, safe='')}")]

    def bindings(self, vhost: str) -> list[tuple[str, str, str]]:
        """(source exchange, destination, routing key) of every binding in ``vhost``."""
        return [(b["source"], b["destination"], b["routing_key"])
                for b in self.get(f"/api/bindings/{urllib.parse.quote(vhost, safe='')}")]

    def import_definitions(self, vhost: str, definitions: dict) -> None:
        self.call("POST", f"/api/definitions/{urllib.parse.quote(vhost, safe='')}", definitions)
