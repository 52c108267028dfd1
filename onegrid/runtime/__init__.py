"""nameko glue: hand each worker its store and unit of work; run the relay and projections.

Domain code never imports this package; a service's service.py does.
"""
from .consume import DeadLetters, Inbox, consume  # noqa: F401
from .store import EventLogRpc, Store, StoreKeeper  # noqa: F401
