"""The store a nameko worker uses, and the relay and projection loops beside it.

SQLite and psycopg2 calls block the OS thread they run on. Every store call made by a
worker, the relay or a projection therefore runs on eventlet's thread pool (``tpool``), so
one slow write never freezes the service's other workers.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import random
import socket
import time
import uuid
from typing import Callable, Iterable, Optional

import eventlet
import sqlalchemy as sa
from eventlet import tpool
from eventlet.queue import Empty, LightQueue
from eventlet.semaphore import Semaphore
from nameko.extensions import DependencyProvider, SharedExtension

from .. import config as cfg
from ..oslocks import os_logging_locks
from ..envelope import SYSTEM, Actor, Envelope
from ..projections import Projection, catch_up, checkpoint_name
from ..registry import EventRegistry
from ..relay import Relay
from ..errors import ServiceUnavailable
from ..store import CommandRace, EventStore, StoreError, WrongExpectedVersion
from ..uow import CommandId, UnitOfWork, run_in_transaction
from .rpc import rpc  # replies that ride out a broker outage

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


@dataclasses.dataclass(frozen=True)
class Setup:
    """What a service's composition root (``build_context``) is given to build its context."""

    service: str            # the running name of this service
    config: dict            # nameko's config
    node_id: str            # the node (street office) events are born on
    prefix: str             # read-model tables are named ``<prefix><table>``
    clock: Callable[[], dt.datetime]  # aware UTC now (``ONEGRID_CLOCK`` in tests)

    @classmethod
    def of(cls, service: str, config: dict) -> "Setup":
        """The setup of ``service`` under ``config`` (a container's, or a command line's)."""
        return cls(service=service, config=config, node_id=cfg.node_id(config),
                   prefix=cfg.table_prefix(service, config), clock=cfg.clock(config))

    def source(self, logical: str) -> str:
        """The running name of another service (``ONEGRID_SERVICE_NAMES``)."""
        return cfg.service_name(self.config, logical)


class StoreKeeper(SharedExtension):
    """One per service container: opens the store, runs the relay and the projections."""

    def __init__(self):
        self.store: Optional[EventStore] = None
        self.registry = EventRegistry()
        self.projections: list[Projection] = []
        self.redact: Optional[Callable[[Envelope], Envelope]] = None
        self.build_context: Optional[Callable[[Setup], object]] = None
        self.projection_factory: Optional[Callable[[object], Iterable[Projection]]] = None
        self.context = None
        self.relay: Optional[Relay] = None
        self._running = False
        self._wakeups: list[_Wakeup] = []
        self.holder = f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self._held: set[str] = set()  # the projections whose lease this replica holds
        self._folding: dict[str, Semaphore] = {}

    def setup(self):
        # store calls log from tpool threads (SQLAlchemy does): logging's locks must not be green
        os_logging_locks()
        config = self.container.config
        self.service = self.container.service_name
        self.store = _wait_for_database(self.service, config)
        self.setup_info = Setup.of(self.service, config)
        if self.build_context is not None:
            self.context = self.build_context(self.setup_info)
        if self.projection_factory is not None:
            self.projections.extend(self.projection_factory(self.context))
        self.idle = float(config.get("ONEGRID_POLL_SECONDS", 0.5))
        self.lease_ttl = float(config.get("ONEGRID_LEASE_SECONDS", 10))
        # a projection behind whose checkpoint stands still this long is folded by settle
        self.settle_grace = float(config.get("ONEGRID_SETTLE_GRACE", max(0.5, 3 * self.idle)))
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
        self.container.spawn_managed_thread(self._prune_commands,
                                            identifier=f"{self.service}.prune")
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

    def _lease(self, projection: Projection) -> str:
        return f"{checkpoint_name(projection)}:{self.service}"

    def _run_projection(self, projection: Projection, wake: _Wakeup):
        lease, backoff = self._lease(projection), 0.5
        renew_at = 0.0  # taking or renewing the lease is a write: once a third of its ttl
        while self._running:
            try:
                if time.monotonic() >= renew_at:
                    if not tpool.execute(self.store.try_lease, lease, self.holder, self.lease_ttl):
                        renew_at = 0.0
                        self._held.discard(projection.name)
                        eventlet.sleep(self.lease_ttl / 3)
                        continue
                    self._held.add(projection.name)
                    renew_at = time.monotonic() + self.lease_ttl / 3
                if not tpool.execute(catch_up, self.store, projection, max_pages=1):
                    wake.wait(self.idle)
                backoff = 0.5
            except StoreError:
                eventlet.sleep(0.05)  # another replica moved the checkpoint first
            except Exception:
                log.exception("projection %s failed; retrying in %.1fs", projection.name, backoff)
                eventlet.sleep(backoff)
                backoff = min(backoff * 2, 5)  # a database back from a restart is used soon
        try:  # a clean stop hands the projection to another replica at once
            tpool.execute(self.store.release_lease, lease, self.holder)
        except Exception:
            log.warning("could not release the lease %s", lease)

    def fold(self, projection: Projection) -> None:
        """Fold ``projection`` here and now: ``settle`` found its runner silent.

        Another replica's lease on it may belong to a process that died (its lease lasts
        until it expires). Folding beside any other runner is safe: each page moves the
        checkpoint by compare-and-set in the transaction that applies it, so one of two
        runners of a page rolls back. Taking the lease first succeeds once a dead holder's
        lease expired, and makes this replica the projection's runner from then on.
        """
        lock = self._folding.setdefault(projection.name, Semaphore())
        if not lock.acquire(blocking=False):
            return  # another worker of this replica is folding it right now
        try:
            if tpool.execute(self.store.try_lease, self._lease(projection), self.holder,
                             self.lease_ttl):
                self._held.add(projection.name)
            log.info("settle folds %s of %s itself: its runner is silent", projection.name,
                     self.service)
            tpool.execute(catch_up, self.store, projection)
        except StoreError:
            pass  # another runner moved the checkpoint first: it is alive after all
        except Exception as error:
            log.warning("settle could not fold %s of %s: %s", projection.name, self.service,
                        error)
        finally:
            lock.release()

    def _prune_commands(self):
        """Forget command ids older than ``ONEGRID_COMMAND_DAYS`` (7), once an hour."""
        keep = dt.timedelta(days=float(self.container.config.get("ONEGRID_COMMAND_DAYS", 7)))
        while self._running:
            try:
                tpool.execute(self.store.prune_commands,
                              dt.datetime.now(dt.timezone.utc) - keep)
            except Exception:
                log.warning("could not prune the command ids of %s", self.service)
            for _ in range(3600):
                if not self._running:
                    return
                eventlet.sleep(1)

    def register(self, registry: EventRegistry, projections,
                 redact: Optional[Callable[[Envelope], Envelope]] = None, context=None):
        for spec in registry:
            self.registry.register(spec.event_type, spec.schema, version=spec.version,
                                   upcasters=spec.upcasters, event_class=spec.event_class)
        if callable(projections):
            self.projection_factory = projections
        else:
            self.projections.extend(projections)
        if redact is not None:
            self.redact = redact
        if context is not None:
            self.build_context = context


class WorkerStore:
    """What a worker gets from ``Store``: commands and reads that don't block the loop."""

    #: a command reloads and decides again this many times when a stream moved on meanwhile
    RETRIES = 10
    #: then it steps back a random moment and tries again, this many times
    BACKOFFS = 4

    def __init__(self, keeper: StoreKeeper, worker_ctx):
        self._keeper = keeper
        self._store = keeper.store
        self.registry = keeper.registry
        self.worker_ctx = worker_ctx

    @property
    def node_id(self) -> str:
        """The node this service runs on (its events are born there)."""
        return self._store.node_id

    @property
    def context(self):
        """The service's context, built once per container by its ``build_context``."""
        return self._keeper.context

    def command(self, fn: Callable[[UnitOfWork], object], *, actor: Actor = SYSTEM,
                correlation_id: Optional[str] = None, causation_id: Optional[str] = None,
                retries: int = RETRIES, backoffs: int = BACKOFFS, settle: bool = False,
                command: Optional[CommandId] = None):
        """Run ``fn(uow)`` in one transaction and return its result.

        A version conflict reloads and decides again at once, ``retries`` times; then the
        command steps back a random, growing moment (so racing workers on a hot stream
        spread out) up to ``backoffs`` times, and at last the conflict reaches the caller
        with nothing stored. With ``settle``, return only once this service's read models
        show the change, so the caller reads its own writes (see ``settle``). With a
        ``command`` id the command runs at most once (``uow.run_in_transaction``). A database
        that is away raises ServiceUnavailable: nothing was recorded, a retry is safe.
        """
        for attempt in range(backoffs + 1):
            try:
                result, recorded = _available(
                    tpool.execute, run_in_transaction, self._store, self.registry, fn,
                    retries=retries, command=command, actor=actor,
                    correlation_id=correlation_id, causation_id=causation_id)
                break
            except (WrongExpectedVersion, CommandRace):
                if attempt == backoffs:
                    raise
                eventlet.sleep(random.uniform(0, 0.01 * 2 ** attempt))
        if recorded:
            self._keeper.appended()
            if settle:
                self.settle()
        return result

    def query(self, fn: Callable[[UnitOfWork], object]):
        """Run ``fn(q)`` on one consistent snapshot: ``q.load``, ``q.read_stream``, ``q.connection``.

        Nothing can be recorded through ``q``; use it for reads of aggregates and read models.
        """
        def run():
            with self._store.snapshot() as tx:
                return fn(UnitOfWork(tx, self.registry, read_only=True))
        return _available(tpool.execute, run)

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until every projection of this service has folded the log as it is now.

        Projections are folded after the commit, by whichever replica holds their lease;
        a command whose caller will read a projection next waits here for it (a poll every
        few milliseconds, usually one fold). After ``timeout`` it returns anyway: the change
        is stored, only the read model is late; so it does when the database went away.

        A projection that is behind and whose checkpoint has not moved for
        ``ONEGRID_SETTLE_GRACE`` seconds while another replica holds its lease is folded
        here (``StoreKeeper.fold``): a replica killed a moment ago keeps its leases until
        they expire, and settle does not wait that long for it.
        """
        keeper = self._keeper
        projections = list(keeper.projections)
        if not projections:
            return
        store = self._store
        deadline = time.monotonic() + timeout
        still: dict[str, tuple[int, float]] = {}  # name -> (checkpoint, seen there since)

        def behind():
            late = []
            for p in projections:
                position = store.get_position(checkpoint_name(p))
                if position < target:
                    late.append((p, position))
            return late

        try:
            target = tpool.execute(store.last_position)
            while late := tpool.execute(behind):
                now = time.monotonic()
                if now > deadline:
                    log.warning("read models of %s still behind position %s after %.0fs",
                                keeper.service, target, timeout)
                    return
                for projection, position in late:
                    seen = still.get(projection.name)
                    if seen is None or seen[0] != position:
                        still[projection.name] = (position, now)
                    elif now - seen[1] >= keeper.settle_grace \
                            and projection.name not in keeper._held:
                        keeper.fold(projection)
                        still.pop(projection.name)
                eventlet.sleep(0.005)
        except sa.exc.DBAPIError as error:
            log.warning("%s cannot settle its read models, the database is away (%s)",
                        keeper.service, type(error.orig).__name__)

    def read_stream(self, stream_id: str, after_version: int = 0,
                    until_version: Optional[int] = None) -> list[Envelope]:
        """One stream of the log, as stored (private fields included)."""
        return tpool.execute(self._store.read_stream, stream_id, after_version, until_version)

    def read_log(self, after_position: int = 0, limit: int = 1000) -> list[Envelope]:
        """A page of the whole log, as stored."""
        return tpool.execute(self._store.read_all, after_position, limit)

    def public(self, envelopes: Iterable[Envelope]) -> list[Envelope]:
        """The envelopes as they may leave the service (private fields redacted)."""
        return [self._keeper._redact(e) for e in envelopes]


def _available(call, *args, **kwargs):
    """``call(*args)``, with a lost or refused database connection as ServiceUnavailable."""
    try:
        return call(*args, **kwargs)
    except sa.exc.DBAPIError as error:
        if not isinstance(error, sa.exc.OperationalError) and not error.connection_invalidated:
            raise
        raise ServiceUnavailable(
            f"the database is not answering ({type(error.orig).__name__}): retry with the "
            "same command id (a command that did reach the store is answered with its first "
            "result, never run twice)") from None


def _wait_for_database(service: str, config: dict):
    """Open the service's store, waiting for a database that is not up yet (one log line)."""
    since, delay = None, 0.5
    while True:
        try:
            store = tpool.execute(cfg.open_service_store, service, config)
        except sa.exc.DBAPIError as error:
            if not isinstance(error, sa.exc.OperationalError) and not error.connection_invalidated:
                raise
            if since is None:
                since = time.monotonic()
                url = sa.engine.make_url(cfg.database_url(service, config))
                log.warning("%s waits for its database at %s (%s)", service,
                            url.render_as_string(hide_password=True), type(error.orig).__name__)
            eventlet.sleep(delay)
            delay = min(delay * 2, 5)
            continue
        if since is not None:
            log.warning("%s: its database answers after %.0fs", service, time.monotonic() - since)
        return store


class Store(DependencyProvider):
    """Declare on a service: ``store = Store(REGISTRY, context=build_context, projections=fn)``.

    The composition root: ``context(setup) -> ctx`` builds, once per container, what the
    service's handlers, reactions and reads are given (tables, clock, policy data);
    ``projections(ctx) -> [Projection]`` (or a plain list) are its read models.
    ``redact(envelope) -> envelope`` strips private fields from every event that leaves
    the service: what the relay publishes and what ``read_stream``/``read_log`` return.
    """

    keeper = StoreKeeper()

    def __init__(self, registry: Optional[EventRegistry] = None, *,
                 context: Optional[Callable[[Setup], object]] = None,
                 projections=(),
                 redact: Optional[Callable[[Envelope], Envelope]] = None):
        self._registry = registry or EventRegistry()
        self._context = context
        self._projections = projections if callable(projections) else list(projections)
        self._redact = redact

    def setup(self):
        self.keeper.register(self._registry, self._projections, self._redact, self._context)

    def get_dependency(self, worker_ctx):
        return WorkerStore(self.keeper, worker_ctx)


class EventLogRpc:
    """Mixin for a service class: other services and dashboards read its log over RPC."""

    store: Store

    @rpc
    def read_stream(self, stream_id, after_version=0, until_version=None):
        events = self.store.read_stream(stream_id, after_version, until_version)
        return [e.to_message() for e in self.store.public(events)]

    #: with ``event_types``, ``read_log`` scans at most this many pages of the log per call
    READ_LOG_SCAN_PAGES = 10

    @rpc
    def read_log(self, after_position=0, limit=1000, event_types=None):
        """The log after ``after_position``, in position order: at most ``limit`` events.

        With ``event_types`` only events of those types are shipped, and the answer is
        ``{"events": [...], "position": p}``: the log was scanned up to position ``p``, so
        every event of those types at or before ``p`` is in this answer or an earlier one,
        and the next call asks for what follows ``p``. A call scans a few pages at most.
        """
        limit, after = max(1, min(int(limit), 5000)), int(after_position)
        if event_types is None:
            return [e.to_message() for e in self.store.public(self.store.read_log(after, limit))]
        wanted, found, position = set(event_types), [], after
        for _ in range(self.READ_LOG_SCAN_PAGES):
            page = self.store.read_log(position, limit)
            for envelope in page:
                position = envelope.position
                if envelope.event_type in wanted:
                    found.append(envelope)
                    if len(found) == limit:
                        break
            if len(found) == limit or len(page) < limit:
                break  # a full answer, or the end of the log
        return {"events": [e.to_message() for e in self.store.public(found)],
                "position": position}
