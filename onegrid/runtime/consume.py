"""The entrypoint that consumes other services' events: retried, never dropped.

``@consume(REACTIONS)`` binds one durable queue per (source, consuming service) to the
source's exchange, for exactly the event types the service's ``REACTIONS`` table names, and
hands the method ``(source, envelope)``; the method calls ``self.inbox.apply(source, event)``
(``inbox.py``), which applies it once and in stream order.

nameko's own event handler acks a message whose handler raised. ``consume`` instead
republishes a failed message to a delay queue (exponential back-off) and, after the last
retry, to the service's dead-letter queue, where ``onegrid dlq`` lists and replays it. The
original is acked only after the broker confirmed the republish.
"""
from __future__ import annotations

import datetime as dt
import logging
import traceback
from functools import partial
from typing import Iterable

import kombu
from kombu import Exchange, Queue, binding
import eventlet
from nameko.containers import ContainerBeingKilled
from nameko.events import EventHandler
from eventlet.semaphore import Semaphore

from .. import config as cfg
from ..amqp import BROKER_ERRORS, events_exchange, patiently, wait_for_broker
from ..envelope import Envelope

log = logging.getLogger(__name__)

DEFAULT_RETRY_DELAYS = (1.0, 5.0, 30.0, 120.0)
#: seconds a republish (to a delay queue, to the dead letters) waits for an absent broker
DEFAULT_PATIENCE = 300.0
ATTEMPTS = "x-onegrid-attempts"


def queue_name(source: str, service: str) -> str:
    return f"evt-{source}--{service}"


def dead_letter_queue(service: str) -> str:
    return f"{service}.dead-letters"


def retry_queue(main: str, attempt: int) -> str:
    return f"{main}.retry.{attempt}"


def retry_delays(config: dict) -> tuple[float, ...]:
    raw = config.get("ONEGRID_RETRY_DELAYS")
    if raw is None:
        return DEFAULT_RETRY_DELAYS
    if isinstance(raw, str):
        raw = [x for x in raw.split(",") if x.strip()]
    return tuple(float(x) for x in raw)


def declare_consumer_queues(channel, source: str, service: str, event_types: Iterable[str],
                            delays: Iterable[float]) -> Queue:
    """Declare the main queue with its bindings, one delay queue per retry, the dead letters."""
    exchange = Exchange(events_exchange(source), type="topic", durable=True, auto_delete=False)
    main = queue_name(source, service)
    queue = Queue(main, bindings=[binding(exchange, routing_key=t) for t in event_types],
                  durable=True, auto_delete=False)
    queue(channel).declare()
    for attempt, delay in enumerate(delays, start=1):
        Queue(retry_queue(main, attempt), durable=True, queue_arguments={
            "x-message-ttl": int(delay * 1000),
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": main,
        })(channel).declare()
    Queue(dead_letter_queue(service), durable=True)(channel).declare()
    return queue


class Consume(EventHandler):
    """One source's queue of a ``@consume(REACTIONS)`` method (one instance per source)."""

    def __init__(self, source: str, event_types, **kwargs):
        self.source = source  # the logical name; the running one comes from the config
        self.event_types = sorted(event_types)
        super().__init__(source, self.event_types[0], reliable_delivery=True,
                         requeue_on_error=False, **kwargs)

    def setup(self):
        config = self.container.config
        service = self.container.service_name
        self.source_service = cfg.service_name(config, self.source)
        self.amqp_uri = cfg.amqp_uri(config)
        self.delays = retry_delays(config)
        self.queue = self._declare(service)
        self.dead_letters = dead_letter_queue(service)
        self.patience = float(config.get("ONEGRID_REPLY_PATIENCE", DEFAULT_PATIENCE))
        self._stopping = False
        # one quick reconnect per attempt: ``patiently`` does the waiting, and logs it
        self._publish_conn = kombu.Connection(self.amqp_uri, transport_options={
            "confirm_publish": True, "max_retries": 1, "interval_start": 0,
            "interval_step": 0.5, "interval_max": 0.5})
        self._publish_lock = Semaphore()  # one confirmed publish at a time on this channel
        # skip EventHandler.setup, which would declare nameko's one-type queue
        self.queue_consumer.register_provider(self)

    def _declare(self, service: str) -> Queue:
        """Declare this consumer's queues, waiting for the broker when it is not there yet."""
        what = f"{service}: the queues of @consume({self.source_service})"
        while True:
            with kombu.Connection(self.amqp_uri) as conn:
                try:
                    wait_for_broker(conn, what, logger=log)
                    return declare_consumer_queues(conn.default_channel, self.source_service,
                                                   service, self.event_types, self.delays)
                except BROKER_ERRORS as lost:  # the broker left again between the two
                    log.warning("%s: the broker left while declaring (%s)", what, lost)
                    eventlet.sleep(1)

    def stop(self):
        self._stopping = True  # a republish still waiting for the broker gives up
        super().stop()
        self._publish_conn.release()

    def handle_message(self, body, message):
        try:
            envelope = Envelope.from_message(body)
        except (ValueError, TypeError) as bad:
            if self._give_up(message, f"undecodable event: {bad}", attempts=1):
                self.queue_consumer.ack_message(message)
            else:
                self.queue_consumer.requeue_message(message)
            return
        handle_result = partial(self.handle_result, message)
        try:
            self.container.spawn_worker(self, (self.source, envelope), {},
                                        context_data=self.unpack_message_headers(message),
                                        handle_result=handle_result)
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        if exc_info is not None:
            attempts = int((message.headers or {}).get(ATTEMPTS, 0)) + 1
            error = "".join(traceback.format_exception_only(exc_info[0], exc_info[1])).strip()
            if attempts <= len(self.delays):
                log.warning("%s failed (attempt %d), retrying in %ss: %s", worker_ctx,
                            attempts, self.delays[attempts - 1], error)
                sent = self._republish(message, retry_queue(self.queue.name, attempts),
                                       attempts, error)
            else:
                log.error("%s failed %d times, dead-lettered: %s", worker_ctx, attempts, error)
                sent = self._give_up(message, error, attempts)
            if not sent:
                # the broker stayed away: let the original come back (a dead channel's
                # unacked message is redelivered by the broker anyway)
                self.queue_consumer.requeue_message(message)
                return result, exc_info
        # only now, with any republish confirmed by the broker, is the original let go
        self.queue_consumer.ack_message(message)
        return result, exc_info

    def _give_up(self, message, error: str, attempts: int) -> bool:
        return self._republish(message, self.dead_letters, attempts, error)

    def _republish(self, message, routing_key: str, attempts: int, error: str) -> bool:
        """Publish a copy of ``message`` to ``routing_key``, riding out a broker outage.

        False when the broker stayed away for ``ONEGRID_REPLY_PATIENCE`` seconds (or the
        container is stopping): the caller then requeues the original rather than lose it.
        """
        headers = dict(message.headers or {})
        headers.update({
            ATTEMPTS: attempts,
            "x-onegrid-queue": self.queue.name,
            "x-onegrid-source": self.source_service,
            "x-onegrid-error": error[-2000:],
            "x-onegrid-failed-at": dt.datetime.now(dt.timezone.utc).isoformat(),
        })

        def publish():
            with self._publish_lock:
                producer = kombu.Producer(self._publish_conn.default_channel)
                producer.publish(
                    message.body, exchange="", routing_key=routing_key, headers=headers,
                    content_type=message.content_type,
                    content_encoding=message.content_encoding, delivery_mode=2, retry=True,
                    retry_policy={"max_retries": 1, "interval_start": 0, "interval_max": 0.5})

        return patiently(
            publish, f"{self.container.service_name}: the republish to {routing_key}",
            patience=self.patience, given_up=lambda: self._stopping, logger=log)


def consume(reactions: dict[str, dict]):
    """Decorate ``react(self, source, event)``: consume every source of ``REACTIONS``."""
    def decorate(fn):
        for source, table in reactions.items():
            if table:
                fn = Consume.decorator(source, list(table))(fn)
        return fn
    return decorate
