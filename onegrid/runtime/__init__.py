"""nameko glue: hand each worker its store, commands and inbox; run the relay and projections.

Domain code never imports this package; a service's service.py does.
"""
from .commands import Commands  # noqa: F401
from .consume import consume  # noqa: F401
from .dead_letters import DeadLetters  # noqa: F401
from .inbox import Inbox  # noqa: F401
from .rpc import rpc  # noqa: F401
from .store import EventLogRpc, Setup, Store, StoreKeeper  # noqa: F401
from .timer import timer  # noqa: F401
