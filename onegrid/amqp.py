"""Small helpers over py-amqp/kombu shared by the relay, consumers and operator tools."""
from __future__ import annotations

import logging
import time
from typing import Callable, Optional

import amqp.exceptions
import eventlet
import kombu
import kombu.exceptions
from kombu.utils.url import maybe_sanitize_url

from .envelope import Envelope, dumps

log = logging.getLogger(__name__)

#: what a lost, refused or closing broker connection raises (py-amqp, kombu, sockets)
BROKER_ERRORS = (OSError, kombu.exceptions.OperationalError, amqp.exceptions.ConnectionError,
                 amqp.exceptions.RecoverableChannelError)


def events_exchange(service: str) -> str:
    """The topic exchange a service's events are published to (nameko's own name for it)."""
    return f"{service}.events"


def connect(amqp_uri: str, retries: int = 3, **kwargs) -> kombu.Connection:
    conn = kombu.Connection(amqp_uri, **kwargs)
    conn.ensure_connection(max_retries=retries)
    return conn


def safe_uri(amqp_uri: str) -> str:
    """The broker's address with its password masked, for log lines."""
    return maybe_sanitize_url(amqp_uri)


def wait_for_broker(conn: kombu.Connection, what: str, *, interval_max: float = 5.0,
                    logger: logging.Logger = log) -> kombu.Connection:
    """Connect ``conn``, waiting as long as the broker takes; one log line says who waits."""
    said = []

    def waiting(exc, interval):
        if not said:
            logger.warning("%s waits for the broker at %s (%s); retrying every %.0fs at most",
                           what, safe_uri(conn.as_uri()), exc, interval_max)
            said.append(time.monotonic())

    conn.ensure_connection(errback=waiting, max_retries=None, interval_start=0.5,
                           interval_step=0.5, interval_max=interval_max)
    if said:
        logger.warning("%s: the broker at %s answers after %.0fs", what,
                       safe_uri(conn.as_uri()), time.monotonic() - said[0])
    return conn


def patiently(call: Callable[[], object], what: str, *, patience: float,
              given_up: Optional[Callable[[], bool]] = None, interval_max: float = 5.0,
              logger: logging.Logger = log) -> bool:
    """``call()`` until it gets through the broker, for ``patience`` seconds at most.

    A broker error (``BROKER_ERRORS``) is retried with back-off; the first one is logged
    once, saying what waits. Returns True once ``call`` succeeded, False when ``patience``
    ran out or ``given_up()`` said to stop (the container is stopping). Any other error
    is raised at once.
    """
    started = time.monotonic()
    delay, said = 0.25, False
    while True:
        try:
            call()
        except BROKER_ERRORS as exc:
            waited = time.monotonic() - started
            if waited + delay > patience or (given_up is not None and given_up()):
                logger.error("%s: gave up after %.0fs without the broker (%s)", what, waited, exc)
                return False
            if not said:
                logger.warning("%s waits for the broker (%s); retrying for up to %.0fs",
                               what, exc, patience)
                said = True
            eventlet.sleep(delay)
            delay = min(delay * 2, interval_max)
            continue
        if said:
            logger.warning("%s: went through after %.0fs", what, time.monotonic() - started)
        return True


def declare_events_exchange(channel, service: str) -> None:
    # the same arguments nameko's EventDispatcher/EventHandler use, or RabbitMQ refuses one
    channel.exchange_declare(events_exchange(service), "topic", durable=True, auto_delete=False)


def event_message(service: str, envelope: Envelope):
    """The AMQP message for one event, in the form nameko's @event_handler decodes."""
    import amqp

    body = envelope.to_message()
    body["service"] = service
    return amqp.Message(
        dumps(body).encode(),
        content_type="application/json",
        content_encoding="utf-8",
        delivery_mode=2,
        message_id=envelope.event_id,
        correlation_id=envelope.correlation_id,
        application_headers={
            "nameko.correlation_id": envelope.correlation_id,
            "onegrid.stream": envelope.stream_id,
            "onegrid.version": envelope.version,
        },
    )
