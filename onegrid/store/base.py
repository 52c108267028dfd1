"""The store contract and its typed errors."""
from __future__ import annotations

import abc
import contextlib
import dataclasses
from typing import Iterator, Optional, Sequence

from ..envelope import Envelope, NewEvent


class StoreError(Exception):
    """Base of the event store's errors."""


class WrongExpectedVersion(StoreError):
    """Appending to a stream that moved on since it was read; nothing was written."""

    def __init__(self, stream_id: str, expected: int, actual: int):
        self.stream_id, self.expected, self.actual = stream_id, expected, actual
        super().__init__(
            f"stream {stream_id!r} is at version {actual}, not the expected {expected}: "
            "reload it and decide again")


class DuplicateEvent(StoreError):
    """An event with this id is already stored (a retried command); nothing was written."""


class CommandRace(StoreError):
    """Another transaction is running (or just ran) a command with this id: retry to see it."""

    def __init__(self, command_id: str):
        self.command_id = command_id
        super().__init__(f"command {command_id!r} is being run by another worker")


@dataclasses.dataclass(frozen=True)
class CommandRecord:
    """A command run before: the fingerprint of its arguments and its result (JSON text)."""

    fingerprint: str
    result: Optional[str]


class TrackingConflict(StoreError):
    """Another worker applied this stream's event first; retry to see its effect."""


class Transaction(abc.ABC):
    """One atomic unit of work on a store: events, tracking, positions, read models."""

    #: the SQLAlchemy connection of this transaction (None for the in-memory store)
    connection = None
    #: every envelope appended in this transaction so far
    appended: list

    @abc.abstractmethod
    def append(self, stream_id: str, expected_version: int,
               events: Sequence[NewEvent]) -> list[Envelope]: ...

    @abc.abstractmethod
    def read_stream(self, stream_id: str, after_version: int = 0,
                    until_version: Optional[int] = None) -> list[Envelope]: ...

    @abc.abstractmethod
    def stream_version(self, stream_id: str) -> int: ...

    @abc.abstractmethod
    def applied_version(self, consumer: str, source: str, stream_id: str) -> int:
        """The last version of ``source``'s stream that ``consumer`` applied (0 if none)."""

    @abc.abstractmethod
    def mark_applied(self, consumer: str, source: str, stream_id: str,
                     previous: int, version: int) -> None:
        """Move the inbox from ``previous`` to ``version``; TrackingConflict if it moved."""

    def applied_versions(self, consumer: str, source: str, stream_ids) -> dict[str, int]:
        """``applied_version`` for many streams at once; the rows stay locked until commit."""
        return {s: self.applied_version(consumer, source, s) for s in stream_ids}

    def mark_applied_many(self, consumer: str, source: str,
                          moves: dict[str, tuple[int, int]]) -> None:
        """``mark_applied`` for many streams: ``moves[stream] = (previous, version)``."""
        for stream_id, (previous, version) in moves.items():
            self.mark_applied(consumer, source, stream_id, previous, version)

    @abc.abstractmethod
    def get_position(self, name: str) -> int: ...

    @abc.abstractmethod
    def set_position(self, name: str, position: int) -> None: ...

    def move_position(self, name: str, previous: int, position: int) -> None:
        """Move a checkpoint from ``previous`` to ``position``; TrackingConflict if it moved."""
        if self.get_position(name) != previous:
            raise TrackingConflict(f"{name} moved on from {previous}")
        self.set_position(name, position)

    @abc.abstractmethod
    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[Envelope]:
        """The next page of the log, read in this transaction."""

    @abc.abstractmethod
    def savepoint(self) -> contextlib.AbstractContextManager[None]:
        """A nested scope: an error inside undoes only what was written inside."""

    @abc.abstractmethod
    def command_record(self, command_id: str) -> Optional[CommandRecord]:
        """The command with this id as recorded before, or None."""

    @abc.abstractmethod
    def begin_command(self, command_id: str, fingerprint: str) -> None:
        """Record that this transaction runs the command; CommandRace if another does."""

    @abc.abstractmethod
    def finish_command(self, command_id: str, result: str) -> None:
        """Record the command's result (JSON text), in the transaction of its events."""


class EventStore(abc.ABC):
    """A service's event store. Non-transactional calls each run in their own transaction."""

    node_id: str

    @abc.abstractmethod
    def transaction(self) -> contextlib.AbstractContextManager[Transaction]:
        """Open a write transaction; it commits on a clean exit and rolls back on an error."""

    @abc.abstractmethod
    def snapshot(self) -> contextlib.AbstractContextManager[Transaction]:
        """A read-only transaction that sees one consistent state of the store throughout."""

    @abc.abstractmethod
    def read_all(self, after_position: int = 0, limit: int = 1000) -> list[Envelope]:
        """The next page of the log after ``after_position``, in position order."""

    @abc.abstractmethod
    def last_position(self) -> int: ...

    @abc.abstractmethod
    def try_lease(self, name: str, holder: str, ttl: float) -> bool:
        """Take or renew the lease ``name`` for ``ttl`` seconds; False if another holds it."""

    @abc.abstractmethod
    def release_lease(self, name: str, holder: str) -> None: ...

    @abc.abstractmethod
    def prune_commands(self, before) -> int:
        """Forget the commands recorded before ``before`` (an aware datetime); how many."""

    def close(self) -> None:
        pass

    # conveniences, each one transaction -------------------------------------------------

    def append(self, stream_id: str, expected_version: int,
               events: Sequence[NewEvent]) -> list[Envelope]:
        with self.transaction() as tx:
            return tx.append(stream_id, expected_version, events)

    def append_batch(self, batch: Sequence[tuple[str, int, Sequence[NewEvent]]]) -> list[Envelope]:
        """Append to several streams in one transaction: all or nothing."""
        out: list[Envelope] = []
        with self.transaction() as tx:
            for stream_id, expected, events in batch:
                out.extend(tx.append(stream_id, expected, events))
        return out

    def read_stream(self, stream_id: str, after_version: int = 0,
                    until_version: Optional[int] = None) -> list[Envelope]:
        with self.transaction() as tx:
            return tx.read_stream(stream_id, after_version, until_version)

    def stream_version(self, stream_id: str) -> int:
        with self.transaction() as tx:
            return tx.stream_version(stream_id)

    def get_position(self, name: str) -> int:
        with self.transaction() as tx:
            return tx.get_position(name)

    def set_position(self, name: str, position: int) -> None:
        with self.transaction() as tx:
            tx.set_position(name, position)

    def iter_all(self, after_position: int = 0, page: int = 1000) -> Iterator[Envelope]:
        """Stream the log after ``after_position`` page by page (memory stays flat)."""
        while True:
            batch = self.read_all(after_position, page)
            if not batch:
                return
            yield from batch
            after_position = batch[-1].position
