"""Commands: validate input, build the command, run its handler in one transaction.

A service declares ``commands = Commands(COMMANDS, COMMAND_SCHEMAS)``; an ``@rpc`` method
reads ``return self.commands.run(AcceptTicket, fields, actor)``. ``COMMANDS`` maps each
command class to a plain function ``handler(uow, cmd, ctx) -> dict``; ``COMMAND_SCHEMAS``
maps it to the marshmallow schema that loads the caller's fields into the command's.
"""
from __future__ import annotations

from typing import Callable, Optional

from nameko.extensions import DependencyProvider

import uuid

from ..envelope import new_event_id
from ..errors import InvalidInput
from ..inputs import actor_from, load_input
from ..uow import CommandId, UnitOfWork, fingerprint
from .rpc import request_id
from .store import StoreKeeper, WorkerStore

#: the namespace of ids derived from command ids (uuid5)
_DERIVED = uuid.UUID("6f1d8a52-6c1e-4d0e-9a51-0e6a1b7c2d40")


def derived_id(command_id: str, field: str) -> str:
    """The id a command creates, the same on every run of that command."""
    return str(uuid.uuid5(_DERIVED, f"{command_id}/{field}"))

Handler = Callable[[UnitOfWork, object, object], object]


def takes_actor_id(schema) -> bool:
    """Whether a command's schema has an ``actor_id`` field for the kernel to fill in."""
    instance = schema() if isinstance(schema, type) else schema
    return "actor_id" in instance.fields


class BoundCommands:
    def __init__(self, provider: "Commands", worker_ctx):
        self._provider = provider
        self._worker_ctx = worker_ctx
        self._store = WorkerStore(provider.keeper, worker_ctx)

    @property
    def ctx(self):
        return self._provider.keeper.context

    def load(self, command_class: type, fields: dict):
        """The command built from the caller's fields (InvalidInput names every bad one)."""
        return command_class(**load_input(self._provider.schemas[command_class], fields))

    def run(self, command_class: type, fields: Optional[dict] = None, actor: Optional[dict] = None,
            *, new_id: Optional[str] = None):
        """Validate ``fields`` into ``command_class`` and run its handler once; returns its result.

        The command's id is the caller's ``command_id`` field, else the RPC request's own id
        (it survives a redelivery). A repeat of an id returns the first result and records
        nothing. ``new_id`` names the field that holds the id of what the command creates
        (``ticket_id``): when the caller leaves it out it is derived from the command id,
        so a repeat creates nothing new.
        """
        fields = dict(fields or {})
        command_id = fields.pop("command_id", None) or request_id(self._worker_ctx)
        if command_id is not None and (not isinstance(command_id, str) or not command_id
                                       or len(command_id) > 200):
            raise InvalidInput({"command_id": ["Give a string of 1 to 200 characters."]})
        if new_id and not fields.get(new_id):
            fields[new_id] = derived_id(command_id, new_id) if command_id else new_event_id()
        who = actor_from(actor, fields if command_class in self._provider.fill_actor_id else None)
        cmd = self.load(command_class, fields)
        once = CommandId(command_id, fingerprint(cmd)) if command_id else None
        return self.execute(cmd, actor=who, command=once)

    def execute(self, cmd, *, actor=None, command: Optional[CommandId] = None):
        """Run the handler of an already built command (timers, internal steps)."""
        handler = self._provider.handlers[type(cmd)]
        ctx = self.ctx
        options = {"actor": actor} if actor is not None else {}
        return self._store.command(lambda uow: handler(uow, cmd, ctx), command=command,
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
        #: the commands whose schema takes the actor's id (worked out once, not per call)
        self.fill_actor_id = frozenset(c for c, schema in schemas.items() if takes_actor_id(schema))

    def get_dependency(self, worker_ctx):
        return BoundCommands(self, worker_ctx)
