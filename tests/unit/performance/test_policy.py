"""The pay policy is validated data; a bad policy cannot be built."""
from __future__ import annotations

from decimal import Decimal

import pytest

from onegrid.domain import DomainError
from services.performance.domain.errors import (
    BandsOutOfOrder, InvalidPolicy, InvalidShare, PerformanceError, PolicyMissing,
    UnknownPostLevel, WeightsDoNotSumToHundred,
)
from services.performance.domain.periods import Quarter
from services.performance.domain.policy import Band, PayPolicy, Weights, default_policy, policy_in_force


def test_the_default_policy_is_the_issues_policy():
    policy = default_policy("shazhou", "2026Q1")
    assert policy.performance_share == Decimal("0.40")
    assert policy.quarterly_pool_share == Decimal("0.07")
    assert policy.annual_pool_share == Decimal("0.12")
    assert [(b.grade, b.min_score, b.coefficient) for b in policy.bands] == [
        ("excellent", 90, Decimal("1.2")), ("good", 80, 1), ("pass", 60, Decimal("0.8")), ("fail", 0, 0)]
    assert policy.weights.as_dict() == {"third_party": 50, "closure": 10, "on_time": 10,
                                        "satisfaction": 10, "patrol": 10, "workload": 10}


@pytest.mark.parametrize("score, grade", [
    (Decimal("100"), "excellent"), (Decimal("90.00"), "excellent"), (Decimal("89.99"), "good"),
    (Decimal("80"), "good"), (Decimal("79.99"), "pass"), (Decimal("60"), "pass"),
    (Decimal("59.99"), "fail"), (Decimal("0"), "fail"), (None, "fail"),
])
def test_a_score_falls_in_the_band_whose_threshold_it_reaches(score, grade):
    assert default_policy("s", "2026Q1").band_for(score).grade == grade


def test_weights_that_do_not_sum_to_100_are_refused_with_each_weight_named():
    with pytest.raises(WeightsDoNotSumToHundred, match="sum to 110.*third_party=60"):
        Weights(third_party=60)


def test_performance_errors_are_domain_errors_with_codes():
    with pytest.raises(PerformanceError) as caught:
        Weights(workload=0)
    assert isinstance(caught.value, DomainError)
    assert caught.value.to_dict()["error"] == "weights_do_not_sum_to_100"


@pytest.mark.parametrize("bands", [
    (Band("good", 80, 1), Band("excellent", 90, Decimal("1.2")), Band("fail", 0, 0)),
    (Band("excellent", 90, Decimal("0.5")), Band("good", 80, 1), Band("fail", 0, 0)),
    (Band("excellent", 90, 1), Band("good", 90, 1), Band("fail", 0, 0)),
    (Band("excellent", 90, 1), Band("good", 80, 1)),
    (),
])
def test_bands_must_fall_from_best_to_worst_and_start_at_zero(bands):
    with pytest.raises(BandsOutOfOrder):
        default_policy("s", "2026Q1", bands=bands)


@pytest.mark.parametrize("changes, error", [
    ({"quarterly_share": Decimal("0.6")}, InvalidShare),
    ({"performance_share": Decimal("1.5")}, InvalidShare),
    ({"performance_share": 0.4}, InvalidPolicy),
    ({"pay_standards": {"standard": 1.5}}, InvalidPolicy),
    ({"pay_standards": {}}, InvalidPolicy),
    ({"annual_cap_on_fail": "bronze"}, BandsOutOfOrder),
    ({"version": 0}, InvalidPolicy),
])
def test_a_bad_policy_is_refused(changes, error):
    with pytest.raises(error):
        default_policy("s", "2026Q1", **changes)


def test_an_unknown_post_level_names_the_known_ones():
    with pytest.raises(UnknownPostLevel, match="junior, senior, standard"):
        default_policy("s", "2026Q1").standard_for("chief")


def test_the_newest_version_in_force_governs_a_quarter():
    v1 = default_policy("s", "2026Q1", version=1)
    v2 = default_policy("s", "2026Q3", version=2, mode="budget_neutral")
    assert policy_in_force([v1, v2], Quarter(2026, 2)) is v1
    assert policy_in_force([v1, v2], Quarter(2026, 3)) is v2
    with pytest.raises(PolicyMissing):
        policy_in_force([v1, v2], Quarter(2025, 4))


def test_a_policy_is_immutable_and_comparable():
    assert default_policy("s", "2026Q1") == PayPolicy("s", 1, Quarter(2026, 1))
    with pytest.raises(Exception):
        default_policy("s", "2026Q1").mode = "standard"
