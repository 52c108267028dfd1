"""Catch-up subscriptions: a consumer reads each source's log from where it got to.

The broker hands an event only to the queues bound when it is published: an event
published before a consumer's queue existed (the consumer started later, or its queue was
deleted) never reaches it, and the inbox's gap fetch repairs a stream only when a later
event of it arrives. So, beside live delivery, the ``Inbox`` runs one ``CatchUp`` per
source of its ``REACTIONS`` table:

- it keeps, in the consumer's own store, a named position per (consumer, source):
  ``catchup:<consumer>:<source>``, how far it has read the source's log;
- on start, and then every ``ONEGRID_CATCHUP_SECONDS`` (30; 0 turns it off), it reads the
  source's log after that position over RPC (``read_log(after, limit, event_types)``, only
  the types it reacts to), page by page, and hands each page to the inbox in log order,
  the same path as live delivery (``Inbox.submit`` → ``_react``'s version check): an event
  the live queue brought already is a duplicate, nothing is applied twice, each stream is
  applied in version order (the log is in position order, which within a stream is
  version order; versions of types it does not read are fetched by the inbox's gap fetch);
- the position moves on only after the page's events are committed, and never past an
  event whose reaction failed (that event is tried again next period, the rest of the log
  is still read);
- replicas of a consumer take a lease, ``catchup:<consumer>:<source>``, so one of them
  catches up at a time (without it both would, safely: the inbox is idempotent);
- a source that does not answer (down, or not an ``EventLogRpc``) is logged once per
  failure spell and asked again next period. Live delivery never waits for any of this.

The RPCs go through a standalone proxy (its own connection and reply queue, one per
catch-up), as they run in a managed thread, not a worker.
"""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Optional

import eventlet
from eventlet import tpool
from eventlet.greenpool import GreenPool
from eventlet.semaphore import Semaphore
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy

from .. import config as cfg
from ..envelope import Envelope
from ..store import TrackingConflict
from .store import _Wakeup

if TYPE_CHECKING:  # pragma: no cover
    from .inbox import Inbox

log = logging.getLogger(__name__)

#: seconds between two catch-ups of a source (``ONEGRID_CATCHUP_SECONDS``)
CATCHUP_SECONDS = 30.0
#: events asked for per ``read_log`` call, and handed to the inbox at once
PAGE = 500
#: seconds to wait for the source's answer
RPC_TIMEOUT = 30.0
#: streams whose gaps are filled at the same time
GAP_STREAMS = 50


class SourceSilent(Exception):
    """The source did not answer an RPC in time."""


def position_name(consumer: str, source: str) -> str:
    return f"catchup:{consumer}:{source}"


class CatchUp:
    """Reads one source's log into one consumer's inbox (a managed thread of the Inbox)."""

    def __init__(self, inbox: "Inbox", source: str, period: float):
        self.inbox = inbox
        self.source = source  # the logical name, as in REACTIONS and the inbox rows
        self.config = inbox.container.config
        self.running_name = cfg.service_name(self.config, source)
        self.event_types = sorted(inbox.reactions[source])
        self.period = period
        self.name = position_name(inbox.consumer, source)
        self._proxy_owner: Optional[ServiceRpcProxy] = None
        self._proxy = None
        self._rpc_lock = Semaphore()  # the standalone proxy serves one call at a time
        self._wake = _Wakeup()
        self._running = True
        self._leased = False
        self._silent = False  # in a spell of the source not answering (logged once)
        self._held = False  # in a spell of a reaction failing (logged once)

    @classmethod
    def start_all(cls, inbox: "Inbox") -> list["CatchUp"]:
        """Start a catch-up for each source the inbox reacts to."""
        period = float(inbox.container.config.get("ONEGRID_CATCHUP_SECONDS", CATCHUP_SECONDS))
        if period <= 0:
            return []
        catchups = [cls(inbox, source, period)
                    for source, table in inbox.reactions.items() if table]
        for catchup in catchups:
            inbox.container.spawn_managed_thread(
                catchup.run, identifier=f"{inbox.consumer}.catchup.{catchup.source}")
        return catchups

    def stop(self):
        self._running = False
        self._wake.set()

    def run(self):
        try:
            while self._running and self.inbox._running:
                try:
                    self.once()
                except Exception:  # never let it kill the container: try again next period
                    log.exception("catch-up of %s from %s failed; retrying in %ss",
                                  self.inbox.consumer, self.running_name, self.period)
                self._wake.wait(self.period)
        finally:
            self._close()
            if self._leased:
                try:  # a clean stop hands the catch-up to another replica at once
                    tpool.execute(self.inbox.keeper.store.release_lease, self.name,
                                  self.inbox.keeper.holder)
                except Exception:
                    log.warning("could not release the lease %s", self.name)

    # one catch-up -----------------------------------------------------------------------

    def once(self) -> int:
        """Read the source's log after the saved position to its end; how many events were
        newly applied. Stops early when the source does not answer or another replica
        holds the lease."""
        store = self.inbox.keeper.store
        saved = cursor = tpool.execute(store.get_position, self.name)
        applied, failed_at = 0, None
        while self._running:
            page = self._read(cursor)
            if page is None:
                break  # the source did not answer: next period
            events, scanned = page
            if scanned <= cursor:
                break  # at the end of the log
            if not self._lease():
                break  # another replica is catching up
            outcome, failed = self._apply(events)
            applied += outcome
            if failed is not None and failed_at is None:
                failed_at = failed
            # saved only once the page is committed, and never past a failed event
            reached = scanned if failed_at is None else failed_at - 1
            if reached > saved:
                try:
                    tpool.execute(self._save, saved, reached)
                except TrackingConflict:
                    break  # another replica moved it (our lease ran out): it carries on
                saved = reached
            cursor = scanned
        if failed_at is None and self._held:
            self._held = False
            log.info("catch-up of %s from %s is past the failed event", self.inbox.consumer,
                     self.running_name)
        return applied

    def _read(self, after: int) -> Optional[tuple[list[Envelope], int]]:
        try:
            reply = self._call("read_log", after, PAGE, self.event_types)
            events = [Envelope.from_message(m) for m in reply["events"]]
            scanned = int(reply["position"])
        except Exception as error:
            if not self._silent:
                self._silent = True
                log.warning("catch-up of %s: %s does not answer read_log (%s: %s); asking "
                            "again every %ss", self.inbox.consumer, self.running_name,
                            type(error).__name__, error, self.period)
            return None
        if self._silent:
            self._silent = False
            log.info("catch-up of %s: %s answers again", self.inbox.consumer, self.running_name)
        return events, scanned

    def _apply(self, events: list[Envelope]) -> tuple[int, Optional[int]]:
        """Apply a page through the inbox; (how many were applied, the position of the first
        event that failed or None)."""
        if not events:
            return 0, None
        outcomes = self.inbox.submit_many(self.source, events)
        applied = sum(1 for o in outcomes if o == "applied")
        # anything else (a gap: versions of types not read here; a conflict with a replica;
        # a failed reaction) goes through the live path's loop, stream by stream in order
        again: dict[str, list[Envelope]] = {}
        for envelope, outcome in zip(events, outcomes):
            if outcome not in ("applied", "duplicate"):
                again.setdefault(envelope.stream_id, []).append(envelope)
        failures: list[tuple[Envelope, Exception]] = []

        def redo(stream_events):
            count = 0
            for index, envelope in enumerate(stream_events):
                try:
                    if self.inbox.deliver(self.source, envelope, self._fetch) == "applied":
                        count += 1
                except Exception as error:
                    failures.append((envelope, error))
                    return count  # the stream's later events wait behind this one
            return count

        if again:
            pool = GreenPool(GAP_STREAMS)
            applied += sum(pool.imap(redo, again.values()))
        if not failures:
            return applied, None
        first, error = min(failures, key=lambda f: f[0].position)
        if not self._held:
            self._held = True
            log.warning("catch-up of %s from %s: %s/%s v%d (%s) failed, tried again next "
                        "period: %s: %s", self.inbox.consumer, self.running_name, self.source,
                        first.stream_id, first.version, first.event_type,
                        type(error).__name__, error)
        return applied, first.position

    def _fetch(self, source: str, envelope: Envelope, applied: int) -> list[Envelope]:
        from .inbox import checked_gap
        raw = self._call("read_stream", envelope.stream_id, applied, envelope.version - 1)
        return checked_gap(source, envelope, applied, raw)

    def _lease(self) -> bool:
        keeper = self.inbox.keeper
        self._leased = tpool.execute(keeper.store.try_lease, self.name, keeper.holder,
                                     keeper.lease_ttl)
        return self._leased

    def _save(self, previous: int, position: int) -> None:
        with self.inbox.keeper.store.transaction() as tx:
            tx.move_position(self.name, previous, position)

    # the RPC ----------------------------------------------------------------------------

    def _call(self, method: str, *args):
        with self._rpc_lock:
            started = time.monotonic()
            try:
                if self._proxy is None:
                    self._proxy_owner = ServiceRpcProxy(self.running_name, self.config,
                                                        timeout=RPC_TIMEOUT)
                    self._proxy = self._proxy_owner.start()
                remaining = max(RPC_TIMEOUT - (time.monotonic() - started), 1.0)
                with eventlet.Timeout(remaining + 1.0, SourceSilent(
                        f"no answer to {method} within {RPC_TIMEOUT}s")):
                    return getattr(self._proxy, method)(*args)
            except RemoteError:
                raise  # the source answered (with an error): the proxy is fine
            except BaseException:
                self._close()  # a timeout or a broken connection: a new proxy next time
                raise

    def _close(self):
        owner, self._proxy_owner, self._proxy = self._proxy_owner, None, None
        if owner is not None:
            try:
                owner.stop()
            except Exception:  # pragma: no cover - its connection is gone already
                pass

