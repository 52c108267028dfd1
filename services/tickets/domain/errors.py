"""The tickets service's typed errors: one small hierarchy, mapped to HTTP in one table."""
from __future__ import annotations

from typing import Iterable

from onegrid.domain import DomainError


class TicketError(DomainError):
    """Base of every error the tickets service raises on purpose."""

    code = "ticket_error"


class InvalidTransition(TicketError):
    """A command that the ticket's current state does not allow; nothing was recorded."""

    code = "invalid_transition"

    def __init__(self, ticket_id: str, state: str, command: str, allowed: Iterable[str]):
        self.ticket_id = ticket_id
        self.state = str(state)
        self.command = command
        self.allowed = tuple(allowed)
        moves = ", ".join(self.allowed) if self.allowed else "none (the ticket is finished)"
        super().__init__(
            f"cannot {command} ticket {ticket_id!r}: it is {self.state}; "
            f"allowed from {self.state}: {moves}"
        )

    def to_dict(self) -> dict:
        """Describe the refusal, with the current state and the allowed moves."""
        return {**super().to_dict(), "state": self.state, "command": self.command,
                "allowed": list(self.allowed)}


class TicketNotFound(TicketError):
    code = "ticket_not_found"

    def __init__(self, ticket_id: str):
        self.ticket_id = ticket_id
        super().__init__(f"no ticket {ticket_id!r}; check the id or open the ticket first")


class TicketAlreadyExists(TicketError):
    code = "ticket_already_exists"

    def __init__(self, ticket_id: str):
        self.ticket_id = ticket_id
        super().__init__(f"ticket {ticket_id!r} already exists; open it under a new id")


class InvalidTicketCommand(TicketError):
    """A command whose arguments break a rule of the domain (not of the state machine)."""

    code = "invalid_command"


class UnknownCategory(TicketError):
    code = "unknown_category"

    def __init__(self, category_code: str):
        self.category_code = category_code
        super().__init__(f"no category {category_code!r} in the catalogue; use a listed code")


class DeadlinePassed(TicketError):
    """An extension asked for after the deadline it would move (延期 must come before)."""

    code = "deadline_passed"


class DeadlineNotPassed(TicketError):
    """An overdue mark asked for before the deadline has passed."""

    code = "deadline_not_passed"


class AlreadyOverdue(TicketError):
    """A second TicketOverdue for the same deadline."""

    code = "already_overdue"


class NotReopenable(TicketError):
    """A reopen after a callback that was not unsatisfied."""

    code = "not_reopenable"


class InvalidInput(TicketError):
    """Input that failed the boundary's schema; ``errors`` maps each bad field to its reasons.

    Nothing was stored. The message names every bad field, so it survives nameko's
    ``RemoteError(exc_type, message)`` intact.
    """

    code = "invalid_input"

    def __init__(self, errors: dict):
        self.errors = errors
        parts = []
        for field in sorted(errors, key=str):
            reasons = errors[field]
            if isinstance(reasons, (list, tuple)):
                reasons = " ".join(str(r) for r in reasons)
            parts.append(f"{field}: {reasons}")
        super().__init__("invalid input — " + "; ".join(parts))

    def to_dict(self) -> dict:
        return {**super().to_dict(), "fields": self.errors}
