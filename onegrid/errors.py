"""The kernel's error hierarchy: every service's typed errors derive from one of these.

Standard library only (domains import it). Each error has a stable ``code``; the gateway
maps the base classes to HTTP in one table (``InvalidInput`` 400, ``Forbidden`` 403,
``NotFound`` 404, ``Conflict`` 409, ``ServiceUnavailable`` 503).
"""
from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    """Base of every error a service raises on purpose; nothing was recorded."""

    code: ClassVar[str] = "domain_error"
    #: a caller may send the same command again (with the same command id) and succeed
    retryable: ClassVar[bool] = False

    def to_dict(self) -> dict:
        """Describe the error for RPC and HTTP callers."""
        return {"error": self.code, "message": str(self)}


class InvalidInput(DomainError):
    """Input that failed its schema; ``errors`` maps each bad field to its reasons.

    The message names every bad field, so it survives nameko's ``RemoteError(type, message)``.
    """

    code = "invalid_input"

    def __init__(self, errors: dict):
        if not isinstance(errors, dict):
            raise TypeError("InvalidInput takes {field: reasons}")
        self.errors = errors
        super().__init__("invalid input: " + describe(errors))

    def to_dict(self) -> dict:
        return {**super().to_dict(), "fields": self.errors}


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    """The command clashes with what is recorded (a state, a version, a registration)."""

    code = "conflict"


class Forbidden(DomainError):
    code = "forbidden"


class ServiceUnavailable(DomainError):
    """The service's database or broker is away; nothing was recorded. Retry with the same id."""

    code = "service_unavailable"
    retryable = True


def describe(errors) -> str:
    """Field errors as one line: ``score: between 0 and 100; when.day: not a date``."""
    parts = []
    for name, problem in sorted(errors.items(), key=lambda kv: str(kv[0])):
        if isinstance(problem, dict):
            inner = describe(problem)
            parts.append(inner if name == "_schema" else f"{name}: {inner}")
        elif isinstance(problem, (list, tuple)):
            text = " ".join(describe(p) if isinstance(p, dict) else str(p) for p in problem)
            parts.append(text if name == "_schema" else f"{name}: {text}")
        else:
            parts.append(str(problem) if name == "_schema" else f"{name}: {problem}")
    return "; ".join(parts)


class CommandIdReused(Conflict):
    """A command id sent again with other arguments; nothing was recorded."""

    code = "command_id_reused"

    def __init__(self, command_id: str):
        self.command_id = command_id
        super().__init__(
            f"command id {command_id!r} was already used for a command with other arguments; "
            "send a new command under a new id, or repeat the first one exactly")
