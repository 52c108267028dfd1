"""Unit of work: load aggregates, save their new events, all in one store transaction."""
from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Callable, Optional, TypeVar

from kombu.utils import json as kombu_json  # what nameko's RPC replies are encoded with

from .domain import Aggregate
from .envelope import SYSTEM, Actor, Envelope
from .registry import EventRegistry
from .errors import CommandIdReused
from .store import CommandRace, EventStore, Transaction, WrongExpectedVersion

A = TypeVar("A", bound=Aggregate)


class UnitOfWork:
    """What a command handler or a reaction gets: its store transaction, typed."""

    def __init__(self, tx: Transaction, registry: EventRegistry, *, actor: Actor = SYSTEM,
                 correlation_id: Optional[str] = None, causation_id: Optional[str] = None,
                 read_only: bool = False):
        self.tx = tx
        self.read_only = read_only
        self.registry = registry
        self.actor = actor
        self.correlation_id = correlation_id
        self.causation_id = causation_id

    @property
    def connection(self):
        """The SQLAlchemy connection of this transaction, for read-model writes."""
        return self.tx.connection

    def load(self, cls: type[A], stream_id: str) -> Optional[A]:
        """The aggregate rebuilt from its stream, or None if the stream is empty."""
        envelopes = self.tx.read_stream(stream_id)
        if not envelopes:
            return None
        return cls.rehydrate(stream_id, (self.registry.to_domain(e) for e in envelopes))

    def read_stream(self, stream_id: str, after_version: int = 0,
                    until_version: Optional[int] = None) -> list[Envelope]:
        """A stream's envelopes as stored, in this transaction."""
        return self.tx.read_stream(stream_id, after_version, until_version)

    def save(self, aggregate: Aggregate) -> list[Envelope]:
        """Append the aggregate's new events, expecting the version it was loaded at."""
        expected = aggregate.expected_version
        events = aggregate.collect()
        return self.append(aggregate.id, expected, events)

    def append(self, stream_id: str, expected_version: int, events) -> list[Envelope]:
        if self.read_only:
            raise RuntimeError("a query records nothing: run the change as a command")
        new = [self.registry.to_new_event(
            e, actor=self.actor, correlation_id=self.correlation_id,
            causation_id=self.causation_id) for e in events]
        return self.tx.append(stream_id, expected_version, new)

    @property
    def recorded(self) -> list[Envelope]:
        """Every event appended in this unit of work, through it or its raw transaction."""
        return list(self.tx.appended)


@dataclasses.dataclass(frozen=True)
class CommandId:
    """A command's id and the fingerprint of its arguments (see ``fingerprint``)."""

    id: str
    fingerprint: str


def fingerprint(command) -> str:
    """What makes two commands the same: their class and their arguments."""
    fields = dataclasses.asdict(command) if dataclasses.is_dataclass(command) else command
    text = json.dumps([type(command).__name__, fields], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def run_in_transaction(store: EventStore, registry: EventRegistry, fn: Callable[[UnitOfWork], object],
                       *, retries: int = 5, command: Optional[CommandId] = None, **uow_options):
    """Run ``fn(uow)`` in a transaction; reload and decide again when a stream moved on.

    Returns ``(result, recorded envelopes)``. After ``retries`` conflicts the last
    WrongExpectedVersion is raised: the caller gets a clear conflict error, nothing stored.
    With a ``command`` id, the id and the result are recorded in the same transaction as
    the events; a command already recorded under that id is not run again: its first
    result comes back and nothing is recorded (another argument set raises CommandIdReused).
    """
    for attempt in range(retries + 1):
        try:
            with store.transaction() as tx:
                if command is not None:
                    done = tx.command_record(command.id)
                    if done is not None:
                        if done.fingerprint != command.fingerprint:
                            raise CommandIdReused(command.id)
                        return kombu_json.loads(done.result), []
                    tx.begin_command(command.id, command.fingerprint)
                uow = UnitOfWork(tx, registry, **uow_options)
                result = fn(uow)
                if command is not None:
                    tx.finish_command(command.id, kombu_json.dumps(result))
            return result, uow.recorded
        except (WrongExpectedVersion, CommandRace):
            if attempt == retries:
                raise
