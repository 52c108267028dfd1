"""Event types, their marshmallow payload schemas and upcasters.

A service registers each event type once with the schema of its current version and
an upcaster for every older version. Stored events are never edited: an old payload is
lifted to the current version when it is read.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import marshmallow

from .domain import DomainEvent
from .envelope import Envelope, NewEvent

Upcaster = Callable[[dict], dict]


class UnknownEventType(KeyError):
    """Raised for an event type no schema was registered for."""


class InvalidEvent(ValueError):
    """An event payload failed its schema; ``errors`` maps each bad field to its reasons."""

    def __init__(self, event_type: str, errors: dict):
        self.event_type = event_type
        self.errors = errors
        super().__init__(f"invalid {event_type} payload: {errors}")


@dataclasses.dataclass
class EventSpec:
    event_type: str
    schema: marshmallow.Schema
    version: int
    upcasters: dict[int, Upcaster]  # from version n to n + 1
    event_class: Optional[type] = None


class EventRegistry:
    """The event types of one service (or of the events one service consumes)."""

    def __init__(self, name: str = ""):
        self.name = name
        self._specs: dict[str, EventSpec] = {}
        self._by_class: dict[type, EventSpec] = {}

    def register(self, event_type: str, schema: type[marshmallow.Schema] | marshmallow.Schema,
                 *, version: int = 1, upcasters: Optional[dict[int, Upcaster]] = None,
                 event_class: Optional[type] = None) -> None:
        """Register ``event_type`` at its current ``version``; ``upcasters[n]`` lifts n to n+1."""
        upcasters = dict(upcasters or {})
        missing = [n for n in range(1, version) if n not in upcasters]
        if missing:
            raise ValueError(f"{event_type} v{version} needs upcasters from versions {missing}")
        spec = EventSpec(event_type, schema() if isinstance(schema, type) else schema,
                         version, upcasters, event_class)
        self._specs[event_type] = spec
        if event_class is not None:
            self._by_class[event_class] = spec

    def register_all(self, schemas: dict[type, type[marshmallow.Schema]]) -> None:
        """Register a service's ``{EventClass: Schema}`` table, each at version 1."""
        for event_class, schema in schemas.items():
            self.register(event_class.__name__, schema, event_class=event_class)

    def __contains__(self, event_type: str) -> bool:
        return event_type in self._specs

    def __iter__(self):
        return iter(sorted(self._specs.values(), key=lambda s: s.event_type))

    def spec(self, event_type: str) -> EventSpec:
        try:
            return self._specs[event_type]
        except KeyError:
            raise UnknownEventType(f"no schema registered for event type {event_type!r}") from None

    def validate(self, event_type: str, payload: dict) -> dict:
        """Check ``payload`` against the current schema; returns it JSON-safe or raises InvalidEvent."""
        spec = self.spec(event_type)
        try:
            loaded = spec.schema.load(payload)
        except marshmallow.ValidationError as err:
            raise InvalidEvent(event_type, err.messages) from None
        return spec.schema.dump(loaded)

    def upcast(self, event_type: str, schema_version: int, payload: dict) -> dict:
        """Lift a stored payload to the current schema version."""
        spec = self.spec(event_type)
        if schema_version > spec.version:
            raise ValueError(f"{event_type} v{schema_version} is newer than this code (v{spec.version})")
        for n in range(schema_version, spec.version):
            payload = spec.upcasters[n](dict(payload))
        return payload

    def to_new_event(self, event: DomainEvent, **metadata) -> NewEvent:
        """Serialise a domain event through its schema into a NewEvent."""
        spec = self._by_class.get(type(event))
        if spec is None:
            raise UnknownEventType(f"no schema registered for {type(event).__name__}")
        payload = spec.schema.dump(event.fields())
        return NewEvent(event_type=spec.event_type, payload=payload,
                        schema_version=spec.version, **metadata)

    def to_domain(self, envelope: Envelope) -> DomainEvent:
        """Load a stored event (upcast first) back into its domain dataclass."""
        spec = self.spec(envelope.event_type)
        if spec.event_class is None:
            raise UnknownEventType(f"{envelope.event_type} has no domain class registered")
        payload = self.upcast(envelope.event_type, envelope.schema_version, envelope.payload)
        try:
            fields = spec.schema.load(payload)
        except marshmallow.ValidationError as err:
            raise InvalidEvent(envelope.event_type, err.messages) from None
        return spec.event_class(**fields)
