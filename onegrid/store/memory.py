"""The in-memory event store: a fake for unit tests that passes the store contract."""
from __future__ import annotations

import contextlib
import threading
import time
from typing import Optional, Sequence

from ..envelope import Envelope, NewEvent, utcnow
from .base import (CommandRace, CommandRecord, DuplicateEvent, EventStore, Transaction,
                   TrackingConflict, WrongExpectedVersion)


class _MemoryTransaction(Transaction):
    def __init__(self, store: "InMemoryEventStore"):
        self._store = store
        self._events: list[Envelope] = []
        self.appended = self._events
        self._tracking: dict[tuple, int] = {}
        self._positions: dict[str, int] = {}
        self._commands: dict[str, tuple] = {}

    def append(self, stream_id, expected_version, events: Sequence[NewEvent]):
        actual = self.stream_version(stream_id)
        if actual != expected_version:
            raise WrongExpectedVersion(stream_id, expected_version, actual)
        store, now, out = self._store, utcnow(), []
        seen = {e.event_id for e in self._events}
        for offset, new in enumerate(events, start=1):
            if new.event_id in store._ids or new.event_id in seen:
                raise DuplicateEvent(f"event {new.event_id} is already stored")
            out.append(store._envelope(new, stream_id, expected_version + offset, now))
        self._events.extend(out)
        return out

    def read_stream(self, stream_id, after_version=0, until_version=None):
        stream = self._store._streams.get(stream_id, []) + [
            e for e in self._events if e.stream_id == stream_id]
        return [e for e in stream if e.version > after_version
                and (until_version is None or e.version <= until_version)]

    def stream_version(self, stream_id):
        pending = [e.version for e in self._events if e.stream_id == stream_id]
        if pending:
            return max(pending)
        stream = self._store._streams.get(stream_id)
        return stream[-1].version if stream else 0

    def applied_version(self, consumer, source, stream_id):
        key = (consumer, source, stream_id)
        if key in self._tracking:
            return self._tracking[key]
        return self._store._tracking.get(key, 0)

    def mark_applied(self, consumer, source, stream_id, previous, version):
        if self.applied_version(consumer, source, stream_id) != previous:
            raise TrackingConflict(f"{consumer} already moved past {source}/{stream_id}@{previous}")
        self._tracking[(consumer, source, stream_id)] = version

    def get_position(self, name):
        return self._positions.get(name, self._store._positions.get(name, 0))

    def set_position(self, name, position):
        self._positions[name] = position

    def read_all(self, after_position=0, limit=1000):
        return self._store.read_all(after_position, limit)

    @contextlib.contextmanager
    def savepoint(self):
        saved = (list(self._events), dict(self._tracking), dict(self._positions),
                 dict(self._commands))
        try:
            yield
        except BaseException:
            self._events[:] = saved[0]
            self._tracking, self._positions, self._commands = saved[1], saved[2], saved[3]
            raise

    def command_record(self, command_id):
        found = self._commands.get(command_id) or self._store._commands.get(command_id)
        return None if found is None else CommandRecord(found[0], found[1])

    def begin_command(self, command_id, fingerprint):
        if self.command_record(command_id) is not None:
            raise CommandRace(command_id)
        self._commands[command_id] = (fingerprint, None, utcnow())

    def finish_command(self, command_id, result):
        fingerprint, _, at = self._commands[command_id]
        self._commands[command_id] = (fingerprint, result, at)

    def _commit(self):
        store = self._store
        for key, version in self._tracking.items():
            store._tracking[key] = version
        store._positions.update(self._positions)
        store._commands.update(self._commands)
        for envelope in self._events:
            store._position += 1
            stored = _with_position(envelope, store._position)
            store._log.append(stored)
            store._streams.setdefault(stored.stream_id, []).append(stored)
            store._ids.add(stored.event_id)


def _with_position(envelope: Envelope, position: int) -> Envelope:
    fields = {f: getattr(envelope, f) for f in envelope.__slots__}
    fields["position"] = position
    return Envelope(**fields)


class InMemoryEventStore(EventStore):
    """Transactions are serialised by one lock and applied to the log only on commit."""

    def __init__(self, node_id: str = "local"):
        self.node_id = node_id
        self._lock = threading.RLock()
        self._log: list[Envelope] = []
        self._streams: dict[str, list[Envelope]] = {}
        self._ids: set[str] = set()
        self._tracking: dict[tuple, int] = {}
        self._positions: dict[str, int] = {}
        self._leases: dict[str, tuple[str, float]] = {}
        self._commands: dict[str, tuple] = {}
        self._position = 0

    def _envelope(self, new: NewEvent, stream_id: str, version: int, now) -> Envelope:
        return Envelope(
            event_id=new.event_id, stream_id=stream_id, version=version,
            event_type=new.event_type, schema_version=new.schema_version,
            payload=dict(new.payload), occurred_at=new.occurred_at, recorded_at=now,
            node_id=self.node_id, correlation_id=new.correlation_id or new.event_id,
            causation_id=new.causation_id, actor_id=new.actor.id, actor_role=new.actor.role)

    @contextlib.contextmanager
    def transaction(self):
        with self._lock:
            tx = _MemoryTransaction(self)
            yield tx
            tx._commit()

    @contextlib.contextmanager
    def snapshot(self):
        with self._lock:
            yield _MemoryTransaction(self)  # never committed: what it writes is dropped

    def read_all(self, after_position=0, limit=1000):
        with self._lock:
            # positions are dense from 1, so position p sits at index p - 1
            return self._log[after_position:after_position + limit]

    def last_position(self):
        return self._position

    def prune_commands(self, before):
        with self._lock:
            old = [k for k, (_, _, at) in self._commands.items() if at < before]
            for k in old:
                del self._commands[k]
            return len(old)

    def try_lease(self, name, holder, ttl):
        with self._lock:
            now = time.monotonic()
            current = self._leases.get(name)
            if current and current[0] != holder and current[1] > now:
                return False
            self._leases[name] = (holder, now + ttl)
            return True

    def release_lease(self, name, holder):
        with self._lock:
            if self._leases.get(name, (None,))[0] == holder:
                del self._leases[name]
