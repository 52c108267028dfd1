"""The store a nameko worker uses, and the relay and projection loops beside it.

SQLite and psycopg2 calls block the OS thread they run on. Every store call made by a
worker, the relay or a projection therefore runs on eventlet's thread pool (``tpool``), so
one slow write never freezes the service's other workers.
"""
from __future__ import annotations

import logging
import socket
import time
import uuid
from typing import Callable, Iterable, Optional

import eventlet
from eventlet import tpool
from eventlet.queue import Empty, LightQueue
from nameko.extensions import DependencyProvider, SharedExtension
from nameko.rpc import rpc

from .. import config as cfg
from ..envelope import SYSTEM, Actor, Envelope
from ..projections import Projection, catch_up, checkpoint_name
from ..registry import EventRegistry
from ..relay import Relay
from ..store import EventStore, StoreError
from ..uow import UnitOfWork, run_in_transaction

log = logging.getLogger(__name__)


class _Wakeup:
    """A level-triggered signal between greenthreads: 'something was appended'."""

    def __init__(self):
        self._queue = LightQueue(maxsize=1)

    def set(self):
        try:
            self._queue.put_nowait(True)
        except eventlet.queue.Full:
            pass

    def wait(self, timeout):
        try:
            self._queue.get(timeout=timeout)
        except Empty:
            pass


class StoreKeeper(SharedExtension):
    """One per service container: opens the store, runs the relay and the projections."""

    def __init__(self):
        self.store: Optional[EventStore] = None
        self.registry = EventRegistry()
        self.projections: list[Projection] = []
        self.redact: Optional[Callable[[Envelope], Envelope]] = None
        self.relay: Optional[Relay] = None
        self._running = False
        self._wakeups: list[_Wakeup] = []
        self.holder = f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"

    def setup(self):
        config = self.container.config
        self.service = self.container.service_name
        self.store = tpool.execute(cfg.open_service_store, self.service, config)
        self.idle = float(config.get("ONEGRID_POLL_SECONDS", 0.5))
        self.lease_ttl = float(config.get("ONEGRID_LEASE_SECONDS", 10))
        if config.get("ONEGRID_RELAY", True) not in (False, "false", "0", 0):
            self.relay = Relay(self.store, cfg.amqp_uri(config), self.service,
                               lease_ttl=self.lease_ttl, holder=self.holder,
                               blocking=tpool.execute, redact=self._redact)

    def start(self):
        self._running = True
        if self.relay is not None:
            wake = self._wakeup()
            self.container.spawn_managed_thread(
                lambda: self.relay.run(self._stopped, eventlet.sleep, wake.wait, self.idle),
                identifier=f"{self.service}.relay")
        for projection in self.projections:
            tpool.execute(projection.create, self.store.engine)
            wake = self._wakeup()
            self.container.spawn_managed_thread(
                lambda p=projection, w=wake: self._run_projection(p, w),
                identifier=f"{self.service}.projection.{projection.name}")

    def stop(self):
        self._running = False
        for wake in self._wakeups:
            wake.set()

    def kill(self):
        self.stop()

    def _redact(self, envelope: Envelope) -> Envelope:
        return self.redact(envelope) if self.redact is not None else envelope

    def _stopped(self):
        return not self._running

    def _wakeup(self) -> _Wakeup:
        wake = _Wakeup()
        self._wakeups.append(wake)
        return wake

    def appended(self):
        """Tell the relay and projections that new events were committed here."""
        for wake in self._wakeups:
            wake.set()

    def _run_projection(self, projection: Projection, wake: _Wakeup):
        lease, backoff = f"{checkpoint_name(projection)}:{self.service}", 0.5
        renew_at = 0.0  # taking or renewing the lease is a write: once a third of its ttl
        while self._running:
            try:
                if time.monotonic() >= renew_at:
                    if not tpool.execute(self.store.try_lease, lease, self.holder, self.lease_ttl):
                        renew_at = 0.0
                        eventlet.sleep(self.lease_ttl / 3)
                        continue
                    renew_at = time.monotonic() + self.lease_ttl / 3
                if not tpool.execute(catch_up, self.store, projection, max_pages=1):
                    wake.wait(self.idle)
                backoff = 0.5
            except StoreError:
                eventlet.sleep(0.05)  # another replica moved the checkpoint first
            except Exception:
                log.exception("projection %s failed; retrying in %.1fs", projection.name, backoff)
                eventlet.sleep(backoff)
                backoff = min(backoff * 2, 30)

    def register(self, registry: EventRegistry, projections: Iterable[Projection],
                 redact: Optional[Callable[[Envelope], Envelope]] = None):
        for spec in registry:
            self.registry.register(spec.event_type, spec.schema, version=spec.version,
                                   upcasters=spec.upcasters, event_class=spec.event_class)
        self.projections.extend(projections)
        if redact is not None:
            self.redact = redact


class WorkerStore:
    """What a worker gets from ``Store``: commands and reads that don't block the loop."""

    def __init__(self, keeper: StoreKeeper, worker_ctx):
        self.keeper = keeper
        self.store = keeper.store
        self.registry = keeper.registry
        self.worker_ctx = worker_ctx

    def command(self, fn: Callable[[UnitOfWork], object], *, actor: Actor = SYSTEM,
                correlation_id: Optional[str] = None, causation_id: Optional[str] = None,
                retries: int = 5, settle: bool = False):
        """Run ``fn(uow)`` in one transaction (retried on a version conflict); returns its result.

        With ``settle``, return only once this service's read models show the change, so the
        caller reads its own writes (see ``settle``).
        """
        result, recorded = tpool.execute(
            run_in_transaction, self.store, self.registry, fn, retries=retries,
            actor=actor, correlation_id=correlation_id, causation_id=causation_id)
        if recorded:
            self.keeper.appended()
            if settle:
                self.settle()
        return result

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until every projection of this service has folded the log as it is now.

        Projections are folded after the commit, by whichever replica holds their lease;
        a command whose caller will read a projection next waits here for it (a poll every
        few milliseconds, usually one fold). After ``timeout`` it returns anyway: the change
        is stored, only the read model is late.
        """
        names = [checkpoint_name(p) for p in self.keeper.projections]
        if not names:
            return
        target = tpool.execute(self.store.last_position)
        deadline = time.monotonic() + timeout

        def behind():
            return [n for n in names if self.store.get_position(n) < target]

        while tpool.execute(behind):
            if time.monotonic() > deadline:
                log.warning("read models of %s still behind position %s after %.0fs",
                            self.keeper.service, target, timeout)
                return
            eventlet.sleep(0.005)

    def read(self, fn: Callable):
        """Run ``fn(connection)`` on a read-only connection."""
        def run():
            with self.store.reading() as conn:
                return fn(conn)
        return tpool.execute(run)

    def execute(self, fn: Callable, *args, **kwargs):
        """Run any blocking store call off the event loop."""
        return tpool.execute(fn, *args, **kwargs)

    def read_stream(self, stream_id: str, after_version: int = 0,
                    until_version: Optional[int] = None) -> list[Envelope]:
        return tpool.execute(self.store.read_stream, stream_id, after_version, until_version)

    def read_log(self, after_position: int = 0, limit: int = 1000) -> list[Envelope]:
        return tpool.execute(self.store.read_all, after_position, limit)

    def public(self, envelopes: Iterable[Envelope]) -> list[Envelope]:
        """The envelopes as they may leave the service (private fields redacted)."""
        return [self.keeper._redact(e) for e in envelopes]


class Store(DependencyProvider):
    """Declare on a service: ``store = Store(REGISTRY, projections=[...], redact=fn)``.

    ``redact(envelope) -> envelope`` strips private fields from every event that leaves
    the service: what the relay publishes and what ``read_stream``/``read_log`` return.
    """

    keeper = StoreKeeper()

    def __init__(self, registry: Optional[EventRegistry] = None,
                 projections: Iterable[Projection] = (),
                 redact: Optional[Callable[[Envelope], Envelope]] = None):
        self._registry = registry or EventRegistry()
        self._projections = list(projections)
        self._redact = redact

    def setup(self):
        self.keeper.register(self._registry, self._projections, self._redact)

    def get_dependency(self, worker_ctx):
        return WorkerStore(self.keeper, worker_ctx)


class EventLogRpc:
    """Mixin for a service class: other services and dashboards read its log over RPC."""

    store: Store

    @rpc
    def read_stream(self, stream_id, after_version=0, until_version=None):
        events = self.store.read_stream(stream_id, after_version, until_version)
        return [e.to_message() for e in self.store.public(events)]

    @rpc
    def read_log(self, after_position=0, limit=1000):
        limit = max(1, min(int(limit), 5000))
        return [e.to_message() for e in self.store.public(self.store.read_log(int(after_position), limit))]
