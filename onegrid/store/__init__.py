"""Event stores: one contract, three backends (in-memory fake, SQLite, PostgreSQL).

Every store offers, outside and inside a transaction:

- ``append(stream_id, expected_version, events)``: all or nothing; a stream that is not at
  ``expected_version`` raises :class:`WrongExpectedVersion` and writes nothing.
- ``read_stream(stream_id, after_version=0)`` and ``read_all(after_position, limit)``: the
  whole log in pages, in position order. Position order is commit order, so a reader that
  tails the log never skips an event that commits late.
- tracking (the consumer inbox), named positions (relay and projection checkpoints) and
  leases (one active relay per service), all writable in the same transaction as events.
"""
from .base import (  # noqa: F401
    CommandRace, CommandRecord, DuplicateEvent, EventStore, StoreError, Transaction,
    WrongExpectedVersion, TrackingConflict,
)


def open_store(url: str | None, node_id: str, **options) -> "EventStore":
    """Open the store at ``url``: ``memory://``, a ``sqlite:///`` file or ``postgresql://``."""
    if not url or url.startswith("memory:"):
        from .memory import InMemoryEventStore
        return InMemoryEventStore(node_id=node_id)
    from .sql import SqlEventStore
    return SqlEventStore(url, node_id=node_id, **options)
