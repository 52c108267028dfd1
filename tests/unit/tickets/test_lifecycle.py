"""The ticket's state machine, generated from the table in docs/tickets-lifecycle.md.

Every (state, command) cell of the table is one test: a state name means the command is
allowed, records exactly one event and ends in that state; "—" means InvalidTransition,
naming the current state and the allowed moves, with nothing recorded.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from services.tickets.domain import (COMMANDS, TRANSITIONS, CallbackRecorded, ExtensionDenied,
                                     ExtensionGranted, ExtensionRequested, InvalidTransition,
                                     Ticket, TicketAccepted, TicketCancelled, TicketClosed,
                                     TicketDispatched, TicketEscalated, TicketMerged,
                                     TicketOpened, TicketOverdue, TicketReopened,
                                     TicketResolved, TicketReturned, TicketState,
                                     TicketSupervised)

from .helpers import DEADLINE, T0, hours, open_kwargs

DOC = Path(__file__).resolve().parents[3] / "docs" / "tickets-lifecycle.md"
ILLEGAL = "—"


def parse_table(text: str) -> dict[str, dict[str, str]]:
    """Read the state × command table: {state: {command: resulting state or '—'}}."""
    lines = iter(text.splitlines())
    for line in lines:
        if line.startswith("| state \\ command"):
            header = [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
            break
    else:
        raise AssertionError(f"no state × command table in {DOC}")
    commands = header[1:]
    next(lines)  # the |---| separator
    table = {}
    for line in lines:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        state = cells[0].strip("*")
        assert len(cells) == len(header), f"row {state!r} has {len(cells)} cells"
        table[state] = dict(zip(commands, cells[1:]))
    return table


TABLE = parse_table(DOC.read_text("utf-8"))

SETUP_AT = T0 + hours(1)
COMMAND_AT = T0 + hours(2)
LATER = DEADLINE + dt.timedelta(days=7)

# The commands (with plausible arguments) that bring a ticket into each state.
STEPS = {
    "open": lambda t, at: t.open(**open_kwargs(at=at)),
    "dispatch": lambda t, at: t.dispatch(at=at, actor_id="dispatcher-1",
                                         assignee_kind="worker", assignee_id="worker-7",
                                         grid_code="SZ-ZC-03", reason="A post on duty"),
    "accept": lambda t, at: t.accept(at=at, actor_id="worker-7"),
    "return_ticket": lambda t, at: t.return_ticket(at=at, actor_id="worker-7",
                                                   reason="outside my grid"),
    "resolve": lambda t, at: t.resolve(at=at, actor_id="worker-7",
                                       resolution="mediated; deposit returned"),
    "record_callback": lambda t, at: t.record_callback(at=at, actor_id="operator-2",
                                                       rating="satisfied", comment=None),
    "record_unsatisfied_callback": lambda t, at: t.record_callback(
        at=at, actor_id="operator-2", rating="unsatisfied", comment="still no deposit"),
    "close": lambda t, at: t.close(at=at, actor_id="operator-2"),
    "reopen": lambda t, at: t.reopen(at=at, actor_id="supervisor-1", reason="redo",
                                     deadline=LATER),
    "request_extension": lambda t, at: t.request_extension(
        at=at, actor_id="worker-7", reason="waiting for the landlord", requested_deadline=LATER),
    "grant_extension": lambda t, at: t.grant_extension(at=at, actor_id="supervisor-1"),
    "deny_extension": lambda t, at: t.deny_extension(at=at, actor_id="supervisor-1",
                                                     reason="simple matter"),
    "record_overdue": lambda t, at: t.record_overdue(at=DEADLINE + dt.timedelta(days=1)),
    "supervise": lambda t, at: t.supervise(at=at, actor_id="supervisor-1", note="hurry up",
                                           new_deadline=DEADLINE + dt.timedelta(days=2)),
    "escalate_to_street": lambda t, at: t.escalate(at=at, actor_id="community-1",
                                                   level="street", reason="needs the street"),
    "escalate": lambda t, at: t.escalate(at=at, actor_id="street-1", level="district",
                                         reason="needs the district"),
    "merge": lambda t, at: t.merge(at=at, actor_id="operator-1", into_ticket_id="t-original"),
    "cancel": lambda t, at: t.cancel(at=at, actor_id="operator-1", reason="sorted it myself"),
}

PATHS = {
    "new": [],
    "opened": ["open"],
    "dispatched": ["open", "dispatch"],
    "accepted": ["open", "dispatch", "accept"],
    "extension_requested": ["open", "dispatch", "accept", "request_extension"],
    "returned": ["open", "dispatch", "return_ticket"],
    "escalated": ["open", "escalate_to_street"],
    "resolved": ["open", "dispatch", "accept", "resolve"],
    "callback_recorded": ["open", "dispatch", "accept", "resolve",
                          "record_unsatisfied_callback"],
    "closed": ["open", "dispatch", "accept", "resolve", "record_callback", "close"],
    "merged": ["open", "merge"],
    "cancelled": ["open", "cancel"],
}

EVENT_OF = {
    "open": TicketOpened, "dispatch": TicketDispatched, "accept": TicketAccepted,
    "return_ticket": TicketReturned, "resolve": TicketResolved,
    "record_callback": CallbackRecorded, "close": TicketClosed, "reopen": TicketReopened,
    "request_extension": ExtensionRequested, "grant_extension": ExtensionGranted,
    "deny_extension": ExtensionDenied, "record_overdue": TicketOverdue,
    "supervise": TicketSupervised, "escalate": TicketEscalated, "merge": TicketMerged,
    "cancel": TicketCancelled,
}


def ticket_in(state: str) -> Ticket:
    ticket = Ticket("t-under-test")
    for step in PATHS[state]:
        STEPS[step](ticket, SETUP_AT)
    ticket.collect()
    assert ticket.state == state, f"the set-up path for {state} ended in {ticket.state}"
    return ticket


CELLS = [(state, command, result) for state, row in TABLE.items()
         for command, result in row.items()]
LEGAL = [pytest.param(s, c, r, id=f"{c}_from_{s}_moves_to_{r}")
         for s, c, r in CELLS if r != ILLEGAL]
REFUSED = [pytest.param(s, c, id=f"{c}_from_{s}_is_refused")
           for s, c, r in CELLS if r == ILLEGAL]


def test_the_table_lists_every_state_and_every_command_once():
    assert list(TABLE) == [state.value for state in TicketState]
    for row in TABLE.values():
        assert list(row) == list(COMMANDS)


def test_the_code_follows_the_table_in_the_docs():
    in_code = {state.value: {c: TRANSITIONS[state].get(c, ILLEGAL) for c in COMMANDS}
               for state in TicketState}
    assert in_code == TABLE


@pytest.mark.parametrize("state, command, result", LEGAL)
def test_an_allowed_command_records_one_event_and_moves_to_the_state_in_the_table(
        state, command, result):
    ticket = ticket_in(state)
    version = ticket.version
    STEPS[command](ticket, COMMAND_AT)
    [event] = ticket.pending
    assert type(event) is EVENT_OF[command]
    assert event.ticket_id == ticket.id
    assert ticket.state == result
    assert ticket.version == version + 1


@pytest.mark.parametrize("state, command, result", LEGAL)
def test_replaying_the_events_gives_the_ticket_the_live_code_built(state, command, result):
    live = Ticket("t-under-test")
    for step in PATHS[state]:
        STEPS[step](live, SETUP_AT)
    STEPS[command](live, COMMAND_AT)
    replayed = Ticket.rehydrate(live.id, live.collect())
    assert vars(replayed) == vars(live)


@pytest.mark.parametrize("state, command", REFUSED)
def test_a_command_the_state_does_not_allow_is_refused_and_records_nothing(state, command):
    ticket = ticket_in(state)
    before = dict(vars(ticket))
    with pytest.raises(InvalidTransition) as refused:
        STEPS[command](ticket, COMMAND_AT)
    assert ticket.pending == ()
    assert vars(ticket) == before
    error = refused.value
    assert (error.state, error.command) == (state, command)
    assert f"it is {state}" in str(error)
    allowed = [c for c, r in TABLE[state].items() if r != ILLEGAL]
    assert list(error.allowed) == allowed
    for move in allowed:
        assert move in str(error)
    assert error.to_dict()["error"] == "invalid_transition"
