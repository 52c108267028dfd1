"""Aggregate rules: inputs are deduplicated, closings are idempotent, late inputs adjust."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.performance.domain import (
    AnnualGradeAwarded, AnnualPayComputed, Ledger, PayAdjusted, QuarterClosed,
    QuarterlyGradeAwarded, QuarterlyPayComputed, StreetPeriod, WorkerRecord, YearClosed, explain,
)
from onegrid.errors import InvalidInput
from services.performance.domain.errors import (
    AssessmentAlreadyRecorded, AssessmentNotFound, CorrectionNeedsReason,
    InvalidScore, PeriodNotClosed, PeriodNotEnded, PolicyForClosedPeriod, PolicyMissing,
    PolicyVersionConflict, YearNotReady,
)
from services.performance.domain.periods import Quarter, quarters_of

from .helpers import AFTER_Q3, Q3, STREET, Msg, Office, example_office, standard_policy


def test_closing_a_quarter_records_the_closing_then_a_grade_and_pay_per_worker():
    office = example_office()
    office.street.collect()
    assert office.close() is True
    kinds = [type(e) for e in office.street.collect()]
    assert kinds[0] is QuarterClosed
    assert kinds.count(QuarterlyGradeAwarded) == kinds.count(QuarterlyPayComputed) == 4


def test_closing_twice_changes_nothing():
    office = example_office()
    office.close()
    version = office.street.version
    office.street.collect()
    assert office.close(today=dt.date(2027, 1, 1)) is False
    assert office.street.collect() == [] and office.street.version == version


def test_a_quarter_that_has_not_ended_cannot_be_closed():
    office = example_office()
    with pytest.raises(PeriodNotEnded, match="close it from 2026-10-01"):
        office.close(today=dt.date(2026, 9, 30))
    assert office.street.pending == (office.street.pending[0],)  # only the policy


def test_a_quarter_without_a_policy_in_force_cannot_be_closed():
    street = StreetPeriod(STREET)
    with pytest.raises(PolicyMissing):
        street.close_quarter(Q3, AFTER_Q3, {})


def test_policy_versions_follow_each_other_and_never_reach_back_into_a_closed_quarter():
    office = example_office()
    assert office.street.set_policy(standard_policy()) is False  # redelivered
    with pytest.raises(PolicyVersionConflict):
        office.street.set_policy(standard_policy(version=3))
    office.close()
    with pytest.raises(PolicyForClosedPeriod, match="from 2026Q4"):
        office.street.set_policy(standard_policy(version=2))
    later = standard_policy(version=2, effective_from=Quarter(2026, 4), mode="budget_neutral")
    assert office.street.set_policy(later) is True
    assert office.street.policy_for(Q3).version == 1
    assert office.street.policy_for(Quarter(2026, 4)).version == 2


def test_a_redelivered_input_is_not_counted_twice():
    ledger = Ledger.of("w-1", Q3)
    assert ledger.credit_ticket("t1", "closed", "evt-1") is True
    assert ledger.credit_ticket("t1", "closed", "evt-1") is False
    assert ledger.counts().closed == 1 and len(ledger.collect()) == 1


def test_an_unknown_ticket_outcome_is_refused():
    with pytest.raises(InvalidInput, match="use one of"):
        Ledger.of("w-1", Q3).credit_ticket("t1", "lost", "evt-1")


@pytest.mark.parametrize("score", [Decimal("-0.01"), Decimal("100.01"), 99.5, Decimal("NaN")])
def test_a_score_outside_0_to_100_is_refused(score):
    with pytest.raises(InvalidScore):
        Ledger.of("w-1", Q3).record_assessment("a1", "assessor", score)


def test_a_second_score_must_supersede_the_current_one_with_a_reason():
    ledger = Ledger.of("w-1", Q3)
    ledger.record_assessment("a1", "assessor", Decimal(70))
    assert ledger.record_assessment("a1", "assessor", Decimal(70)) is False  # retried command
    with pytest.raises(AssessmentAlreadyRecorded):
        ledger.record_assessment("a2", "assessor", Decimal(75))
    with pytest.raises(AssessmentNotFound):
        ledger.record_assessment("a2", "assessor", Decimal(75), supersedes="a0", reason="typo")
    with pytest.raises(CorrectionNeedsReason):
        ledger.record_assessment("a2", "assessor", Decimal(75), supersedes="a1")
    ledger.record_assessment("a2", "assessor", Decimal(75), supersedes="a1", reason="typo in sheet")
    assert ledger.third_party == 75 and set(ledger.assessments) == {"a1", "a2"}


def test_days_in_post_follow_postings_moves_and_leaving():
    record = WorkerRecord("w-1")
    record.post(STREET, "SZ-01", "A", "standard", dt.date(2026, 7, 15), "e1")
    record.post(STREET, "SZ-02", "B", "junior", dt.date(2026, 8, 1), "e2")  # moved
    record.leave_post(dt.date(2026, 9, 11), "e3")  # last day in post: 10 Sept
    assert record.days_in_post(Q3, STREET) == 17 + 41
    assert record.days_in_post(Q3, "nanyuan") == 0
    assert record.stint_in(Q3, STREET).post_level == "junior"


def test_a_late_input_becomes_a_pay_adjustment_in_the_next_open_quarter():
    office = example_office()
    office.close()
    closed = office.street.figure(Q3, "w-chen").pay
    office.street.collect()
    office.deliver(Msg("ledger:w-chen/2026Q3", "late-score", "assessment", ("w-chen-a1", "assessor-hq", Decimal(100))))
    adjusted = [e for e in office.street.collect() if isinstance(e, PayAdjusted)]
    chen = next(a for a in adjusted if a.worker_id == "w-chen")
    assert chen.period == "2026Q3" and chen.paid_in == "2026Q4" and chen.cause == "late-score"
    assert chen.grade == "good" and chen.amount_fen == chen.pay_fen - closed.pay_fen > 0
    assert office.street.figure(Q3, "w-chen").pay is closed  # the closed figure stands
    assert office.street.figure(Q3, "w-chen").pay_fen == chen.pay_fen
    office.street.collect()
    office.deliver(Msg("ledger:w-chen/2026Q3", "late-score", "assessment", ("w-chen-a1", "assessor-hq", Decimal(100))))
    assert office.street.collect() == []  # redelivered: nothing more


def test_explain_refuses_an_open_quarter():
    with pytest.raises(PeriodNotClosed):
        explain("w-li", "2026Q3", street=example_office().street)


def full_year_office():
    office = Office(standard_policy())
    office.deliver(Msg("record:w-1", "p1", "post", (STREET, "SZ-01", "A", "standard", dt.date(2026, 1, 1))))
    office.deliver(Msg("record:w-2", "p2", "post", (STREET, "SZ-01", "B", "junior", dt.date(2026, 1, 1))))
    for quarter, (s1, s2) in zip(quarters_of(2026), [(95, 91), (92, 55), (96, 91), (94, 91)]):
        for worker, score in (("w-1", s1), ("w-2", s2)):
            office.deliver(Msg(f"ledger:{worker}/{quarter}", f"{worker}-{quarter}", "assessment",
                               (f"{worker}-{quarter}", "assessor", Decimal(score))))
    return office


def test_a_year_closes_only_after_its_four_quarters():
    office = full_year_office()
    for quarter in quarters_of(2026)[:3]:
        office.close(quarter, dt.date(2027, 1, 5))
    with pytest.raises(YearNotReady, match="2026Q4"):
        office.street.close_year(2026, dt.date(2027, 1, 5))
    office.close(Quarter(2026, 4), dt.date(2027, 1, 5))
    with pytest.raises(PeriodNotEnded):
        office.street.close_year(2026, dt.date(2026, 12, 31))


def test_closing_a_year_grades_the_mean_and_caps_a_year_with_a_failed_quarter():
    office = full_year_office()
    for quarter in quarters_of(2026):
        office.close(quarter, dt.date(2027, 1, 5))
    office.street.collect()
    assert office.street.close_year(2026, dt.date(2027, 1, 5)) is True
    events = office.street.collect()
    assert type(events[0]) is YearClosed
    grades = {e.worker_id: e for e in events if isinstance(e, AnnualGradeAwarded)}
    pays = {e.worker_id: e for e in events if isinstance(e, AnnualPayComputed)}
    assert (grades["w-1"].mean, grades["w-1"].grade) == (Decimal("94.25"), "excellent")
    assert (grades["w-2"].mean, grades["w-2"].grade, grades["w-2"].capped) == (Decimal("82.00"), "pass", True)
    # annual part: standard × 40% × 30%, full year in post, × coefficient
    assert pays["w-1"].pay_fen == 8_400_000 * 12 // 100 * 12 // 10
    assert pays["w-2"].pay_fen == 7_200_000 * 12 // 100 * 8 // 10
    assert office.street.close_year(2026, dt.date(2027, 2, 1)) is False
    why = explain("w-2", 2026, street=office.street).text()
    assert "a failed quarter caps the year at pass" in why
    assert "mean = (91.00 + 55.00 + 91.00 + 91.00) ÷ 4 = 82.00" in why


def test_replaying_the_street_stream_reproduces_every_closed_figure():
    office = full_year_office()
    for quarter in quarters_of(2026):
        office.close(quarter, dt.date(2027, 1, 5))
    office.street.close_year(2026, dt.date(2027, 1, 5))
    office.deliver(Msg("ledger:w-2/2026Q2", "fix", "assessment", ("w-2-fix", "assessor", Decimal(61), "w-2-2026Q2", "re-marked")))
    events = office.street.collect()
    assert any(isinstance(e, PayAdjusted) and e.period == "2026" for e in events)
    replayed = StreetPeriod.rehydrate(STREET, events)
    assert replayed.version == office.street.version
    for key, figure in office.street.figures.items():
        again = replayed.figures[key]
        assert (again.pay_fen, again.grade, again.composite) == (figure.pay_fen, figure.grade, figure.composite)
    assert replayed.paid_in == office.street.paid_in
