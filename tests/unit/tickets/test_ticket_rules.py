"""The Ticket's rules beyond the state table: deadlines, overdue, reopen, escalation, privacy."""
from __future__ import annotations

import datetime as dt

import pytest

from services.tickets.domain import (PRIVATE_FIELDS, AlreadyOverdue, DeadlineNotPassed,
                                     DeadlinePassed, InvalidTicketCommand, NotReopenable,
                                     TicketOpened, overdue_due, public_payload)

from .helpers import DEADLINE, T0, hours, opened_ticket

DAY = dt.timedelta(days=1)


def accepted_ticket():
    ticket = opened_ticket()
    ticket.dispatch(at=T0 + hours(1), actor_id="d-1", assignee_kind="worker",
                    assignee_id="worker-7")
    ticket.accept(at=T0 + hours(2), actor_id="worker-7")
    ticket.collect()
    return ticket


def called_back(rating):
    ticket = accepted_ticket()
    ticket.resolve(at=T0 + hours(5), actor_id="worker-7", resolution="done")
    ticket.record_callback(at=T0 + hours(30), actor_id="op-2", rating=rating)
    ticket.collect()
    return ticket


def test_overdue_is_recorded_once_per_deadline():
    ticket = accepted_ticket()
    assert not overdue_due(ticket, DEADLINE)
    assert overdue_due(ticket, DEADLINE + hours(1))
    ticket.record_overdue(at=DEADLINE + hours(1))
    assert ticket.is_overdue
    assert not overdue_due(ticket, DEADLINE + hours(2))
    with pytest.raises(AlreadyOverdue):
        ticket.record_overdue(at=DEADLINE + hours(2))
    assert len(ticket.pending) == 1


def test_a_new_deadline_from_supervision_can_be_overdue_again():
    ticket = accepted_ticket()
    ticket.record_overdue(at=DEADLINE + hours(1))
    ticket.supervise(at=DEADLINE + hours(2), actor_id="sup-1", note="finish by Friday",
                     new_deadline=DEADLINE + DAY)
    assert not ticket.is_overdue
    assert overdue_due(ticket, DEADLINE + DAY + hours(1))
    ticket.record_overdue(at=DEADLINE + DAY + hours(1))
    assert ticket.overdue_deadlines == {DEADLINE, DEADLINE + DAY}


def test_overdue_before_the_deadline_is_refused():
    with pytest.raises(DeadlineNotPassed):
        accepted_ticket().record_overdue(at=DEADLINE)


def test_a_resolved_ticket_is_never_due_for_overdue():
    ticket = accepted_ticket()
    ticket.resolve(at=T0 + hours(3), actor_id="worker-7", resolution="done")
    assert not overdue_due(ticket, DEADLINE + DAY)


def test_an_extension_must_be_asked_before_the_deadline():
    ticket = accepted_ticket()
    with pytest.raises(DeadlinePassed, match="before the deadline"):
        ticket.request_extension(at=DEADLINE + hours(1), actor_id="worker-7", reason="r",
                                 requested_deadline=DEADLINE + DAY)
    assert ticket.pending == ()


def test_an_extension_must_ask_for_a_later_deadline():
    with pytest.raises(InvalidTicketCommand):
        accepted_ticket().request_extension(at=T0 + hours(3), actor_id="worker-7",
                                            reason="r", requested_deadline=DEADLINE)


def test_a_granted_extension_moves_the_deadline_to_the_requested_one():
    ticket = accepted_ticket()
    ticket.request_extension(at=T0 + hours(3), actor_id="worker-7", reason="parts on order",
                             requested_deadline=DEADLINE + 3 * DAY)
    ticket.grant_extension(at=T0 + hours(4), actor_id="sup-1")
    assert ticket.deadline == DEADLINE + 3 * DAY
    assert ticket.pending[-1].previous_deadline == DEADLINE


def test_a_supervisor_may_grant_a_shorter_extension_than_asked():
    ticket = accepted_ticket()
    ticket.request_extension(at=T0 + hours(3), actor_id="worker-7", reason="parts on order",
                             requested_deadline=DEADLINE + 3 * DAY)
    ticket.grant_extension(at=T0 + hours(4), actor_id="sup-1", new_deadline=DEADLINE + DAY)
    assert ticket.deadline == DEADLINE + DAY


def test_a_denied_extension_keeps_the_deadline():
    ticket = accepted_ticket()
    ticket.request_extension(at=T0 + hours(3), actor_id="worker-7", reason="r",
                             requested_deadline=DEADLINE + 3 * DAY)
    ticket.deny_extension(at=T0 + hours(4), actor_id="sup-1", reason="simple matter")
    assert ticket.deadline == DEADLINE and ticket.state == "accepted"


def test_resolving_after_an_extension_is_on_time_against_the_new_deadline():
    ticket = accepted_ticket()
    ticket.request_extension(at=T0 + hours(3), actor_id="worker-7", reason="r",
                             requested_deadline=DEADLINE + 3 * DAY)
    ticket.grant_extension(at=T0 + hours(4), actor_id="sup-1")
    ticket.resolve(at=DEADLINE + DAY, actor_id="worker-7", resolution="done")
    assert ticket.pending[-1].on_time is True


def test_resolving_after_the_deadline_is_late():
    ticket = accepted_ticket()
    ticket.resolve(at=DEADLINE + hours(1), actor_id="worker-7", resolution="done")
    assert ticket.pending[-1].on_time is False and ticket.on_time is False


def test_only_an_unsatisfied_callback_can_reopen_the_ticket():
    ticket = called_back("basically_satisfied")
    with pytest.raises(NotReopenable, match="close it instead"):
        ticket.reopen(at=T0 + hours(31), actor_id="sup-1", reason="r", deadline=DEADLINE + DAY)
    assert ticket.pending == ()


def test_a_reopened_ticket_goes_back_to_its_assignee_with_a_fresh_deadline():
    ticket = called_back("unsatisfied")
    ticket.reopen(at=T0 + hours(31), actor_id="sup-1", reason="still noisy",
                  deadline=DEADLINE + 3 * DAY)
    assert (ticket.state, ticket.assignee_id) == ("dispatched", "worker-7")
    assert ticket.deadline == DEADLINE + 3 * DAY
    assert ticket.resolved_at is None and ticket.reopen_count == 1


def test_closing_carries_the_final_rating_and_punctuality():
    ticket = called_back("satisfied")
    ticket.close(at=T0 + hours(32), actor_id="op-2")
    closed = ticket.pending[-1]
    assert (closed.rating, closed.on_time) == ("satisfied", True)


def test_escalation_only_goes_up():
    ticket = opened_ticket()
    ticket.escalate(at=T0 + hours(1), actor_id="c-1", level="street", reason="too big")
    with pytest.raises(InvalidTicketCommand, match="higher level"):
        ticket.escalate(at=T0 + hours(2), actor_id="s-1", level="street", reason="again")
    with pytest.raises(InvalidTicketCommand, match="one of"):
        ticket.escalate(at=T0 + hours(2), actor_id="s-1", level="province", reason="r")
    ticket.escalate(at=T0 + hours(2), actor_id="s-1", level="district", reason="needs it")
    assert ticket.level == "district"


def test_returning_clears_the_assignee_and_names_who_returned_it():
    ticket = accepted_ticket()
    ticket.return_ticket(at=T0 + hours(3), actor_id="worker-7", reason="outside my grid")
    assert ticket.assignee_id is None
    assert ticket.pending[-1].assignee_id == "worker-7"


def test_a_ticket_cannot_be_merged_into_itself():
    ticket = opened_ticket("t-1")
    with pytest.raises(InvalidTicketCommand):
        ticket.merge(at=T0, actor_id="op-1", into_ticket_id="t-1")


def test_a_naive_time_is_refused():
    with pytest.raises(InvalidTicketCommand, match="timezone-aware"):
        opened_ticket().dispatch(at=dt.datetime(2026, 3, 2, 10), actor_id="d",
                                 assignee_kind="worker", assignee_id="w")


def test_a_blank_reason_is_refused_by_name():
    with pytest.raises(InvalidTicketCommand, match="reason"):
        accepted_ticket().return_ticket(at=T0 + hours(3), actor_id="w", reason="  ")


def test_opening_needs_some_location():
    with pytest.raises(InvalidTicketCommand, match="location"):
        opened_ticket(lat=None, lng=None, address=None, grid_code=None)


def test_an_unknown_channel_is_refused_listing_the_channels():
    with pytest.raises(InvalidTicketCommand, match="hotline_12345"):
        opened_ticket(channel="fax")


def test_the_public_payload_leaves_out_the_reporter():
    event = opened_ticket().opened
    assert PRIVATE_FIELDS["TicketOpened"] == {"reporter_name", "reporter_phone"}
    public = public_payload(event)
    assert "reporter_name" not in public and "reporter_phone" not in public
    assert set(public) == set(event.fields()) - PRIVATE_FIELDS["TicketOpened"]
    assert isinstance(event, TicketOpened)
