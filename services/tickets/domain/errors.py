"""The tickets service's typed errors: one small hierarchy over the kernel's bases.

Each error derives from ``TicketError`` and from the kernel base that says what kind of
refusal it is (``NotFound``, ``Conflict``, ``InvalidInput``), which the gateway maps to HTTP.
"""
from __future__ import annotations

from typing import Iterable

from onegrid.errors import Conflict, DomainError, InvalidInput, NotFound


class TicketError(DomainError):
    """Base of every error the tickets service raises on purpose."""

    code = "ticket_error"


class InvalidTransition(TicketError, Conflict):
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


class TicketNotFound(TicketError, NotFound):
    code = "ticket_not_found"

    def __init__(self, ticket_id: str):
        self.ticket_id = ticket_id
        super().__init__(f"no ticket {ticket_id!r}; check the id or open the ticket first")


class TicketAlreadyExists(TicketError, Conflict):
    code = "ticket_already_exists"

    def __init__(self, ticket_id: str):
        self.ticket_id = ticket_id
        super().__init__(f"ticket {ticket_id!r} is already open under that id: read it, or "
                         "retry with the same command id to get the first reply")


class InvalidTicketCommand(TicketError, InvalidInput):
    """A command whose arguments break a rule of the domain (not of the state machine)."""

    code = "invalid_command"

    def __init__(self, message: str):
        super().__init__({"_schema": [message]})


class UnknownCategory(TicketError, InvalidInput):
    code = "unknown_category"

    def __init__(self, category_code: str):
        self.category_code = category_code
        super().__init__({"category_code": [
            f"no category {category_code!r} in the catalogue; use a listed code"]})


class DeadlinePassed(TicketError, Conflict):
    """An extension asked for after the deadline it would move (延期 must come before)."""

    code = "deadline_passed"


class DeadlineNotPassed(TicketError, Conflict):
    """An overdue mark asked for before the deadline has passed."""

    code = "deadline_not_passed"


class AlreadyOverdue(TicketError, Conflict):
    """A second TicketOverdue for the same deadline."""

    code = "already_overdue"


class NotReopenable(TicketError, Conflict):
    """A reopen after a callback that was not unsatisfied."""

    code = "not_reopenable"
