"""Property: whatever sequence of commands a ticket goes through, replay equals live."""
from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from services.tickets.domain import TicketError, Ticket

from .helpers import T0
from .test_lifecycle import STEPS

COMMANDS = sorted(STEPS)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(COMMANDS), st.integers(0, 24 * 20)), max_size=25))
def test_replaying_the_recorded_events_rebuilds_the_ticket_the_commands_built(script):
    live = Ticket("t-prop")
    for command, minutes in script:
        version, pending = live.version, len(live.pending)
        try:
            STEPS[command](live, T0 + dt.timedelta(hours=minutes / 10))
        except TicketError:
            # A refused command records nothing.
            assert (live.version, len(live.pending)) == (version, pending)
    replayed = Ticket.rehydrate(live.id, live.collect())
    assert vars(replayed) == vars(live)
