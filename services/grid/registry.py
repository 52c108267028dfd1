"""The grid service's event registry: every event type with its payload schema."""
from onegrid.registry import EventRegistry

from .schemas import EVENT_SCHEMAS

REGISTRY = EventRegistry("grid")
REGISTRY.register_all(EVENT_SCHEMAS)
