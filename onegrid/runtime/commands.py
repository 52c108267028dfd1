"""Commands: validate input, build the command, run its handler in one transaction.

A service declares ``commands = Commands(COMMANDS, COMMAND_SCHEMAS)``; an ``@rpc`` method
reads ``return self.commands.run(AcceptTicket, fields, actor)``. ``COMMANDS`` maps each
command class to a plain function ``handler(uow, cmd, ctx) -> dict``; ``COMMAND_SCHEMAS``
maps it to the marshmallow schema that loads the caller's fields into the command's.
"""
from __future__ import annotations

from typing import Callable, Optional

from nameko.extensions import DependencyProvider

from ..inputs import actor_from, load_input
from ..uow import UnitOfWork
from .store import StoreKeeper, WorkerStore

Handler = Callable[[UnitOfWork, object, object], object]


class BoundCommands:
    def __init__(self, provider: "Commands", worker_ctx):
        self._provider = provider
        self._store = WorkerStore(provider.keeper, worker_ctx)

    @property
    def ctx(self):
        return self._provider.keeper.context

    def load(self, command_class: type, fields: dict):
        """The command built from the caller's fields (InvalidInput names every bad one)."""
        return command_class(**load_input(self._provider.schemas[command_class], fields))

    def run(self, command_class: type, fields: Optional[dict] = None, actor: Optional[dict] = None):
        """Validate ``fields`` into ``command_class`` and run its handler; returns its result."""
        fields = dict(fields or {})
        who = actor_from(actor, fields)
        cmd = self.load(command_class, fields)
        return self.execute(cmd, actor=who)

    def execute(self, cmd, *, actor=None):
        """Run the handler of an already built command (timers, internal steps)."""
        handler = self._provider.handlers[type(cmd)]
        ctx = self.ctx
        options = {"actor": actor} if actor is not None else {}
        return self._store.command(lambda uow: handler(uow, cmd, ctx),
                                   settle=self._provider.settle, **options)


class Commands(DependencyProvider):
    """Declare on a service: ``commands = Commands(COMMANDS, COMMAND_SCHEMAS, settle=False)``.

    With ``settle``, a command returns only once the service's read models show it (for
    callers that read what they just wrote, as the grid's map does).
    """

    keeper = StoreKeeper()

    def __init__(self, handlers: dict[type, Handler], schemas: dict[type, object], *,
                 settle: bool = False):
        self.handlers = handlers
        self.schemas = schemas
        self.settle = settle

    def get_dependency(self, worker_ctx):
        return BoundCommands(self, worker_ctx)
