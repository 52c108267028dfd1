"""docs/performance.md's worked example, built from domain events: the same fen."""
from __future__ import annotations

from decimal import Decimal

from services.performance.domain import explain

from .helpers import EXAMPLE, Q3, budget_neutral_policy, example_office


def figures(office):
    return {w: office.street.figure(Q3, w) for w in EXAMPLE}


def test_the_components_and_composites_match_the_hand_arithmetic():
    office = example_office()
    office.close()
    got = {w: (dict((n, s) for n, s, _ in f.components), f.composite, f.grade, f.coefficient)
           for w, f in figures(office).items()}
    assert office.street.quarters[Q3].workload_median == Decimal(13)
    assert got["w-li"] == ({"third_party": Decimal(92), "closure": Decimal("90.00"), "on_time": Decimal("90.00"),
                            "satisfaction": Decimal("94.74"), "patrol": Decimal("95.65"),
                            "workload": Decimal("100")}, Decimal("93.04"), "excellent", Decimal("1.2"))
    assert got["w-wang"] == ({"third_party": Decimal(85), "closure": Decimal("83.33"), "on_time": Decimal("90.00"),
                              "satisfaction": Decimal("90.00"), "patrol": Decimal("97.83"),
                              "workload": Decimal("76.92")}, Decimal("86.31"), "good", Decimal("1.0"))
    assert got["w-zhang"][1:] == (Decimal("97.50"), "excellent", Decimal("1.2"))
    assert got["w-chen"] == ({"third_party": None, "closure": Decimal("80.00"), "on_time": Decimal("50.00"),
                              "satisfaction": Decimal("75.00"), "patrol": Decimal("81.97"),
                              "workload": Decimal("30.77")}, Decimal("63.55"), "pass", Decimal("0.8"))


def test_standard_mode_pays_the_fen_worked_out_by_hand():
    office = example_office()
    office.close()
    pay = {w: f.pay_fen for w, f in figures(office).items()}
    assert pay == {"w-li": 705_600, "w-wang": 504_000, "w-zhang": 806_400, "w-chen": 311_896}
    assert office.street.quarters[Q3].total_pay_fen == 2_327_896
    assert office.street.figure(Q3, "w-chen").pay.days_in_post == 61


def test_budget_neutral_mode_pays_the_fen_worked_out_by_hand():
    office = example_office(budget_neutral_policy())
    office.close()
    pay = {w: f.pay_fen for w, f in figures(office).items()}
    assert pay == {"w-li": 652_852, "w-wang": 466_323, "w-zhang": 746_116, "w-chen": 288_579}
    closed = office.street.quarters[Q3]
    assert closed.budget_fen == 2_153_870 == closed.total_pay_fen
    extra = {w: f.pay.remainder_fen for w, f in figures(office).items()}
    assert extra == {"w-li": 1, "w-wang": 1, "w-zhang": 0, "w-chen": 0}


def test_the_explanation_shows_inputs_policy_and_arithmetic():
    office = example_office()
    office.close()
    why = explain("w-chen", "2026Q3", street=office.street, ledgers=office.ledgers_of("w-chen"))
    assert why.policy_version == 1 and why.pay_fen == 311_896 and why.grade == "pass"
    dispatched = next(i for i in why.inputs if i.name == "dispatched")
    assert dispatched.count == 5 and dispatched.sources[0] == "w-chen-dispatched-0"
    text = why.text()
    assert "third_party (weight 50): no data — left out" in text
    assert "100 × completed 100 ÷ (completed 100 + missed 22) = 81.97" in text
    assert "composite = (10 × 80.00 + 10 × 50.00 + 10 × 75.00 + 10 × 81.97 + 10 × 30.77) ÷ 50" in text
    assert "pool = standard 8,400,000 fen × 0.0700 × 61 ÷ 92 days = 389,869.5652 fen" in text
    assert "311,896 fen (¥3,118.96)" in text
