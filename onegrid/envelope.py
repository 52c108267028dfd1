"""The event envelope: what every stored and published event carries."""
from __future__ import annotations

import dataclasses
import datetime as dt
import orjson
from typing import Any, Optional

from uuid6 import uuid7

UTC = dt.timezone.utc


def new_event_id() -> str:
    """A globally unique, time-ordered id (UUIDv7), made where the event is born."""
    return str(uuid7())


def utcnow() -> dt.datetime:
    return dt.datetime.now(UTC)


def _require_aware(name: str, value: dt.datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")


@dataclasses.dataclass(frozen=True, slots=True)
class Actor:
    """Who did it, in which role (``system`` for timers and reactions)."""

    id: str
    role: str

    @classmethod
    def system(cls, name: str = "system") -> "Actor":
        return cls(id=name, role="system")


SYSTEM = Actor.system()


@dataclasses.dataclass(frozen=True, slots=True)
class NewEvent:
    """An event about to be appended: the store adds version, position and recorded_at."""

    event_type: str
    payload: dict
    schema_version: int = 1
    event_id: str = dataclasses.field(default_factory=new_event_id)
    occurred_at: dt.datetime = dataclasses.field(default_factory=utcnow)
    correlation_id: Optional[str] = None
    causation_id: Optional[str] = None
    actor: Actor = SYSTEM

    def __post_init__(self):
        _require_aware("occurred_at", self.occurred_at)


@dataclasses.dataclass(frozen=True, slots=True)
class Envelope:
    """A stored event. ``position`` orders the whole log of one service's store."""

    event_id: str
    stream_id: str
    version: int
    event_type: str
    schema_version: int
    payload: dict
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    node_id: str
    correlation_id: str
    causation_id: Optional[str]
    actor_id: str
    actor_role: str
    position: Optional[int] = None

    @property
    def actor(self) -> Actor:
        return Actor(self.actor_id, self.actor_role)

    def to_message(self) -> dict:
        """The JSON-safe dict published on the broker and returned over RPC."""
        return {
            "event_id": self.event_id,
            "stream_id": self.stream_id,
            "version": self.version,
            "event_type": self.event_type,
            "schema_version": self.schema_version,
            "payload": self.payload,
            "occurred_at": self.occurred_at.isoformat(),
            "recorded_at": self.recorded_at.isoformat(),
            "node_id": self.node_id,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "actor": {"id": self.actor_id, "role": self.actor_role},
            "position": self.position,
        }

    @classmethod
    def from_message(cls, message: dict) -> "Envelope":
        """Rebuild an envelope from its published form; raises ValueError naming a bad field."""
        missing = [k for k in _REQUIRED if k not in message]
        if missing:
            raise ValueError(f"event message lacks fields {missing}")
        try:
            actor = message["actor"]
            return cls(
                event_id=str(message["event_id"]),
                stream_id=str(message["stream_id"]),
                version=int(message["version"]),
                event_type=str(message["event_type"]),
                schema_version=int(message["schema_version"]),
                payload=dict(message["payload"]),
                occurred_at=dt.datetime.fromisoformat(message["occurred_at"]),
                recorded_at=dt.datetime.fromisoformat(message["recorded_at"]),
                node_id=str(message["node_id"]),
                correlation_id=str(message["correlation_id"]),
                causation_id=message.get("causation_id"),
                actor_id=str(actor["id"]),
                actor_role=str(actor["role"]),
                position=message.get("position"),
            )
        except KeyError as absent:
            raise ValueError(f"event message lacks field {absent.args[0]!r}") from None

    def caused(self, event_type: str, payload: dict, *, schema_version: int = 1,
               actor: Optional[Actor] = None) -> NewEvent:
        """A new event caused by this one: same correlation, causation = this event."""
        return NewEvent(
            event_type=event_type, payload=payload, schema_version=schema_version,
            correlation_id=self.correlation_id, causation_id=self.event_id,
            actor=actor or SYSTEM,
        )


_REQUIRED = ("event_id", "stream_id", "version", "event_type", "schema_version", "payload",
             "occurred_at", "recorded_at", "node_id", "correlation_id", "actor")


def dumps(obj: Any) -> str:
    """Compact JSON text (UTF-8, not ASCII-escaped) for payloads and messages."""
    return orjson.dumps(obj).decode()


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)
