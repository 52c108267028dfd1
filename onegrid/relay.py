"""The relay: publishes committed events from the store's log to the service's exchange.

The log itself is the outbox. The relay reads a page after its saved position, publishes it
with publisher confirms and many messages in flight, waits until the broker has confirmed
all of them, then saves the new position. A crash between publishing and saving means the
page is published again (at least once); nothing is ever skipped.

Only the replica holding the ``relay:<service>`` lease publishes, so several replicas of a
service run one active relay. A replica that loses the lease stops at the next page.
"""
from __future__ import annotations

import logging
import socket
import time
import uuid
from typing import Callable, Optional

from .amqp import (BROKER_ERRORS, connect, declare_events_exchange, event_message,
                   events_exchange, safe_uri)
from .envelope import Envelope
from .store import EventStore

log = logging.getLogger(__name__)


class PublishRefused(Exception):
    """The broker nacked a message; the page will be published again."""


def _database_away(error: Exception) -> bool:
    """A lost or refused database connection (SQLAlchemy's OperationalError or invalidated)."""
    import sqlalchemy as sa
    return isinstance(error, sa.exc.DBAPIError) and (
        isinstance(error, sa.exc.OperationalError) or error.connection_invalidated)


def _direct(fn, *args, **kwargs):
    return fn(*args, **kwargs)


class Relay:
    def __init__(self, store: EventStore, amqp_uri: str, service: str, *,
                 page_size: int = 1000, lease_ttl: float = 10.0, holder: Optional[str] = None,
                 confirm_timeout: float = 30.0, blocking: Callable = _direct,
                 redact: Optional[Callable[[Envelope], Envelope]] = None):
        self.store = store
        self.amqp_uri = amqp_uri
        self.service = service
        self.exchange = events_exchange(service)
        self.page_size = page_size
        self.lease_ttl = lease_ttl
        self.lease_name = f"relay:{service}"
        self.position_name = f"relay:{service}"
        self.holder = holder or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self.confirm_timeout = confirm_timeout
        self.blocking = blocking  # runs store calls (eventlet's tpool.execute in a service)
        self.redact = redact  # strips what must not leave the service (a reporter's phone)
        self._conn = None
        self._channel = None
        self._unconfirmed: set[int] = set()
        self._refused = False
        self._lease_until = 0.0
        self.published = 0

    # broker -----------------------------------------------------------------------------

    def _open(self):
        if self._channel is not None:
            return self._channel
        self._conn = connect(self.amqp_uri, retries=0)  # ``run`` does the waiting
        channel = self._conn.channel()
        declare_events_exchange(channel, self.service)
        channel.confirm_select()
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        self._channel, self._next_tag = channel, 1
        return channel

    def close(self):
        if self._conn is not None:
            try:
                self._conn.release()
            except Exception:  # pragma: no cover - closing a dead connection
                pass
        self._conn = self._channel = None

    def _on_ack(self, tag, multiple):
        if multiple:
            self._unconfirmed = {t for t in self._unconfirmed if t > tag}
        else:
            self._unconfirmed.discard(tag)

    def _on_nack(self, tag, multiple):
        self._refused = True

    # one page ---------------------------------------------------------------------------

    def holds_lease(self) -> bool:
        now = time.monotonic()
        if now < self._lease_until - self.lease_ttl * 2 / 3:
            return True  # renewed recently enough
        if self.blocking(self.store.try_lease, self.lease_name, self.holder, self.lease_ttl):
            self._lease_until = now + self.lease_ttl
            return True
        self._lease_until = 0.0
        return False

    def publish_page(self) -> int:
        """Publish the next page of the log; returns how many events it published."""
        position = self.blocking(self.store.get_position, self.position_name)
        page = self.blocking(self.store.read_all, position, self.page_size)
        if not page:
            return 0
        try:
            channel = self._open()
            first_tag = self._next_tag
            self._next_tag += len(page)
            self._unconfirmed, self._refused = set(range(first_tag, self._next_tag)), False
            for envelope in page:
                if self.redact is not None:
                    envelope = self.redact(envelope)
                channel.basic_publish(event_message(self.service, envelope),
                                      exchange=self.exchange, routing_key=envelope.event_type)
            self._wait_for_confirms()
        except Exception:
            self.close()
            raise
        self.blocking(self.store.set_position, self.position_name, page[-1].position)
        self.published += len(page)
        return len(page)

    def _wait_for_confirms(self):
        deadline = time.monotonic() + self.confirm_timeout
        while self._unconfirmed and not self._refused:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"broker did not confirm {len(self._unconfirmed)} events")
            try:
                self._conn.drain_events(timeout=min(remaining, 1.0))
            except socket.timeout:
                continue
        if self._refused:
            raise PublishRefused(f"the broker refused events of {self.service}")

    def drain(self) -> int:
        """Publish until the log is exhausted (benchmarks, tests, the CLI)."""
        total = 0
        while True:
            count = self.publish_page()
            if not count:
                return total
            total += count

    # the loop a service runs ------------------------------------------------------------

    def run(self, stopped: Callable[[], bool], sleep: Callable[[float], object],
            wait_for_append: Optional[Callable[[float], object]] = None, idle: float = 0.2):
        """Publish while holding the lease, until ``stopped()``; back off after errors.

        A broker that is away (not there yet at start, or gone for minutes) is waited for:
        one log line when the relay starts waiting, one when it runs again, and a
        retry every few seconds between (the page is published again, never skipped).
        """
        backoff, waiting_since = 0.5, None
        while not stopped():
            try:
                if not self.holds_lease():
                    sleep(self.lease_ttl / 3)
                    continue
                published = self.publish_page()
                if waiting_since is not None:
                    log.warning("relay of %s runs again, after %.0fs of waiting",
                                self.service, time.monotonic() - waiting_since)
                    waiting_since = None
                if published:
                    backoff = 0.5
                    continue
                (wait_for_append or sleep)(idle)
            except BROKER_ERRORS as away:
                if waiting_since is None:
                    waiting_since = time.monotonic()
                    log.warning("relay of %s waits for the broker at %s (%s); the log is "
                                "kept and published when it answers", self.service,
                                safe_uri(self.amqp_uri), away)
                sleep(backoff)
                backoff = min(backoff * 2, 5)
            except Exception as error:
                if _database_away(error):
                    if waiting_since is None:
                        waiting_since = time.monotonic()
                        log.warning("relay of %s waits for its database (%s)", self.service,
                                    type(getattr(error, "orig", error)).__name__)
                else:
                    log.exception("relay of %s failed; retrying in %.1fs", self.service, backoff)
                sleep(backoff)
                backoff = min(backoff * 2, 5)
        self.close()
        try:
            self.blocking(self.store.release_lease, self.lease_name, self.holder)
        except Exception:  # pragma: no cover - shutting down anyway
            log.exception("could not release the relay lease of %s", self.service)
