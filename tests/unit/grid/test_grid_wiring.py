"""Pure checks of the wiring: reassignment rules, input errors."""
import pytest

from onegrid.errors import InvalidInput
from onegrid.inputs import load_input
from services.grid.domain import InvalidDecision, TicketDispatch
from services.grid.schemas import StartPatrol

DECISION = dict(ticket_id="t1", ticket_version=1, assignee_kind="worker", assignee_id="wa",
                grid_code="g1", community_code="co", street_code="st", step="post_a",
                reason="A post wa of grid g1 is on duty", rule_version=1)


def test_a_reassignment_away_from_the_holder_keeps_the_ticket_version_and_happens_once():
    record = TicketDispatch(TicketDispatch.stream_id("t1"))
    assert record.decide(**DECISION)
    moved = dict(DECISION, assignee_id="wb", step="post_b", ticket_version=99)
    assert record.reassign_from("wa", trigger="worker_on_leave", **moved)
    assert record.last.ticket_version == 1 and record.last.trigger == "worker_on_leave"
    assert not record.reassign_from("wa", trigger="worker_on_leave", **moved)  # no longer wa's


def test_a_reassignment_never_chooses_the_worker_it_moves_away_from():
    record = TicketDispatch(TicketDispatch.stream_id("t1"))
    record.decide(**DECISION)
    with pytest.raises(InvalidDecision):
        record.reassign_from("wa", trigger="worker_left", **DECISION)


def test_bad_rpc_input_names_every_bad_field():
    with pytest.raises(InvalidInput) as error:
        load_input(StartPatrol, {"patrol_id": "p", "grid_code": "g", "worker_id": "w",
                                   "at": "2024-05-06T09:00:00", "lat": 95, "lng": 118.7,
                                   "colour": "red"})
    message = str(error.value)
    assert "at: not a timezone-aware" in message and "lat: lat 95" in message
    assert "colour: Unknown field" in message
