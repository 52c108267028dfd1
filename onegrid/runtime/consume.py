"""Consuming other services' events: ordered, idempotent, retried, never dropped.

``@consume(source, types)`` binds one durable queue per (source, consuming service) to the
source's exchange for each event type. It hands the service method an ``Envelope``. The
method calls ``self.inbox.apply(source, event)``, which

- skips an event whose stream version this service already applied (a duplicate),
- fetches any events of the stream it has not seen yet from the source's log over RPC and
  applies them first, so each stream is applied in version order whatever the delivery
  order, replicas or workers,
- runs the reactions and records the new stream version in one store transaction.

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
from typing import Callable, Iterable, Optional

import kombu
from kombu import Exchange, Queue, binding
from nameko.containers import ContainerBeingKilled
from nameko.events import EventHandler
from nameko.extensions import DependencyProvider
from nameko.rpc import ReplyListener, ServiceProxy
import eventlet
from eventlet import tpool
from eventlet.event import Event
from eventlet.semaphore import Semaphore

from .. import config as cfg
from ..amqp import events_exchange
from ..envelope import Actor, Envelope
from ..store import StoreError, TrackingConflict, WrongExpectedVersion
from ..uow import UnitOfWork
from .store import StoreKeeper, _Wakeup

log = logging.getLogger(__name__)

DEFAULT_RETRY_DELAYS = (1.0, 5.0, 30.0, 120.0)
#: how long to wait for an earlier event of the stream that another worker may be applying
#: right now, before fetching it from the source's log. Short: when the missing versions are
#: of types this service does not consume, they never arrive and only the fetch fills them.
GAP_PATIENCE = (0.02,)
#: seconds to wait for the source's log when fetching a gap
FETCH_TIMEOUT = 30.0
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
    """Entrypoint: ``@consume("tickets", ["TicketOpened", "TicketReturned"])``."""

    def __init__(self, source_service: str, event_types, **kwargs):
        event_types = [event_types] if isinstance(event_types, str) else list(event_types)
        self.event_types = event_types
        super().__init__(source_service, event_types[0], reliable_delivery=True,
                         requeue_on_error=False, **kwargs)

    def setup(self):
        config = self.container.config
        service = self.container.service_name
        self.amqp_uri = cfg.amqp_uri(config)
        self.delays = retry_delays(config)
        with kombu.Connection(self.amqp_uri) as conn:
            self.queue = declare_consumer_queues(
                conn.default_channel, self.source_service, service, self.event_types, self.delays)
        self.dead_letters = dead_letter_queue(service)
        self._publish_conn = kombu.Connection(
            self.amqp_uri, transport_options={"confirm_publish": True})
        self._publish_lock = Semaphore()  # one confirmed publish at a time on this channel
        # skip EventHandler.setup, which would declare nameko's one-type queue
        self.queue_consumer.register_provider(self)

    def stop(self):
        super().stop()
        self._publish_conn.release()

    def handle_message(self, body, message):
        try:
            envelope = Envelope.from_message(body)
        except (ValueError, TypeError) as bad:
            self._give_up(message, f"undecodable event: {bad}", attempts=1)
            self.queue_consumer.ack_message(message)
            return
        handle_result = partial(self.handle_result, message)
        try:
            self.container.spawn_worker(self, (envelope,), {},
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
                self._republish(message, retry_queue(self.queue.name, attempts), attempts, error)
            else:
                log.error("%s failed %d times, dead-lettered: %s", worker_ctx, attempts, error)
                self._give_up(message, error, attempts)
        # only now, with any republish confirmed by the broker, is the original let go
        self.queue_consumer.ack_message(message)
        return result, exc_info

    def _give_up(self, message, error: str, attempts: int):
        self._republish(message, self.dead_letters, attempts, error)

    def _republish(self, message, routing_key: str, attempts: int, error: str):
        headers = dict(message.headers or {})
        headers.update({
            ATTEMPTS: attempts,
            "x-onegrid-queue": self.queue.name,
            "x-onegrid-source": self.source_service,
            "x-onegrid-error": error[-2000:],
            "x-onegrid-failed-at": dt.datetime.now(dt.timezone.utc).isoformat(),
        })
        with self._publish_lock:
            producer = kombu.Producer(self._publish_conn.default_channel)
            producer.publish(
                message.body, exchange="", routing_key=routing_key, headers=headers,
                content_type=message.content_type, content_encoding=message.content_encoding,
                delivery_mode=2, retry=True, retry_policy={"max_retries": 5})


consume = Consume.decorator


class _GapNotFilled(StoreError):
    """The source's log did not return the events missing before this one."""


Reaction = Callable[[UnitOfWork, Envelope], None]


class BoundInbox:
    def __init__(self, provider: "Inbox", worker_ctx):
        self.provider = provider
        self.worker_ctx = worker_ctx

    def apply(self, source: str, envelope: Envelope) -> str:
        """Apply ``envelope`` (and any earlier events of its stream not yet applied) once."""
        missing: list[Envelope] = []
        waited = 0
        for _ in range(self.provider.max_conflicts):
            try:
                outcome = self.provider.submit(source, missing, envelope)
            except (TrackingConflict, WrongExpectedVersion):
                missing = []
                continue  # another replica got there first: look again
            if isinstance(outcome, int):  # a gap after version ``outcome``
                if waited < len(self.provider.patience):
                    eventlet.sleep(self.provider.patience[waited])
                    waited += 1
                    continue
                missing = self._fetch(source, envelope, outcome)
                continue
            return outcome
        raise TrackingConflict(f"{self.provider.consumer} could not apply "
                               f"{source}/{envelope.stream_id}")

    def _fetch(self, source, envelope, applied) -> list[Envelope]:
        proxy = ServiceProxy(self.worker_ctx, source, self.provider.rpc_reply_listener)
        # nameko's RPC waits for ever: a source that is down must fail this delivery (it is
        # retried later), not hold a worker and its message
        with eventlet.Timeout(FETCH_TIMEOUT, _GapNotFilled(
                f"{source} did not answer read_stream within {FETCH_TIMEOUT}s")):
            raw = proxy.read_stream(envelope.stream_id, applied, envelope.version - 1)
        missing = [Envelope.from_message(m) for m in raw]
        if [e.version for e in missing] != list(range(applied + 1, envelope.version)):
            raise _GapNotFilled(
                f"{source} returned versions {[e.version for e in missing]} of "
                f"{envelope.stream_id}, expected {applied + 1}..{envelope.version - 1}")
        return missing


class Inbox(DependencyProvider):
    """Declare on a service: ``inbox = Inbox({"tickets": {"TicketOpened": on_opened}})``.

    Workers hand their events to one committer per container, which applies whatever has
    queued up in a single transaction, each event inside its own savepoint: one commit (one
    fsync) for many events, and a failing reaction undoes only its own event.
    """

    keeper = StoreKeeper()
    rpc_reply_listener = ReplyListener()

    def __init__(self, reactions: dict[str, dict[str, Reaction]], max_conflicts: int = 20,
                 max_batch: int = 200, patience: tuple[float, ...] = GAP_PATIENCE):
        self.reactions = reactions
        self.patience = patience
        self.max_conflicts = max_conflicts
        self.max_batch = max_batch

    def setup(self):
        self.consumer = self.container.service_name
        self._pending: list = []
        self._wake = _Wakeup()
        self._running = False

    def start(self):
        self._running = True
        self.container.spawn_managed_thread(self._commit_loop,
                                            identifier=f"{self.consumer}.inbox")

    def stop(self):
        self._running = False
        self._wake.set()

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx):
        return BoundInbox(self, worker_ctx)

    def submit(self, source: str, missing: list[Envelope], envelope: Envelope):
        """Queue one event for the next commit and wait for its outcome."""
        done = Event()
        self._pending.append((source, missing, envelope, done))
        self._wake.set()
        return done.wait()

    def _commit_loop(self):
        while self._running or self._pending:
            if not self._pending:
                self._wake.wait(0.5)
                continue
            batch = self._pending[:self.max_batch]
            del self._pending[:len(batch)]
            # events of one stream in version order, so a batch fills its own gaps
            batch.sort(key=lambda item: (item[0], item[2].stream_id, item[2].version))
            try:
                outcomes = tpool.execute(self._apply_batch, batch)
            except Exception as failed:  # the commit itself failed: nothing was applied
                for *_, done in batch:
                    done.send_exception(failed)
                continue
            for (*_, done), outcome in zip(batch, outcomes):
                if isinstance(outcome, BaseException):
                    done.send_exception(outcome)
                else:
                    done.send(outcome)
            if "applied" in outcomes:
                self.keeper.appended()

    def _apply_batch(self, batch) -> list:
        try:
            return self._apply_batch_fast(batch)
        except _ReactionFailed:
            # one reaction raised: redo the batch one savepoint per event, so only that
            # event fails and the others still commit
            return self._apply_batch_isolated(batch)

    def _apply_batch_fast(self, batch) -> list:
        """The whole batch in one transaction: one inbox read and one inbox write per source."""
        outcomes = []
        with self.keeper.store.transaction() as tx:
            by_source: dict[str, list] = {}
            for item in batch:
                by_source.setdefault(item[0], []).append(item[2].stream_id)
            applied = {source: tx.applied_versions(self.consumer, source, streams)
                       for source, streams in by_source.items()}
            current = {source: dict(versions) for source, versions in applied.items()}
            for source, missing, envelope, _ in batch:
                try:
                    outcomes.append(self._react(tx, source, missing, envelope, current[source]))
                except Exception as failed:
                    raise _ReactionFailed() from failed
            for source, versions in current.items():
                moves = {s: (applied[source][s], v) for s, v in versions.items()
                         if v != applied[source][s]}
                if moves:
                    tx.mark_applied_many(self.consumer, source, moves)
        return outcomes

    def _apply_batch_isolated(self, batch) -> list:
        outcomes = []
        with self.keeper.store.transaction() as tx:
            # lock the inbox rows first, as the fast path does: the same lock order on both
            # paths, so two replicas never deadlock on inbox rows against the events table
            for source in {item[0] for item in batch}:
                tx.applied_versions(self.consumer, source,
                                    [item[2].stream_id for item in batch if item[0] == source])
            for source, missing, envelope, _ in batch:
                try:
                    with tx.savepoint():
                        outcomes.append(self._apply_one(tx, source, missing, envelope))
                except Exception as failed:
                    outcomes.append(failed)
        return outcomes

    def _apply_one(self, tx, source, missing: list[Envelope], envelope: Envelope):
        stream = envelope.stream_id
        versions = {stream: tx.applied_version(self.consumer, source, stream)}
        applied = versions[stream]
        outcome = self._react(tx, source, missing, envelope, versions)
        if versions[stream] != applied:
            tx.mark_applied(self.consumer, source, stream, applied, versions[stream])
        return outcome

    def _react(self, tx, source, missing: list[Envelope], envelope: Envelope,
               versions: dict[str, int]):
        """Run the reactions for ``envelope`` if it is next in its stream.

        ``versions`` maps stream → applied version and is moved on here. Returns "applied"
        or "duplicate", or the applied version when events before this one are missing
        (nothing is written then; the worker fetches them and comes back).
        """
        applied = versions[envelope.stream_id]
        if envelope.version <= applied:
            return "duplicate"
        events = [e for e in missing if e.version > applied] + [envelope]
        if events[0].version != applied + 1:
            return applied
        reactions, registry = self.reactions.get(source, {}), self.keeper.registry
        for event in events:
            reaction = reactions.get(event.event_type)
            if reaction is None:
                continue  # a type this service does not react to: only advance past it
            uow = UnitOfWork(tx, registry, actor=Actor(self.consumer, "system"),
                             correlation_id=event.correlation_id, causation_id=event.event_id)
            reaction(uow, event)
        versions[envelope.stream_id] = envelope.version
        return "applied"


class _ReactionFailed(Exception):
    """A reaction raised inside a batch (internal: the batch is redone event by event)."""


class DeadLetters:
    """Operator tools over a service's dead-letter queue (used by ``onegrid dlq``)."""

    def __init__(self, amqp_uri: str, service: str):
        self.amqp_uri = amqp_uri
        self.service = service
        self.queue = dead_letter_queue(service)

    def list(self, limit: int = 1000) -> list[dict]:
        """Look at the dead letters without taking them (they go back on the queue)."""
        out = []
        with kombu.Connection(self.amqp_uri) as conn:
            channel = conn.channel()
            Queue(self.queue, durable=True)(channel).declare()
            for _ in range(limit):
                message = channel.basic_get(self.queue, no_ack=False)
                if message is None:
                    break
                out.append(_describe(message))
            channel.close()  # unacked messages return to the queue in order
        return out

    def replay(self, event_ids: Optional[Iterable[str]] = None) -> int:
        """Send dead letters (all, or those with these event ids) back to their queues."""
        wanted = set(event_ids) if event_ids is not None else None
        replayed = 0
        with kombu.Connection(self.amqp_uri, transport_options={"confirm_publish": True}) as conn:
            channel = conn.channel()
            Queue(self.queue, durable=True)(channel).declare()
            producer = kombu.Producer(conn.channel())
            while True:
                message = channel.basic_get(self.queue, no_ack=False)
                if message is None:
                    break
                info = _describe(message)
                if wanted is not None and info["event_id"] not in wanted:
                    continue  # left unacked: it goes back to the queue when the channel closes
                headers = dict(message.headers or {})
                headers[ATTEMPTS] = 0
                producer.publish(message.body, exchange="", routing_key=info["queue"],
                                 headers=headers, delivery_mode=2,
                                 content_type=message.properties.get("content_type"),
                                 content_encoding=message.properties.get("content_encoding"))
                channel.basic_ack(message.delivery_tag)
                replayed += 1
            channel.close()  # the ones not chosen go back to the dead-letter queue
        return replayed


def _describe(message) -> dict:
    import json
    headers = message.headers or {}
    try:
        body = json.loads(message.body)
    except ValueError:
        body = {}
    return {
        "event_id": body.get("event_id") or message.properties.get("message_id"),
        "event_type": body.get("event_type"),
        "stream_id": body.get("stream_id"),
        "version": body.get("version"),
        "queue": headers.get("x-onegrid-queue"),
        "source": headers.get("x-onegrid-source"),
        "attempts": headers.get(ATTEMPTS),
        "error": headers.get("x-onegrid-error"),
        "failed_at": headers.get("x-onegrid-failed-at"),
    }
