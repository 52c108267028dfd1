"""Projections: read models folded from the log, each with a checkpoint.

A projection's tables live in its service's database, and each page of events is applied
in the same transaction that moves its checkpoint, so a crash never applies an event twice
or skips one. ``replay`` drops the read model and rebuilds it from the log page by page:
memory stays flat however long the log is.
"""
from __future__ import annotations

import logging
from typing import Callable, Iterable, Optional, Sequence

import sqlalchemy as sa

from .envelope import Envelope
from .store import EventStore

log = logging.getLogger(__name__)


class Projection:
    """Subclasses set ``name`` and ``metadata`` (their own, per instance) and implement
    ``apply`` (or ``apply_page``)."""

    name: str = ""
    metadata: Optional[sa.MetaData] = None
    #: event types this projection folds (None: every type)
    event_types: Optional[frozenset] = None

    def apply(self, conn, envelope: Envelope) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def apply_page(self, conn, envelopes: Sequence[Envelope]) -> None:
        wanted = self.event_types
        for envelope in envelopes:
            if wanted is None or envelope.event_type in wanted:
                self.apply(conn, envelope)

    def create(self, engine) -> None:
        from .store.sql import create_tables
        create_tables(self.metadata, engine)

    def drop(self, engine) -> None:
        from .store.sql import drop_tables
        drop_tables(self.metadata, engine)


def checkpoint_name(projection: Projection) -> str:
    return f"projection:{projection.name}"


def catch_up(store: EventStore, projection: Projection, *, page_size: int = 2000,
             progress: Optional[Callable[[int], None]] = None, max_pages: Optional[int] = None) -> int:
    """Apply every event after the projection's checkpoint; returns how many were read."""
    name, total, pages = checkpoint_name(projection), 0, 0
    while max_pages is None or pages < max_pages:
        with store.transaction() as tx:
            position = tx.get_position(name)
            page = tx.read_all(position, page_size)
            if not page:
                return total
            projection.apply_page(tx.connection, page)
            # another runner that applied the same page first wins; this one rolls back
            tx.move_position(name, position, page[-1].position)
        total += len(page)
        pages += 1
        if progress:
            progress(len(page))
    return total


def replay(store: EventStore, projection: Projection, *, page_size: int = 5000,
           progress: Optional[Callable[[int], None]] = None) -> int:
    """Drop the projection's read model and rebuild it from the whole log."""
    engine = store.engine
    projection.drop(engine)
    projection.create(engine)
    store.set_position(checkpoint_name(projection), 0)
    return catch_up(store, projection, page_size=page_size, progress=progress)


def replay_all(store: EventStore, projections: Iterable[Projection], **options) -> dict[str, int]:
    return {p.name: replay(store, p, **options) for p in projections}
