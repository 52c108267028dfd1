"""The inbox: apply other services' events once, each stream in version order.

``self.inbox.apply(source, event)`` (called by the ``@consume`` entrypoint)

- skips an event whose stream version this service already applied (a duplicate),
- fetches any events of the stream it has not seen yet from the source's log over RPC and
  applies them first, so each stream is applied in version order whatever the delivery
  order, replicas or workers,
- runs the reactions and records the new stream version in one store transaction.

A reaction is a plain function ``reaction(uow, event, ctx)``; the service's ``REACTIONS``
table ``{source: {EventType: reaction}}`` is the one place a subscription is declared.
Tables written by reactions are declared to the inbox (``Inbox(REACTIONS, tables=fn)``):
they are created at setup and, unlike projections, never dropped by a replay.

Beside the queue, the inbox starts a catch-up per source (``catchup.py``): it reads the
source's log from where this consumer got to and hands it here the same way, so an event
the broker never delivered (no queue yet, or the queue was lost) is applied too, once.
"""
from __future__ import annotations

import logging
from typing import Callable, Optional

import eventlet
import sqlalchemy as sa
from eventlet import tpool
from eventlet.event import Event
from nameko.extensions import DependencyProvider
from nameko.rpc import ReplyListener, ServiceProxy

from .. import config as cfg
from ..envelope import Actor, Envelope
from ..store import StoreError, TrackingConflict, WrongExpectedVersion
from ..uow import UnitOfWork
from .store import StoreKeeper, _Wakeup

log = logging.getLogger(__name__)

#: how long to wait for an earlier event of the stream that another worker may be applying
#: right now, before fetching it from the source's log. Short: when the missing versions are
#: of types this service does not consume, they never arrive and only the fetch fills them.
GAP_PATIENCE = (0.02,)
#: seconds to wait for the source's log when fetching a gap
FETCH_TIMEOUT = 30.0

Reaction = Callable[[UnitOfWork, Envelope, object], None]


class _GapNotFilled(StoreError):
    """The source's log did not return the events missing before this one."""


class BoundInbox:
    def __init__(self, provider: "Inbox", worker_ctx):
        self.provider = provider
        self.worker_ctx = worker_ctx

    def apply(self, source: str, envelope: Envelope) -> str:
        """Apply ``envelope`` (and any earlier events of its stream not yet applied) once."""
        return self.provider.deliver(source, envelope, self._fetch)

    def _fetch(self, source, envelope, applied) -> list[Envelope]:
        running = cfg.service_name(self.provider.container.config, source)
        proxy = ServiceProxy(self.worker_ctx, running, self.provider.rpc_reply_listener)
        # nameko's RPC waits for ever: a source that is down must fail this delivery (it is
        # retried later), not hold a worker and its message
        with eventlet.Timeout(FETCH_TIMEOUT, _GapNotFilled(
                f"{running} did not answer read_stream within {FETCH_TIMEOUT}s")):
            raw = proxy.read_stream(envelope.stream_id, applied, envelope.version - 1)
        return checked_gap(source, envelope, applied, raw)


def checked_gap(source: str, envelope: Envelope, applied: int, raw) -> list[Envelope]:
    """The events of ``envelope``'s stream after ``applied`` and before it, as ``read_stream``
    returned them; _GapNotFilled unless they are exactly those versions."""
    missing = [Envelope.from_message(m) for m in raw]
    if [e.version for e in missing] != list(range(applied + 1, envelope.version)):
        raise _GapNotFilled(
            f"{source} returned versions {[e.version for e in missing]} of "
            f"{envelope.stream_id}, expected {applied + 1}..{envelope.version - 1}")
    return missing


class Inbox(DependencyProvider):
    """Declare on a service: ``inbox = Inbox(REACTIONS, tables=lambda ctx: ctx.tables.reactions)``.

    ``REACTIONS`` is ``{source: {EventType: reaction}}`` with logical source names (the
    running names come from ``ONEGRID_SERVICE_NAMES``); ``tables(ctx)`` gives the
    ``MetaData`` of the tables the reactions write.

    Workers hand their events to one committer per container, which applies whatever has
    queued up in a single transaction, each event inside its own savepoint: one commit (one
    fsync) for many events, and a failing reaction undoes only its own event.
    """

    keeper = StoreKeeper()
    rpc_reply_listener = ReplyListener()

    def __init__(self, reactions: dict[str, dict[str, Reaction]], *,
                 tables: Optional[Callable[[object], sa.MetaData]] = None,
                 max_conflicts: int = 20, max_batch: int = 200,
                 patience: tuple[float, ...] = GAP_PATIENCE):
        self.reactions = reactions
        self.tables = tables
        self.patience = patience
        self.max_conflicts = max_conflicts
        self.max_batch = max_batch

    def setup(self):
        self.consumer = self.container.service_name
        self._pending: list = []
        self._wake = _Wakeup()
        self._running = False

    def start(self):
        if self.tables is not None:
            metadata = self.tables(self.keeper.context)
            tpool.execute(_create, metadata, self.keeper.store.engine)
        self._running = True
        self.container.spawn_managed_thread(self._commit_loop,
                                            identifier=f"{self.consumer}.inbox")
        from .catchup import CatchUp  # the log readers feed this inbox; they sit beside it
        self._catchups = CatchUp.start_all(self)

    def stop(self):
        self._running = False
        self._wake.set()
        for catchup in getattr(self, "_catchups", ()):
            catchup.stop()

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx):
        return BoundInbox(self, worker_ctx)

    def deliver(self, source: str, envelope: Envelope,
                fetch: Callable[[str, Envelope, int], list[Envelope]]) -> str:
        """Apply ``envelope`` once, after any earlier events of its stream not applied yet.

        A gap (events of the stream before this one not applied here) is first given a
        moment to fill (another worker may be applying them), then filled by
        ``fetch(source, envelope, applied)``, which returns the missing events from the
        source's log. Returns "applied" or "duplicate"; a reaction's error is raised.
        """
        missing: list[Envelope] = []
        waited = 0
        for _ in range(self.max_conflicts):
            try:
                outcome = self.submit(source, missing, envelope)
            except (TrackingConflict, WrongExpectedVersion):
                missing = []
                continue  # another replica got there first: look again
            if isinstance(outcome, int):  # a gap after version ``outcome``
                if waited < len(self.patience):
                    eventlet.sleep(self.patience[waited])
                    waited += 1
                    continue
                missing = fetch(source, envelope, outcome)
                continue
            return outcome
        raise TrackingConflict(f"{self.consumer} could not apply {source}/{envelope.stream_id}")

    def submit(self, source: str, missing: list[Envelope], envelope: Envelope):
        """Queue one event for the next commit and wait for its outcome."""
        done = Event()
        self._pending.append((source, missing, envelope, done))
        self._wake.set()
        return done.wait()

    def submit_many(self, source: str, envelopes: list[Envelope]) -> list:
        """Queue events (of a log page, in log order) and wait for every outcome.

        Each outcome is what ``submit`` returns ("applied", "duplicate", or the applied
        version when a gap comes before it) or the exception it would raise.
        """
        waiting = []
        for envelope in envelopes:  # queued together: a stream's versions stay in order
            done = Event()
            self._pending.append((source, [], envelope, done))
            waiting.append(done)
        self._wake.set()
        outcomes = []
        for done in waiting:
            try:
                outcomes.append(done.wait())
            except Exception as failed:
                outcomes.append(failed)
        return outcomes

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
        ctx = self.keeper.context
        for event in events:
            reaction = reactions.get(event.event_type)
            if reaction is None:
                continue  # a type this service does not react to: only advance past it
            uow = UnitOfWork(tx, registry, actor=Actor(self.consumer, "system"),
                             correlation_id=event.correlation_id, causation_id=event.event_id)
            reaction(uow, event, ctx)
        versions[envelope.stream_id] = envelope.version
        return "applied"


class _ReactionFailed(Exception):
    """A reaction raised inside a batch (internal: the batch is redone event by event)."""




def _create(metadata: sa.MetaData, engine) -> None:
    from ..store.sql import create_tables
    create_tables(metadata, engine)
