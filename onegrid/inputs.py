"""The boundary: load raw input through a marshmallow schema, and say who acts."""
from __future__ import annotations

from typing import Optional

import marshmallow

from .envelope import Actor
from .errors import InvalidInput

#: who acts when a caller names nobody (an RPC client of another service, a script)
RPC = Actor("rpc", "system")


def load_input(schema, data, **options):
    """``schema`` (a class or an instance) loads ``data``; InvalidInput names every bad field."""
    instance = schema(**options) if isinstance(schema, type) else schema
    if not isinstance(data, dict):
        raise InvalidInput({"_schema": ["Give the fields as an object of names and values."]})
    try:
        return instance.load(data)
    except marshmallow.ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        raise InvalidInput(messages) from None


def actor_from(actor: Optional[dict], fields: Optional[dict] = None) -> Actor:
    """Who acts: ``actor={"id", "role"}``; else the command's ``actor_id`` as a ``user``; else RPC.

    A given actor also fills the command's ``actor_id`` when the caller left it out.
    """
    if actor is None:
        if fields and fields.get("actor_id"):
            return Actor(str(fields["actor_id"]), "user")
        return RPC
    if not isinstance(actor, dict) or not actor.get("id") or not actor.get("role"):
        raise InvalidInput({"actor": ["Give the actor as {'id': ..., 'role': ...}."]})
    if fields is not None:
        fields.setdefault("actor_id", str(actor["id"]))
    return Actor(str(actor["id"]), str(actor["role"]))
