"""The worked examples of docs/ticket-rates.md, figure by figure."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from onegrid.testing import CST
from services.tickets.domain.rates import Rate, Scope, TicketSummary, compute_rates

MARCH = dt.datetime(2026, 3, 1, tzinfo=CST)
APRIL = dt.datetime(2026, 4, 1, tzinfo=CST)
NOW = dt.datetime(2026, 3, 31, 18, 0, tzinfo=CST)


def at(month_day: str, hhmm: str = "23:59:59") -> dt.datetime:
    return dt.datetime.fromisoformat(f"2026-{month_day}T{hhmm}").replace(tzinfo=CST)


def summary(ticket_id, channel, category, opened, deadline, accepted=None, resolved=None,
            on_time=None, rating=None, state="opened", grid="SZ-ZC-05", street="shazhou",
            community="zhongcheng"):
    return TicketSummary(
        ticket_id=ticket_id, channel=channel, category_code=category, street=street,
        community=community, grid_code=grid, state=state, opened_at=opened,
        deadline=at(deadline), accepted_at=accepted, resolved_at=resolved, on_time=on_time,
        rating=rating, closed_at=resolved + dt.timedelta(days=2) if state == "closed" else None)


SUMMARIES = [
    summary("T1", "hotline_12345", "legal_advice", at("03-02", "09:00"), "03-05",
            at("03-02", "10:30"), at("03-04", "09:00"), True, "satisfied", "closed",
            grid="SZ-ZC-03"),
    summary("T2", "hotline_12345", "noise_nuisance", at("03-03", "14:00"), "03-20",
            at("03-03", "16:00"), at("03-23", "10:00"), False, "basically_satisfied", "closed"),
    summary("T3", "patrol", "rubbish_not_cleared", at("03-10", "08:00"), "03-27",
            at("03-10", "08:30"), at("03-11", "08:00"), True, "unsatisfied",
            "callback_recorded", grid="SZ-ZC-03"),
    summary("T4", "resident_complaint", "neighbour_dispute", at("03-16", "09:00"), "04-02",
            at("03-16", "13:00"), state="accepted"),
    summary("T5", "walk_in", "legal_advice", at("03-20", "10:00"), "03-25",
            state="dispatched", grid="SZ-ZC-03"),
    summary("T6", "hotline_12345", "noise_nuisance", at("03-03", "15:00"), "03-20",
            state="merged"),
    summary("T7", "hotline_12345", "legal_advice",
            dt.datetime(2026, 2, 27, 9, tzinfo=CST), "03-04", state="opened"),
    summary("T8", "hotline_12345", "legal_advice", at("03-05", "09:00"), "03-10",
            state="opened", street="nanyuan", community="somewhere", grid="NY-01"),
]


def test_example_1_shazhou_street_in_march_gives_the_figures_worked_by_hand():
    rates = compute_rates(SUMMARIES, Scope("street", "shazhou"), MARCH, APRIL, NOW)
    assert (rates.received, rates.counted) == (6, 5)
    assert rates.by_channel == {"hotline_12345": 3, "patrol": 1, "resident_complaint": 1,
                                "walk_in": 1}
    assert rates.by_category == {"legal_advice": 2, "neighbour_dispute": 1,
                                 "noise_nuisance": 2, "rubbish_not_cleared": 1}
    assert rates.closure_rate == Rate(2, 5)
    assert rates.closure_rate.percent == Decimal("40.00")
    assert rates.on_time_rate == Rate(2, 4)
    assert rates.on_time_rate.percent == Decimal("50.00")
    assert rates.satisfaction_rate == Rate(2, 3)
    assert rates.satisfaction_rate.percent == Decimal("66.67")
    assert rates.average_hours_to_accept == Decimal("2.00")
    assert rates.average_hours_to_resolve == Decimal("182.67")


def test_example_2_grid_sz_zc_03_counts_only_its_own_tickets():
    rates = compute_rates(SUMMARIES, Scope("grid", "SZ-ZC-03"), MARCH, APRIL, NOW)
    assert (rates.received, rates.counted) == (3, 3)
    assert rates.closure_rate.percent == Decimal("33.33")
    assert rates.on_time_rate == Rate(2, 3)
    assert rates.on_time_rate.percent == Decimal("66.67")
    assert rates.satisfaction_rate.percent == Decimal("50.00")
    assert rates.average_hours_to_accept == Decimal("1.00")
    assert rates.average_hours_to_resolve == Decimal("36.00")


def test_example_3_a_scope_without_tickets_has_no_figures_rather_than_zero():
    rates = compute_rates(SUMMARIES, Scope("community", "aoti"), MARCH, APRIL, NOW)
    assert (rates.received, rates.counted) == (0, 0)
    assert rates.closure_rate.percent is None
    assert rates.on_time_rate.percent is None
    assert rates.satisfaction_rate.percent is None
    assert rates.average_hours_to_accept is None
    assert rates.average_hours_to_resolve is None
    assert rates.by_channel == {} and rates.by_category == {}


@pytest.mark.parametrize("numerator, denominator, shown", [
    (1, 160, "0.63"), (199, 200, "99.50"), (1, 6, "16.67"), (5, 6, "83.33")])
def test_example_4_percentages_round_half_up_to_two_places(numerator, denominator, shown):
    assert Rate(numerator, denominator).percent == Decimal(shown)


def test_the_district_scope_counts_every_street():
    rates = compute_rates(SUMMARIES, Scope("district"), MARCH, APRIL, NOW)
    assert rates.received == 7  # T1–T6 and Nanyuan's T8; T7 is February's


def test_the_rates_describe_themselves_in_json_safe_types():
    figures = compute_rates(SUMMARIES, Scope("street", "shazhou"), MARCH, APRIL, NOW).to_dict()
    assert figures["closure_rate"] == {"numerator": 2, "denominator": 5, "percent": "40.00"}
    assert figures["average_hours_to_resolve"] == "182.67"


def test_a_scope_below_the_district_needs_a_code():
    with pytest.raises(ValueError):
        Scope("grid")


def test_a_summary_is_taken_straight_from_a_ticket_aggregate():
    from .helpers import T0, hours, opened_ticket
    ticket = opened_ticket("t-1")
    ticket.dispatch(at=T0 + hours(1), actor_id="d", assignee_kind="worker", assignee_id="w")
    ticket.accept(at=T0 + hours(2), actor_id="w")
    ticket.resolve(at=T0 + hours(3), actor_id="w", resolution="done")
    row = TicketSummary.of(ticket)
    assert (row.state, row.on_time, row.grid_code) == ("resolved", True, "SZ-ZC-03")
    assert row.accepted_at - row.opened_at == hours(2)
