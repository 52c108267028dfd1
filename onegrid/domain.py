"""The pure core every service's domain builds on: events and aggregates.

Standard library only. A domain event is a frozen dataclass whose class name is its
event type (past tense: ``TicketOpened``). An aggregate decides in command methods,
records events, and changes state only by applying them, so replay and live code
follow one path.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import ClassVar, Iterable

from .errors import DomainError  # noqa: F401  (the root of every typed error)

#: the time zone of every street office: China Standard Time (UTC+8 all year, no DST).
#: Local days (patrol windows, deadlines, quarters) are counted in it.
LOCAL_TZ = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


@dataclasses.dataclass(frozen=True)
class DomainEvent:
    """Base class for events: subclasses are frozen dataclasses, named in the past tense."""

    @classmethod
    def event_type(cls) -> str:
        return cls.__name__

    def fields(self) -> dict:
        """The event's fields as a shallow dict (values keep their Python types)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


class Aggregate:
    """An event-sourced aggregate: ``version`` counts the events applied so far.

    Subclasses implement ``apply(event)`` (usually dispatching on the event's class)
    and command methods that check rules, then call ``_record(event)``.

    Each aggregate ``x`` lives on the stream ``<kind>/<x>`` (``Ticket.stream_id("T-1")`` is
    ``ticket/T-1``; docs/architecture.md): a subclass names its ``kind``, ``of(x)`` is a new one
    on its own stream, and ``key`` is ``x`` again.
    """

    #: the stream kind, lower case after the aggregate (``ticket``, ``worker``, ``ledger``)
    kind: ClassVar[str] = ""

    def __init__(self, aggregate_id: str):
        self.id = aggregate_id
        self.version = 0
        self._pending: list[DomainEvent] = []

    @classmethod
    def stream_id(cls, *parts) -> str:
        """The stream of one aggregate: ``<kind>/<part>[/<part>...]``."""
        return "/".join((cls.kind, *map(str, parts)))

    @classmethod
    def of(cls, *parts):
        """A new aggregate, with no events yet, on its own stream."""
        return cls(cls.stream_id(*parts))

    @property
    def key(self) -> str:
        """The aggregate's id without its stream kind (``T-1`` of ``ticket/T-1``)."""
        return self.id.removeprefix(f"{self.kind}/")

    @classmethod
    def rehydrate(cls, aggregate_id: str, events: Iterable[DomainEvent]):
        """Rebuild an aggregate from its stored events, in stream order."""
        aggregate = cls(aggregate_id)
        for event in events:
            aggregate._mutate(event)
        return aggregate

    def apply(self, event: DomainEvent) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _mutate(self, event: DomainEvent) -> None:
        self.apply(event)
        self.version += 1

    def _record(self, event: DomainEvent) -> None:
        self._mutate(event)
        self._pending.append(event)

    @property
    def pending(self) -> tuple[DomainEvent, ...]:
        return tuple(self._pending)

    def collect(self) -> list[DomainEvent]:
        """Hand over the events recorded since the last collect (for the store)."""
        pending, self._pending = self._pending, []
        return pending

    @property
    def expected_version(self) -> int:
        """The stream version the store must still hold when these events are appended."""
        return self.version - len(self._pending)
