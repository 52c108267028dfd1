"""Pure scoring: exact rounding, rescaled weights, grades, pay in both modes."""
from __future__ import annotations

from decimal import Decimal

import pytest

from services.performance.domain.periods import Quarter
from services.performance.domain.policy import default_policy
from services.performance.domain.scoring import (
    Entitlement, QuarterGrade, annual_grade, apportion, composite, median, pay, percent,
    round_points, to_fen,
)

POLICY = default_policy("s", "2026Q1")


@pytest.mark.parametrize("num, den, fen", [
    (Decimal("2.5"), 1, 3), (Decimal("2.4999"), 1, 2), (5, 2, 3), (7, 3, 2), (Decimal("311895.5"), 1, 311896),
    (28_694_400, 92, 311_896),
])
def test_money_is_rounded_half_up_to_the_fen_exactly(num, den, fen):
    assert to_fen(num, den) == fen


def test_points_are_rounded_half_up_to_a_hundredth():
    assert round_points(1, 8) == Decimal("0.13")  # 0.125
    assert round_points(2, 3) == Decimal("0.67")
    assert percent(18, 19) == Decimal("94.74")


def test_a_rate_with_nothing_to_count_is_no_data_and_a_rate_is_capped_at_100():
    assert percent(3, 0) is None
    assert percent(18, 13) == Decimal(100)


def test_the_median_of_an_even_count_is_the_mean_of_the_middle_two():
    assert median([18, 10, 16, 4]) == 13
    assert median([3, 1, 2]) == 2
    assert median([]) == 0


def test_components_without_data_are_left_out_and_the_rest_scaled_up():
    scores = {"third_party": None, "closure": Decimal(80), "on_time": None,
              "satisfaction": Decimal(100), "patrol": None, "workload": None}
    components, score = composite(POLICY, scores)
    assert score == Decimal(90)
    assert [c.effective_weight for c in components if c.score is not None] == [50, 50]


def test_no_data_at_all_gives_no_composite_and_the_lowest_band():
    components, score = composite(POLICY, {})
    assert score is None and POLICY.band_for(score).grade == "fail"


def test_a_failed_quarter_caps_the_year_at_pass():
    q = [QuarterGrade(Quarter(2026, n), Decimal(s), s < 60, 91) for n, s in
         [(1, 99), (2, 99), (3, 99), (4, 55)]]
    mean, band, capped = annual_grade(POLICY, q)
    assert (mean, band.grade, capped) == (Decimal("88.00"), "pass", True)


def test_a_failing_mean_is_not_lifted_by_the_cap():
    q = [QuarterGrade(Quarter(2026, 1), Decimal(50), True, 90)]
    assert annual_grade(POLICY, q)[1].grade == "fail"


def test_largest_remainders_get_the_leftover_fen_ties_by_worker_id():
    assert apportion(100, {"b": 1, "a": 1, "c": 1}) == {"a": (33, 1), "b": (33, 0), "c": (33, 0)}
    assert apportion(10, {"a": 0, "b": 0}) == {"a": (0, 0), "b": (0, 0)}


def test_standard_pay_is_the_pro_rata_pool_times_the_coefficient():
    e = Entitlement("w", 8_400_000, POLICY.quarterly_pool_share, 61, 92, Decimal("0.8"))
    assert e.pool_fen == 389_870
    assert pay("standard", [e])["w"].pay_fen == 311_896


def test_budget_neutral_pay_sums_to_the_budget():
    es = [Entitlement(w, 7_000_001, POLICY.quarterly_pool_share, d, 91, c)
          for w, d, c in [("a", 91, Decimal("1.2")), ("b", 13, Decimal("0.8")), ("c", 90, Decimal(1))]]
    paid = pay("budget_neutral", es)
    budget = paid["a"].budget_fen
    assert budget == to_fen(sum(e.pool_numerator for e in es), 91)
    assert sum(p.pay_fen for p in paid.values()) == budget
