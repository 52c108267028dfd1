"""The ticket's states and the commands each state allows (docs/tickets-lifecycle.md).

The table in the docs is the specification and the tests are generated from it; this dict
is the code's copy, and a test checks that the two agree.
"""
from __future__ import annotations

from enum import StrEnum


class TicketState(StrEnum):
    NEW = "new"                          # not opened yet: only `open` is allowed
    OPENED = "opened"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"                # 签收
    EXTENSION_REQUESTED = "extension_requested"  # 延期 asked, awaiting a decision
    RETURNED = "returned"                # 退单
    ESCALATED = "escalated"              # awaiting dispatch at the street or district
    RESOLVED = "resolved"
    CALLBACK_RECORDED = "callback_recorded"  # 回访 done
    CLOSED = "closed"
    MERGED = "merged"
    CANCELLED = "cancelled"


S = TicketState

# Every command the aggregate knows, in the order of the docs table's columns.
COMMANDS: tuple[str, ...] = (
    "open", "dispatch", "accept", "return_ticket", "resolve", "record_callback", "close",
    "reopen", "request_extension", "grant_extension", "deny_extension", "record_overdue",
    "supervise", "escalate", "merge", "cancel",
)

# Commands that keep a ticket running while it is unresolved.
_WHILE_UNRESOLVED = {"record_overdue", "supervise"}


def _stay(state: TicketState, commands: set[str]) -> dict[str, TicketState]:
    return {command: state for command in commands}


# state -> {command: resulting state}; a command not listed is an InvalidTransition.
TRANSITIONS: dict[TicketState, dict[str, TicketState]] = {
    S.NEW: {"open": S.OPENED},
    S.OPENED: {
        "dispatch": S.DISPATCHED, "escalate": S.ESCALATED, "merge": S.MERGED,
        "cancel": S.CANCELLED, **_stay(S.OPENED, _WHILE_UNRESOLVED),
    },
    S.DISPATCHED: {
        "dispatch": S.DISPATCHED, "accept": S.ACCEPTED, "return_ticket": S.RETURNED,
        "escalate": S.ESCALATED, "merge": S.MERGED, **_stay(S.DISPATCHED, _WHILE_UNRESOLVED),
    },
    S.ACCEPTED: {
        "dispatch": S.DISPATCHED, "return_ticket": S.RETURNED, "resolve": S.RESOLVED,
        "request_extension": S.EXTENSION_REQUESTED, "escalate": S.ESCALATED,
        "merge": S.MERGED, **_stay(S.ACCEPTED, _WHILE_UNRESOLVED),
    },
    S.EXTENSION_REQUESTED: {
        "resolve": S.RESOLVED, "grant_extension": S.ACCEPTED, "deny_extension": S.ACCEPTED,
        **_stay(S.EXTENSION_REQUESTED, _WHILE_UNRESOLVED),
    },
    S.RETURNED: {
        "dispatch": S.DISPATCHED, "escalate": S.ESCALATED, "merge": S.MERGED,
        **_stay(S.RETURNED, _WHILE_UNRESOLVED),
    },
    S.ESCALATED: {
        "dispatch": S.DISPATCHED, "escalate": S.ESCALATED, "merge": S.MERGED,
        **_stay(S.ESCALATED, _WHILE_UNRESOLVED),
    },
    S.RESOLVED: {"record_callback": S.CALLBACK_RECORDED},
    S.CALLBACK_RECORDED: {"close": S.CLOSED, "reopen": S.DISPATCHED},
    S.CLOSED: {},
    S.MERGED: {},
    S.CANCELLED: {},
}

UNRESOLVED_STATES = frozenset(
    state for state, moves in TRANSITIONS.items() if "record_overdue" in moves
)


def allowed_commands(state: TicketState) -> tuple[str, ...]:
    """Return the commands allowed from ``state``, in the table's column order."""
    moves = TRANSITIONS[state]
    return tuple(command for command in COMMANDS if command in moves)
